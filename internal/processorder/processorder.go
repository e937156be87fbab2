// Package processorder is the ProcessOrder stage: from a paid Checkout
// Session to a mail message with time-limited download links.
//
// Input: an order.ProcessJob from the process-order queue (queued by the
// webhook, by reconcile or by an operator). The session is always re-fetched
// from Stripe with its line items; nothing is taken from the event.
//
// Output: at most one order.MailJob on the send-link queue per handled
// message, carrying everything SendLink needs (customer, locale, and per
// purchased product a title, file name, read-only link and expiry), and the
// order's record in the ledger: links_ready, awaiting_payment,
// payment_failed or needs_attention.
//
// Retried: Stripe and storage faults that pass by themselves (network
// errors, 5xx: order.Transient) are recorded and re-scheduled with the
// route's back-off until the retry budget is spent; failures nobody
// classified are returned retryable, so the host redelivers the message;
// throttling (429, busy storage, or another invocation holding the order's
// lease) is returned as order.Throttled, so the host glue re-schedules the
// message without spending an attempt. A refused STRIPE_API_KEY
// (order.Misconfigured) holds the order: it is re-scheduled with a growing
// delay, also without spending an attempt, until the key is fixed.
// Permanent failures (a missing session, a mode mismatch, no customer email,
// a missing or invalid original) are recorded as needs_attention with a
// reason an operator can act on, and acknowledged.
//
// Refunds and disputes (charge.refunded, charge.dispute.*) are applied to
// the order found through their payment intent; see payment.go. Applying
// Stripe's current state of the charge or dispute again is harmless.
//
// Redelivery is harmless: the ledger record, claimed with a conditional
// write and a short lease, acknowledges a message for an order whose links
// are already queued, whose payment failed or that awaits payment (reconcile
// and operators may re-queue the links of an order whose mail is not sent). If the
// process dies between queueing the mail and recording it, the redelivery
// mints links again and queues the same generation again; SendLink derives
// the mail's idempotency key from the session, kind and generation, so the
// customer still gets one mail.
package processorder

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/storage"
	"github.com/filedrop/filedrop/internal/storage/blobstore"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// Timeout bounds one Handle; the budget's Step may bound it shorter.
const Timeout = 60 * time.Second

// RetryHeadroom is the room a mail message leaves in its queue message for
// the retry record (delivery.Retry, about 130 bytes with a message id as its
// owner) that the route adds when SendLink fails transiently or is held: a
// mail that fits when queued must still fit when re-scheduled. 512 bytes
// leave room for longer ids and fields to come.
const RetryHeadroom = 512

// MaxMailBytes is the largest mail message the stage queues: one queue
// message (storage.MaxMessageBytes) less RetryHeadroom.
const MaxMailBytes = storage.MaxMessageBytes - RetryHeadroom

// Sessions fetches a Checkout Session with its line items
// (stripeapi.Client).
type Sessions interface {
	Session(ctx context.Context, id string) (stripeapi.Session, error)
}

// Originals checks the purchased files and signs download links to them
// (blobstore.Originals).
type Originals interface {
	Stat(ctx context.Context, blobName string) (size int64, exists bool, err error)
	Link(ctx context.Context, blobName, fileName string) (blobstore.Link, error)
	Container() string
}

// MailQueue is the send-link queue (storage.Queue).
type MailQueue interface {
	Send(ctx context.Context, data []byte, delay time.Duration) error
}

var (
	_ Sessions  = (*stripeapi.Client)(nil)
	_ Originals = (*blobstore.Originals)(nil)
	_ MailQueue = (*storage.Queue)(nil)
)

// Deps are what the stage uses. Sessions, Originals, Mail, Records, a
// valid Budget and Log are required; the others have the zero value's
// behaviour their comments give.
type Deps struct {
	Sessions  Sessions
	Originals Originals
	// Mail is the send-link queue.
	Mail    MailQueue
	Records order.Records
	// Payments reads what refund and dispute messages name; nil: such a
	// message is a permanent failure.
	Payments Payments
	// Livemode is the Stripe key's mode: sessions of the other mode are
	// never fulfilled.
	Livemode bool
	// Budget is the invocation's (see delivery.Budget.Validate): a claim
	// holds the order for Budget.Lease and one Handle works for at most
	// Budget.Step (and Timeout).
	Budget delivery.Budget
	// OrderPage, when set, gives the order page's link for a session: the
	// download mail links there instead of to each file, its items carry
	// no link of their own, and the page mints one per click. Nil: a link
	// per file.
	OrderPage func(sessionID string) string
	// Now is the stage's clock; nil: time.Now.
	Now func() time.Time
	// Log is used for a delivery without a logger of its own.
	Log *slog.Logger
}

// Stage is the ProcessOrder stage.
type Stage struct {
	sessions  Sessions
	originals Originals
	mail      MailQueue
	records   order.Records
	payments  Payments
	livemode  bool
	budget    delivery.Budget
	orderPage func(sessionID string) string
	now       func() time.Time
	log       *slog.Logger
}

// New returns the stage, or an error naming the first thing d lacks.
func New(d Deps) (*Stage, error) {
	switch {
	case d.Sessions == nil:
		return nil, errors.New("processorder: no Sessions")
	case d.Originals == nil:
		return nil, errors.New("processorder: no Originals")
	case d.Mail == nil:
		return nil, errors.New("processorder: no Mail")
	case d.Records == nil:
		return nil, errors.New("processorder: no Records")
	case d.Log == nil:
		return nil, errors.New("processorder: no Log")
	}
	if err := d.Budget.Validate(0); err != nil {
		return nil, fmt.Errorf("processorder: %w", err)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Stage{sessions: d.Sessions, originals: d.Originals, mail: d.Mail, records: d.Records, payments: d.Payments,
		livemode: d.Livemode, budget: d.Budget, orderPage: d.OrderPage, now: d.Now, log: d.Log}, nil
}

// Handle processes one order message, delivered as d; see the package
// documentation.
func (s *Stage) Handle(ctx context.Context, d delivery.Attempt, msg order.ProcessJob) error {
	if err := msg.Validate(); err != nil {
		return order.Permanentf("invalid order message: %w", err)
	}
	if order.AboutPayment(msg.EventType) {
		return s.payment(ctx, cmp.Or(d.Log, s.log).With("event_id", msg.EventID, "event_type", msg.EventType), msg)
	}
	log := cmp.Or(d.Log, s.log).With("event_id", msg.EventID, "session_id", msg.SessionID)
	owner := d.Owner()
	if owner == "" {
		owner = "processorder-" + uuid.NewString()
	}
	ctx, cancel := context.WithTimeout(ctx, min(Timeout, s.budget.Step))
	defer cancel()

	rec, skip, err := s.claim(ctx, msg, owner)
	if err != nil {
		return fmt.Errorf("order %s: %w", msg.SessionID, err)
	}
	if skip != "" {
		log.Info("acknowledged without work", "reason", skip, "state", string(rec.State()))
		return nil
	}
	if err := s.work(ctx, log, msg, rec, owner); err != nil {
		return s.fail(ctx, log, d, msg, rec, owner, err)
	}
	return nil
}

// claim records the event and takes the order's lease, or tells why the
// message needs no work.
func (s *Stage) claim(ctx context.Context, msg order.ProcessJob, owner string) (rec order.Order, skip string, err error) {
	now := s.now()
	rec, err = order.Mutate(ctx, s.records, msg.SessionID, now, func(o *order.Order) error {
		seen := slices.Contains(o.EventIDs, msg.EventID)
		o.SeeEvent(msg.EventID)
		if o.ETag == "" {
			o.Livemode = msg.Livemode // until the session's own is recorded
		}
		if skip = skipReason(o, msg); skip != "" {
			if seen {
				return order.ErrUnchanged // a plain redelivery: nothing to record
			}
			return nil
		}
		if err := o.Claim(owner, now, s.budget.Lease, order.MaxBusyWait); err != nil {
			return err
		}
		o.Receive()
		return nil
	})
	return rec, skip, err
}

// skipReason says why msg needs no work on the order o, or "".
func skipReason(o *order.Order, msg order.ProcessJob) string {
	switch o.State() {
	case order.StateLinksReady:
		// Reconcile and operators get the same generation queued again: its
		// mail message may have been lost to a poison queue. SendLink sends a
		// generation once, so a mail still on its way is not doubled.
		if !msg.NewLinks && !repair(msg) {
			return "duplicate: the download links are already queued"
		}
	case order.StateMailSent:
		if !msg.NewLinks {
			return "duplicate: the download mail was sent"
		}
		if msg.EventID != "" && msg.EventID == o.MailEventID && o.SentGeneration() >= o.MailGeneration() {
			return "duplicate: the new links this message asked for were sent"
		}
	case order.StatePaymentFailed:
		return "the payment failed and the customer is told"
	case order.StateNeedsAttention:
		// An order that only outlasted its retry budget needs nobody: the
		// redrive of its poisoned message (or any other) works on it, with
		// the fresh budget the redrive gives.
		if !repair(msg) && !o.BudgetSpent {
			return "the order needs attention; an operator repairs it and runs reconcile or resend"
		}
	case order.StateAwaitingPayment:
		if msg.EventType == order.EventCompleted {
			return "the payment is still pending; async_payment_succeeded will fulfil the order"
		}
	}
	return ""
}

// repair reports whether msg comes from reconcile or an operator, who may
// re-run steps that a webhook's redelivery must not.
func repair(msg order.ProcessJob) bool {
	return msg.Trigger == order.TriggerReconcile || msg.Trigger == order.TriggerOperator
}

// work fetches the session and acts on its payment status.
func (s *Stage) work(ctx context.Context, log *slog.Logger, msg order.ProcessJob, rec order.Order, owner string) error {
	sess, err := s.sessions.Session(ctx, msg.SessionID)
	if err != nil {
		return err
	}
	if sess.Livemode != s.livemode {
		return order.Permanentf("session %s is a %s-mode session but STRIPE_API_KEY is a %s-mode key: an order is never fulfilled across modes",
			sess.ID, order.Mode(sess.Livemode), order.Mode(s.livemode))
	}
	switch sess.PaymentStatus {
	case stripeapi.PaymentPaid, stripeapi.PaymentNotRequired:
		return s.fulfil(ctx, log, msg, rec, sess, owner)
	case stripeapi.PaymentUnpaid:
		if msg.EventType == order.EventAsyncPaymentFailed {
			return s.paymentFailed(ctx, log, msg, rec, sess, owner)
		}
		return s.awaitPayment(ctx, log, msg, rec, sess, owner)
	}
	return order.Permanentf("session %s has payment_status %q, which this version does not know", sess.ID, sess.PaymentStatus)
}

// fail records cause on rec, the order as claimed (a transient cause with
// d's retry plan), and returns the error
// the route acts on. It logs that a permanent failure was recorded only when
// it wrote the record: the route's line for the returned error cannot know.
func (s *Stage) fail(ctx context.Context, log *slog.Logger, d delivery.Attempt, msg order.ProcessJob, rec order.Order, owner string, cause error) error {
	recorded, err := order.RecordFailure(ctx, s.records, rec, d.Retrying(), owner, cause, s.now(), nil)
	if c := order.Classify(cause); recorded && (c == order.ClassPermanent || c == order.ClassTransient && d.Retry.Exhausted) {
		log.Info("failure recorded; the order needs attention", "state", string(order.StateNeedsAttention))
	}
	return fmt.Errorf("order %s: %w", msg.SessionID, err)
}

// release drops the lease if owner still holds it.
func release(o *order.Order, owner string) {
	if o.LeaseOwner == owner {
		o.Release()
	}
}

// encodeMail validates and marshals a mail message that must fit one queue
// message.
func encodeMail(m order.MailJob) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, order.Permanentf("mail message: %w", err)
	}
	data, err := json.Marshal(m)
	if err != nil {
		return nil, order.Permanentf("encode mail message: %w", err)
	}
	if len(data) > MaxMailBytes {
		return nil, order.Permanentf("the mail for %d files is %d bytes, over the %d bytes one queue message holds with its retry record: the cart is too big for one mail",
			len(m.Items), len(data), MaxMailBytes)
	}
	return data, nil
}
