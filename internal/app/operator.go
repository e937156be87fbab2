package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/filedrop/filedrop/internal/catalog"
	"github.com/filedrop/filedrop/internal/operator"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/storage/ledger"
	"github.com/filedrop/filedrop/internal/stripeapi"
	"github.com/filedrop/filedrop/internal/stripeapi/demostripe"
)

// This file is what the operator's commands work with: the operator's
// work (internal/operator) and the catalog (internal/catalog) built on the
// pipeline's adapters.

// Queue is a queue as the operator's work uses it: to queue a message, to
// show its messages, and to move them.
type Queue interface {
	operator.Sender
	operator.Peeker
	operator.Receiver
	operator.TextSender
}

// Queue returns the queue called name.
func (p *Pipeline) Queue(name string) Queue { return p.queues.Queue(name) }

// OrdersQueue names the ProcessOrder queue.
func (p *Pipeline) OrdersQueue() string { return p.orders.Name }

// MailsQueue names the SendLink queue.
func (p *Pipeline) MailsQueue() string { return p.mails.Name }

// Carries is the message the named function's queue carries, the one its
// stage decodes: the operator's poison commands decode with it.
func Carries(function string) operator.Carries {
	switch function {
	case fnProcessOrder:
		return operator.ProcessJobs
	case fnSendLink:
		return operator.MailJobs
	case fnDeliveryReport:
		return operator.DeliveryReports
	case fnOrderEvents:
		return operator.OrderEvents
	}
	return 0
}

// Find returns the session's record, or an *operator.NotFoundError.
func (p *Pipeline) Find(ctx context.Context, sessionID string) (order.Order, error) {
	return operator.Find(ctx, p.ledger, sessionID)
}

// MaxList bounds the orders one ListOrders returns.
const MaxList = ledger.MaxList

// ListOrders returns the ledger's records that f selects, at most MaxList.
func (p *Pipeline) ListOrders(ctx context.Context, f order.Filter) ([]order.Order, error) {
	return p.ledger.List(ctx, f)
}

// Resender sends orders' mails again.
func (p *Pipeline) Resender() (*operator.Resender, error) {
	return operator.NewResender(operator.ResenderDeps{Records: p.records(), Mails: p.mails, Orders: p.orders})
}

// Access changes orders' access (revoke, grant) within DOWNLOAD_WINDOW.
func (p *Pipeline) Access() *operator.Access {
	return operator.NewAccess(p.records(), p.cfg.Download.Window, time.Now)
}

// Reconciler is the judge of lost sessions that handler reconcile and the
// Reconcile function share.
func (p *Pipeline) Reconciler() (*operator.Reconciler, error) {
	return operator.NewReconciler(operator.ReconcilerDeps{Stripe: newStripe(p.cfg.Stripe, p.log), Records: p.ledger, Orders: p.orders,
		Livemode: p.cfg.Stripe.Livemode})
}

// Catalog is the seller's catalog: the Stripe account and the originals
// container, the only adapters it uses.
func (p *Pipeline) Catalog() *catalog.Syncer {
	return catalog.New(newStripe(p.cfg.Stripe, p.log), p.originals)
}

// UploadOriginals uploads each of the regular files names of dir that the
// originals container lacks, calling uploaded after each, and returns how
// many it uploaded.
func (p *Pipeline) UploadOriginals(ctx context.Context, dir string, names []string, uploaded func(name string, size int)) (int, error) {
	n := 0
	for _, name := range names {
		exists, err := p.originals.Exists(ctx, name)
		if err != nil {
			return n, fmt.Errorf("upload %s: %w", name, err)
		}
		if exists {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return n, err
		}
		if err := p.originals.Upload(ctx, name, data); err != nil {
			return n, fmt.Errorf("upload %s: %w", name, err)
		}
		n++
		uploaded(name, len(data))
	}
	return n, nil
}

// OriginalsContainer names the originals container.
func (p *Pipeline) OriginalsContainer() string { return p.originals.Container() }

// SignedEvent returns a Checkout event for sessionID as Stripe sends it,
// and its Stripe-Signature signed with secret at t: what simulate sends.
func SignedEvent(eventID, eventType, sessionID string, livemode bool, secret string, t time.Time) (body []byte, header string, err error) {
	return stripeapi.SimulatedEvent(eventID, eventType, sessionID, livemode, secret, t)
}

// SignedPaymentEvent is SignedEvent for a refund or dispute event of
// objectID, a charge or dispute of paymentIntent.
func SignedPaymentEvent(eventID, eventType, objectID, paymentIntent string, livemode bool, secret string, t time.Time) (body []byte, header string, err error) {
	return stripeapi.SimulatedPaymentEvent(eventID, eventType, objectID, paymentIntent, livemode, secret, t)
}

// DemoDisputeStatuses are the statuses the demo Stripe sets a dispute to:
// Stripe's.
func DemoDisputeStatuses() []string { return slices.Clone(demostripe.Statuses) }
