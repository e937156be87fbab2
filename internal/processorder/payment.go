package processorder

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// Payments reads from Stripe what a refund or dispute event names, and the
// Checkout Session of a payment intent (stripeapi.Client).
type Payments interface {
	Charge(ctx context.Context, id string) (stripeapi.Charge, error)
	Dispute(ctx context.Context, id string) (stripeapi.Dispute, error)
	SessionOfPayment(ctx context.Context, paymentIntent string) (string, error)
}

var _ Payments = (*stripeapi.Client)(nil)

// payment applies a refund or dispute to the order paid by the message's
// payment intent. The charge or dispute is re-fetched (the event body is not
// trusted, and a redelivered or late event then applies Stripe's current
// state, never a stale one), and the order is found through the Checkout
// Session Stripe lists for the payment intent. A payment intent without a
// session is not an order of this shop: acknowledged and logged.
//
// The rules are the domain's (order.Order.ApplyRefund, ApplyDispute): each
// event changes only its own hold, and is applied at most once per order
// (its id is recorded); what an operator's grant acknowledged closes
// nothing again. The record is changed with one conditional write, not
// under the lease: closing access must not wait for a fulfilment in
// progress, and that fulfilment's own conditional write re-reads the
// record and keeps the hold. A hold for an order the ledger does not know
// yet (the refund overtook its Checkout event) creates the record, so that
// the fulfilment that follows mints no links and mails nothing (fulfil); a
// partial refund or a closed dispute of an unknown order is only logged.
func (s *Stage) payment(ctx context.Context, log *slog.Logger, msg order.ProcessJob) error {
	if s.payments == nil {
		return order.Permanentf("this ProcessOrder reads no charges or disputes (Deps.Payments is nil): %s is not handled", msg.EventType)
	}
	ctx, cancel := context.WithTimeout(ctx, min(Timeout, s.budget.Step))
	defer cancel()
	pi, apply, what, err := s.paymentChange(ctx, msg)
	if err != nil {
		return err
	}
	log = log.With("payment_intent", pi)
	sessionID := msg.SessionID
	if sessionID == "" {
		if sessionID, err = s.payments.SessionOfPayment(ctx, pi); err != nil {
			return fmt.Errorf("find the session of %s: %w", pi, err)
		}
	}
	if sessionID == "" {
		log.Info("acknowledged: no Checkout Session has this payment intent, so it is no order of this shop", "change", what)
		return nil
	}
	log = log.With("session_id", sessionID)
	unknown, seen, now := false, false, s.now()
	rec, err := order.Mutate(ctx, s.records, sessionID, now, func(o *order.Order) error {
		unknown = o.ETag == ""
		if o.PaymentIntent == "" {
			o.PaymentIntent = pi
		}
		applied, err := apply(o, msg.EventID, now)
		if err != nil {
			return err
		}
		seen = !applied
		switch {
		case seen:
			return order.ErrUnchanged // this event was applied before
		case unknown && !o.Revoked():
			return order.ErrUnchanged // nothing to keep for an order not fulfilled yet
		case unknown:
			o.Livemode = msg.Livemode
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("order %s: record %s: %w", sessionID, what, err)
	}
	switch {
	case seen:
		log.Info("acknowledged: this event was applied to the order before", "change", what)
	case unknown && rec.ETag == "":
		log.Info("acknowledged: the ledger has no order for this session", "change", what)
	case unknown:
		log.Warn("access closed before the order was fulfilled: the ledger had no order yet; its fulfilment will mail nothing",
			"change", what, "holds", order.DescribeHolds(rec.AccessHolds()))
	default:
		log.Info("payment change recorded", "change", what, "holds", order.DescribeHolds(rec.AccessHolds()),
			"refunded", rec.RefundedAmount)
	}
	return nil
}

// paymentChange re-fetches the message's charge or dispute and returns its
// payment intent, the change to apply to the order for an event (see
// order.Order.ApplyRefund) and a word for it.
func (s *Stage) paymentChange(ctx context.Context, msg order.ProcessJob) (pi string, apply func(o *order.Order, event string, now time.Time) (bool, error), what string, err error) {
	var livemode bool
	switch msg.EventType {
	case order.EventChargeRefunded:
		ch, err := s.payments.Charge(ctx, msg.ObjectID)
		if err != nil {
			return "", nil, "", err
		}
		pi, livemode = ch.PaymentIntent, ch.Livemode
		what = fmt.Sprintf("refund of %d of %d", ch.AmountRefunded, ch.Amount)
		amount, refunded := ch.Amount, ch.AmountRefunded
		if ch.Refunded {
			refunded = max(refunded, amount)
		}
		apply = func(o *order.Order, event string, now time.Time) (bool, error) {
			return o.ApplyRefund(event, ch.ID, refunded, amount, now)
		}
	default: // a dispute event; Validate lets no other type through
		dp, err := s.payments.Dispute(ctx, msg.ObjectID)
		if err != nil {
			return "", nil, "", err
		}
		pi, livemode, what = dp.PaymentIntent, dp.Livemode, "dispute "+dp.ID+" "+dp.Status
		d := order.Dispute{ID: dp.ID, Status: dp.Status}
		apply = func(o *order.Order, event string, now time.Time) (bool, error) {
			return o.ApplyDispute(event, d, now), nil
		}
	}
	switch {
	case livemode != s.livemode:
		return "", nil, "", order.Permanentf("%s is a %s-mode object but STRIPE_API_KEY is a %s-mode key", msg.ObjectID, order.Mode(livemode), order.Mode(s.livemode))
	case pi == "":
		return "", nil, "", order.Permanentf("%s has no payment intent in Stripe", msg.ObjectID)
	case pi != msg.PaymentIntent:
		return "", nil, "", order.Permanentf("%s belongs to payment intent %s in Stripe, not to %s as the event said", msg.ObjectID, pi, msg.PaymentIntent)
	}
	return pi, apply, what, nil
}
