// Package reconcile is the Reconcile function: a timer that heals the
// pipeline with no operator.
//
// Input: one run of the timer (functions.Timer), on RECONCILE_SCHEDULE.
//
// Output: a ProcessOrder message for each paid Checkout Session of
// RECONCILE_WINDOW that would otherwise never get its mail (its webhook
// never came, or its message was lost), and the poisoned messages of the
// queue functions moved back to their queues, each at most
// delivery.MaxRedrives times; then one log line saying what the run saw
// and did. With order events on, the orders whose events have waited to
// be queued for longer than RECONCILE_GRACE (their writer stopped after
// its write) get them queued (operator.PublishWaiting). The work is
// operator.Sweep's, and which sessions need a message
// is operator.Reconciler's: the same judgement handler reconcile applies,
// made patient (what the pipeline is still working on, within
// RECONCILE_GRACE, is left alone).
//
// Retried: never by the host, which does not retry a timer run; the next
// run comes on schedule and looks again. A run goes on past a failure
// (Stripe down does not stop a redrive) and returns the failures joined.
//
// A run that overlaps another (a past-due run beside the next, two
// instances) doubles nothing: a redriven message is hidden from the other
// run while it is moved, and a session both queue is fulfilled once by
// ProcessOrder, whose ledger claim deduplicates it, with one mail
// generation whose idempotency key SendLink sends once.
package reconcile

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/operator"
)

// MaxLoggedSessions bounds the session ids a run's summary line names.
const MaxLoggedSessions = 100

// Deps are what the stage uses. Reconciler is required; the others have
// the zero value's behaviour their comments give.
type Deps struct {
	// Reconciler judges the sessions and queues the ones to fulfil.
	Reconciler *operator.Reconciler
	// Poison are the queue functions' poison queues to redrive; none: no
	// redrive.
	Poison []operator.PoisonedQueue
	// Window is how far back sessions are looked at (RECONCILE_WINDOW);
	// Grace what is left alone as still on its way (RECONCILE_GRACE).
	Window, Grace time.Duration
	// Events queues an order's waiting events (order.Publisher), and
	// Orders lists the orders that have some; nil: order events are off,
	// none are swept.
	Events operator.Publisher
	Orders operator.Lister
	// Now is the stage's clock; nil: time.Now.
	Now func() time.Time
}

// Stage is the Reconcile function.
type Stage struct {
	sweep  *operator.Sweep
	window time.Duration
	now    func() time.Time
}

// New returns the stage, or an error naming the first thing d lacks.
func New(d Deps) (*Stage, error) {
	if d.Reconciler == nil {
		return nil, errors.New("reconcile: no Reconciler")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Stage{sweep: &operator.Sweep{Reconciler: d.Reconciler, Poison: d.Poison, Window: d.Window, Grace: d.Grace,
		Events: d.Events, Orders: d.Orders, Now: d.Now},
		window: d.Window, now: d.Now}, nil
}

// Handle runs the sweep once, for the timer run t, and logs to log one
// summary line of what it saw and did ("reconcile run", or "reconcile run
// incomplete" with the error it returns).
func (s *Stage) Handle(ctx context.Context, log *slog.Logger, t functions.Timer) error {
	start := s.now()
	sum, err := s.sweep.Run(ctx)
	queued := sum.Reconcile.QueuedSessions
	if len(queued) > MaxLoggedSessions {
		queued = queued[:MaxLoggedSessions]
	}
	attrs := []any{"past_due", t.IsPastDue, "window", s.window.String(),
		"seen", sum.Reconcile.Seen, "fulfilled", sum.Reconcile.Fulfilled, "queued", sum.Reconcile.Queued,
		"redriven", sum.Redriven, "skipped", sum.Skipped, "queued_sessions", queued, "ms", s.now().Sub(start).Milliseconds()}
	if s.sweep.Events != nil {
		attrs = append(attrs, "event_orders", sum.EventOrders, "events_queued", sum.EventsQueued)
	}
	if err != nil {
		log.Warn("reconcile run incomplete", append(attrs, "err", err)...)
		return err
	}
	log.Info("reconcile run", attrs...)
	return nil
}
