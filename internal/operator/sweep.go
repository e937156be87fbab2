package operator

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/storage"
)

// PoisonedQueue is a queue function's poison queue, whose messages a sweep
// moves back to the function's queue.
type PoisonedQueue struct {
	// Function names the queue function; Carries is its queue's message.
	Function string
	Carries  Carries
	// Poison is the function's poison queue; Queue the function's queue.
	Poison Receiver
	Queue  Sender
}

// Sweep is one run of the scheduled Reconcile function: the pipeline
// healing itself with no operator. It queues for ProcessOrder the paid
// Checkout Sessions of the window that would otherwise never get their
// mail (Reconciler.Patient) and moves the messages of the poison queues
// back to their queues, each at most delivery.MaxRedrives times, counted in
// the message, so a message whose cause is gone succeeds and a truly bad
// one stays; a message that does not decode is never moved.
//
// With Events set, it also queues the order events that have waited to be
// queued for longer than Grace (their writer stopped after its write, or
// the queue failed it): see PublishWaiting.
//
// Two sweeps that overlap double nothing: a redriven message is hidden
// from the other sweep while it is moved, and a session both queue is
// fulfilled once by ProcessOrder, whose ledger claim deduplicates it,
// with one mail generation whose idempotency key SendLink sends once.
type Sweep struct {
	Reconciler *Reconciler
	Poison     []PoisonedQueue
	// Window is how far back sessions are looked at (RECONCILE_WINDOW);
	// Grace what is left alone as still on its way (RECONCILE_GRACE).
	Window, Grace time.Duration
	// Events queues an order's waiting events, and Orders lists the
	// orders that have some; nil Events: no order events are swept.
	Events Publisher
	Orders Lister
	Now    func() time.Time
}

// SweepSummary is what a sweep found and did.
type SweepSummary struct {
	Reconcile Summary
	// Redriven counts the messages moved back to their queues.
	Redriven int
	// EventOrders counts the orders whose events waited to be queued, and
	// EventsQueued the messages queued for them.
	EventOrders, EventsQueued int
	// Skipped counts what was left alone, by reason: the sessions
	// reconcile skipped and the poisoned messages left where they are.
	Skipped map[string]int
}

// Run sweeps once. The reconcile and each poison queue are tried even when
// another fails (Stripe down does not stop a redrive); the errors are
// joined, with the summary of what was done.
func (s *Sweep) Run(ctx context.Context) (SweepSummary, error) {
	began := s.Now()
	var errs []error
	rec, err := s.Reconciler.Patient(ctx, began.Add(-s.Window).UTC().Truncate(time.Second), s.Grace)
	if err != nil {
		errs = append(errs, fmt.Errorf("reconcile: %w", err))
	}
	sum := SweepSummary{Reconcile: rec, Skipped: maps.Clone(rec.Skipped)}
	if sum.Skipped == nil {
		sum.Skipped = map[string]int{}
	}
	if s.Events != nil && s.Orders != nil {
		orders, queued, err := PublishWaiting(ctx, s.Orders, s.Events, began.Add(-s.Grace), began)
		sum.EventOrders, sum.EventsQueued = orders, queued
		if err != nil {
			errs = append(errs, fmt.Errorf("order events: %w", err))
		}
	}
	for _, p := range s.Poison {
		n, err := redriveCounted(ctx, p, began, sum.Skipped)
		sum.Redriven += n
		if err != nil {
			errs = append(errs, fmt.Errorf("redrive %s's poison queue: %w", p.Function, err))
		}
	}
	return sum, errors.Join(errs...)
}

// unmovable is the skipped reason of a poisoned message that could not be
// moved back; Run's error says why.
const unmovable = "poisoned message that could not be moved back: see poison show"

// redriveCounted moves p's poisoned messages back to p's queue, each with
// its redrive counted and a fresh retry budget, and counts those it leaves
// in skipped. Messages poisoned after began are left for the next sweep. A
// message that cannot be moved (its queue refuses it, or it cannot be
// deleted from the poison queue) is counted as unmovable and the others
// are still moved; the error names how many and the first cause.
func redriveCounted(ctx context.Context, p PoisonedQueue, began time.Time, skipped map[string]int) (moved int, err error) {
	failed, firstErr := 0, error(nil)
	defer func() {
		if failed > 0 {
			err = errors.Join(err, fmt.Errorf("%d poisoned messages could not be moved back; the first: %w", failed, firstErr))
		}
	}()
	for range MaxRedrive / PeekMax {
		msgs, err := p.Poison.Receive(ctx, PeekMax, redriveHold)
		if errors.Is(err, order.ErrNotFound) || (err == nil && len(msgs) == 0) {
			return moved, nil // no poison queue, or nothing (visible) left
		}
		if err != nil {
			return moved, err
		}
		for _, m := range msgs {
			if m.InsertedAt.After(began) {
				continue // hidden until after this sweep
			}
			if Inspect(m, p.Function, p.Carries).Problem != nil {
				skipped["poisoned message that does not decode: see poison show"]++
				continue
			}
			r := delivery.RetryOf(m.Data)
			if r.Redrives >= delivery.MaxRedrives {
				skipped[fmt.Sprintf("poisoned message redriven %d times already: see poison show", r.Redrives)]++
				continue
			}
			if err := redriveOne(ctx, p, m, r); err != nil {
				skipped[unmovable]++
				if failed++; firstErr == nil {
					firstErr = fmt.Errorf("message %s: %w", m.ID, err)
				}
				if ctx.Err() != nil {
					return moved, ctx.Err()
				}
				continue
			}
			moved++
		}
	}
	return moved, fmt.Errorf("stopped after %d batches", MaxRedrive/PeekMax)
}

// redriveOne moves m, whose retry record is r, from p's poison queue back to
// p's queue with its redrive counted.
func redriveOne(ctx context.Context, p PoisonedQueue, m storage.Message, r delivery.Retry) error {
	data, err := delivery.WithRetry(m.Data, delivery.Retry{Redrives: r.Redrives + 1})
	if err != nil {
		return err
	}
	if err := p.Queue.Send(ctx, data, 0); err != nil {
		return fmt.Errorf("move back: %w", err)
	}
	if err := p.Poison.Delete(ctx, m); err != nil {
		return fmt.Errorf("delete from the poison queue (it was moved back, and may come back twice): %w", err)
	}
	return nil
}
