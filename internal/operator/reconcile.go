package operator

import (
	"context"
	"errors"
	"time"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// SessionLister lists the Checkout Sessions created since a time, newest
// first (stripeapi.Client).
type SessionLister interface {
	ListSessions(ctx context.Context, since time.Time, fn func(stripeapi.ListedSession) error) error
}

// Reader reads the record of a session (ledger.Ledger).
type Reader interface {
	Get(ctx context.Context, sessionID string) (order.Order, error)
}

// Summary is what a reconcile run found and did.
type Summary struct {
	Since  time.Time
	DryRun bool
	Seen   int
	// Fulfilled counts the sessions whose order is fulfilled (see
	// order.Order.Fulfilled).
	Fulfilled int
	// Queued counts the sessions queued for ProcessOrder (in a dry run: the
	// ones that would be); QueuedSessions are their ids, never nil.
	Queued         int
	QueuedSessions []string
	// Skipped counts the sessions left alone, by reason; never nil.
	Skipped map[string]int
}

// Reconciler queues for ProcessOrder the paid Checkout Sessions that the
// ledger does not show fulfilled: the safety net for webhooks that never
// arrived.
type Reconciler struct {
	stripe   SessionLister
	records  Reader
	orders   Sender
	livemode bool
	now      func() time.Time
}

// ReconcilerDeps are what a Reconciler uses; Stripe, Records and Orders
// are required.
type ReconcilerDeps struct {
	// Stripe lists the sessions.
	Stripe SessionLister
	// Records is the ledger, where each session is looked up.
	Records Reader
	// Orders is ProcessOrder's queue, where the sessions to fulfil go.
	Orders Sender
	// Livemode is the Stripe key's mode: sessions of the other mode are
	// skipped.
	Livemode bool
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// NewReconciler returns a Reconciler, or an error naming the first thing
// d lacks.
func NewReconciler(d ReconcilerDeps) (*Reconciler, error) {
	switch {
	case d.Stripe == nil:
		return nil, errors.New("reconciler: no Stripe")
	case d.Records == nil:
		return nil, errors.New("reconciler: no Records")
	case d.Orders == nil:
		return nil, errors.New("reconciler: no Orders")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Reconciler{stripe: d.Stripe, records: d.Records, orders: d.Orders, livemode: d.Livemode, now: d.Now}, nil
}

// Reconcile judges every session created since since against its ledger
// record and, unless dryRun, queues the ones to fulfil. It calls step, when
// not nil, after each session with the summary so far. On an error it
// returns the summary so far with it: what was queued stays queued.
// ProcessOrder fulfils an order once however often it is queued, so a run
// may be repeated at any time.
func (r *Reconciler) Reconcile(ctx context.Context, since time.Time, dryRun bool, step func(Summary)) (Summary, error) {
	return r.reconcile(ctx, since, dryRun, 0, step)
}

// Patient is Reconcile as the scheduled Reconcile function runs it: it
// also leaves alone what the pipeline is still working on, so that it
// queues only what would otherwise never move. A session created within
// grace may still get its webhook; an order changed within grace, or
// waiting for its retry, its hold, its throttling or a lease, is on its
// way; an order that needs attention waits for a person. Everything else
// not fulfilled is queued, as Reconcile does. A session whose record
// cannot be read (storage is busy) is skipped rather than stopping the
// run: the next run looks at it again.
func (r *Reconciler) Patient(ctx context.Context, since time.Time, grace time.Duration) (Summary, error) {
	return r.reconcile(ctx, since, false, max(grace, time.Nanosecond), nil)
}

// reconcile is Reconcile, patient when grace > 0.
func (r *Reconciler) reconcile(ctx context.Context, since time.Time, dryRun bool, grace time.Duration, step func(Summary)) (Summary, error) {
	sum := Summary{Since: since, DryRun: dryRun, QueuedSessions: []string{}, Skipped: map[string]int{}}
	now := r.now()
	err := r.stripe.ListSessions(ctx, since, func(s stripeapi.ListedSession) error {
		sum.Seen++
		if step != nil {
			defer func() { step(sum) }()
		}
		rec, err := r.records.Get(ctx, s.ID) // not found: the zero Order
		switch {
		case err != nil && !errors.Is(err, order.ErrNotFound) && grace > 0:
			// A scheduled run goes on: the next one looks at it again.
			sum.Skipped["ledger unreadable: tried again next run"]++
			return nil
		case err != nil && !errors.Is(err, order.ErrNotFound):
			return err
		}
		v := judge(s, rec, r.livemode)
		if grace > 0 && !v.fulfilled && v.skip == "" {
			v.skip = busy(s, rec, now, grace)
		}
		switch {
		case v.fulfilled:
			sum.Fulfilled++
		case v.skip != "":
			sum.Skipped[v.skip]++
		default:
			if !dryRun {
				if err := sendOrder(ctx, r.orders, r.message(s, v.eventType)); err != nil {
					return err
				}
			}
			sum.Queued++
			sum.QueuedSessions = append(sum.QueuedSessions, s.ID)
		}
		return nil
	})
	return sum, err
}

// verdict is what reconcile does with one session: count it fulfilled,
// skip it for a reason, or queue it as an event of eventType.
type verdict struct {
	fulfilled bool
	skip      string
	eventType string
}

// judge decides what to do with a session that has the ledger record rec
// (ETag empty: none) under a key of mode livemode.
func judge(s stripeapi.ListedSession, rec order.Order, livemode bool) verdict {
	switch {
	case s.Livemode != livemode:
		return verdict{skip: order.Mode(s.Livemode) + "-mode session, " + order.Mode(livemode) + "-mode key"}
	case s.Status == stripeapi.StatusExpired:
		return verdict{skip: "expired"}
	case s.Status == stripeapi.StatusOpen:
		return verdict{skip: "open: checkout not completed"}
	case s.PaymentStatus == stripeapi.PaymentUnpaid:
		return verdict{skip: "unpaid"}
	case s.PaymentStatus != stripeapi.PaymentPaid && s.PaymentStatus != stripeapi.PaymentNotRequired:
		return verdict{skip: "payment status " + s.PaymentStatus}
	case rec.ETag == "":
		return verdict{eventType: order.EventCompleted}
	case rec.Fulfilled():
		return verdict{fulfilled: true}
	case rec.State() == order.StatePaymentFailed:
		return verdict{skip: "paid in Stripe, payment failed in the ledger: see orders show"}
	case rec.State() == order.StateAwaitingPayment:
		// ProcessOrder leaves an order awaiting payment alone on a
		// completed event: the lost event is the payment's success.
		return verdict{eventType: order.EventAsyncPaymentSucceeded}
	}
	return verdict{eventType: order.EventCompleted}
}

// busy says why the scheduled run leaves a session it would queue alone,
// or "": see Patient.
func busy(s stripeapi.ListedSession, rec order.Order, now time.Time, grace time.Duration) string {
	switch {
	case now.Sub(s.Created) < grace:
		return "created within the grace period: its webhook may be on its way"
	case rec.ETag == "":
		return ""
	case rec.State() == order.StateNeedsAttention:
		return "needs attention: see orders list --status needs_attention"
	case now.Before(rec.RetryAt.Add(grace)):
		return "in progress: waiting for a retry after a transient failure"
	case now.Before(rec.HeldUntil.Add(grace)):
		return "in progress: held until a refused setting is fixed"
	case now.Before(rec.ThrottledUntil.Add(grace)), now.Before(rec.LeaseUntil):
		return "in progress"
	case now.Sub(rec.UpdatedAt) < grace:
		return "in progress: changed within the grace period"
	}
	return ""
}

// message is the order message reconcile queues for a session.
func (r *Reconciler) message(s stripeapi.ListedSession, eventType string) order.ProcessJob {
	return order.ProcessJob{Version: order.ProcessJobVersion, EventID: "evt_reconcile_" + randomID(), EventType: eventType,
		SessionID: s.ID, Livemode: s.Livemode, Created: r.now().Unix(), Trigger: order.TriggerReconcile}
}
