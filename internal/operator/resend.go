package operator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/filedrop/filedrop/internal/order"
)

// MinLinkLife is how long the links of a resent mail must still work: a
// mail whose links die within the hour is no help to the customer.
const MinLinkLife = time.Hour

// ErrNoMail stops a resend of an order without a mail to resend.
var ErrNoMail = errors.New("no mail to resend")

// ErrAccessClosed stops a resend of an order whose access a hold closes
// (a refund, a dispute, an operator): its mail would send the customer to a
// page that says access has ended. grant reopens it; force sends anyway.
var ErrAccessClosed = errors.New("access to the order is closed")

// Resender sends an order's mail again.
type Resender struct {
	records order.Records
	mails   Sender
	orders  Sender
	now     func() time.Time
}

// ResenderDeps are what a Resender uses; all but Now are required.
type ResenderDeps struct {
	// Records is the ledger, where resent mails are recorded.
	Records order.Records
	// Mails is SendLink's queue, where a resent mail goes.
	Mails Sender
	// Orders is ProcessOrder's queue, where an order goes for fresh links.
	Orders Sender
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// NewResender returns a Resender, or an error naming the first thing d
// lacks.
func NewResender(d ResenderDeps) (*Resender, error) {
	switch {
	case d.Records == nil:
		return nil, errors.New("resender: no Records")
	case d.Mails == nil:
		return nil, errors.New("resender: no Mails")
	case d.Orders == nil:
		return nil, errors.New("resender: no Orders")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Resender{records: d.Records, mails: d.Mails, orders: d.Orders, now: d.Now}, nil
}

// Mail records a new generation of rec's last mail, then queues it for
// SendLink, and returns it. Its key differs from every earlier generation's,
// so SendLink sends it once; an earlier generation still queued is
// superseded. Nothing is recorded when the mail cannot be resent: none was
// queued, it does not decode, its links expire within MinLinkLife, or a
// hold closes the order's access (ErrAccessClosed) and force is false.
func (r *Resender) Mail(ctx context.Context, rec order.Order, force bool) (order.MailJob, error) {
	return r.MailTo(ctx, rec, force, "")
}

// MailTo is Mail to the address to in place of the one the last mail went
// to ("": the same), for a customer whose address bounced or was mistyped:
// the resent mail, and so the order's last mail, names it, SendLink sends
// to it and the order's list of mails records it. The caller validates it.
func (r *Resender) MailTo(ctx context.Context, rec order.Order, force bool, to string) (order.MailJob, error) {
	now := r.now()
	var data []byte
	var msg order.MailJob
	_, err := order.MutateFrom(ctx, r.records, rec, now, func(o *order.Order) error {
		m, err := resendable(*o, now)
		if err != nil {
			return err
		}
		if err := refuseClosed(*o, force, "resend"); err != nil {
			return err
		}
		m.Generation = o.NextGeneration()
		if to != "" {
			m.Customer.Email = to
		}
		if data, err = json.Marshal(m); err != nil {
			return err
		}
		msg = m
		o.Resend(m, data)
		return nil
	})
	if err != nil {
		return order.MailJob{}, err
	}
	if err := r.mails.Send(ctx, data, 0); err != nil {
		return order.MailJob{}, fmt.Errorf("the ledger records mail generation %d of %s but queueing it failed (run resend again): %w",
			msg.Generation, rec.SessionID, err)
	}
	return msg, nil
}

// refuseClosed refuses what (a command, for the message) on an order whose
// access a hold closes, unless force.
func refuseClosed(o order.Order, force bool, what string) error {
	if !o.Revoked() || force {
		return nil
	}
	return fmt.Errorf("order %s: %w by %s: its mail would send the customer to a page that says access has ended; "+
		"handler grant %s reopens it first, or %s --force sends it anyway", o.SessionID, ErrAccessClosed,
		order.DescribeHolds(o.AccessHolds()), o.SessionID, what)
}

// resendable returns the order's last queued mail, or why it cannot be sent
// again.
func resendable(o order.Order, now time.Time) (order.MailJob, error) {
	if o.ETag == "" {
		return order.MailJob{}, fmt.Errorf("order %s: %w", o.SessionID, order.ErrNotFound)
	}
	if len(o.Mail) == 0 {
		return order.MailJob{}, fmt.Errorf("order %s (%s) has %w: none was ever queued; resend --new-links has ProcessOrder try again",
			o.SessionID, o.State(), ErrNoMail)
	}
	m, err := order.DecodeMailJob(o.Mail)
	if err != nil {
		return m, fmt.Errorf("order %s: the last mail does not decode (resend --new-links makes a new one): %w", o.SessionID, err)
	}
	for _, it := range m.Items {
		if m.OrderURL != "" {
			break // the mail links to the order page, which mints a link per click
		}
		if it.ExpiresAt.Before(now.Add(MinLinkLife)) {
			return m, fmt.Errorf("order %s: the link to %s expires %s: use resend --new-links to mint fresh links",
				o.SessionID, it.FileName, stamp(it.ExpiresAt))
		}
	}
	return m, nil
}

// NewLinks queues rec for ProcessOrder, which mints fresh links, records
// them in the ledger and mails them as a new generation, and returns the
// message queued. An order whose payment failed or is pending has no links
// to mint; one whose access a hold closes gets none (ErrAccessClosed)
// unless force, which ProcessOrder then honours too (ProcessJob.Force).
func (r *Resender) NewLinks(ctx context.Context, rec order.Order, force bool) (order.ProcessJob, error) {
	switch rec.State() {
	case order.StatePaymentFailed:
		return order.ProcessJob{}, fmt.Errorf("order %s: the payment failed, so there are no links to mint; resend without --new-links sends the notice again", rec.SessionID)
	case order.StateAwaitingPayment:
		return order.ProcessJob{}, fmt.Errorf("order %s awaits its payment; once Stripe shows it paid, handler reconcile queues it", rec.SessionID)
	}
	if err := refuseClosed(rec, force, "resend --new-links"); err != nil {
		return order.ProcessJob{}, err
	}
	msg := order.ProcessJob{Version: order.ProcessJobVersion, EventID: "evt_resend_" + randomID(), EventType: order.EventCompleted,
		SessionID: rec.SessionID, Livemode: rec.Livemode, Created: r.now().Unix(), Trigger: order.TriggerOperator, NewLinks: true,
		Force: force && rec.Revoked()}
	if err := sendOrder(ctx, r.orders, msg); err != nil {
		return order.ProcessJob{}, err
	}
	return msg, nil
}
