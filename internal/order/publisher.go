package order

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// EventQueue is the OrderEvents function's queue (storage.Queue).
type EventQueue interface {
	Send(ctx context.Context, data []byte, delay time.Duration) error
}

// Publisher is a ledger that publishes the order events of the changes
// written through it: a Records whose writes by Mutate and MutateFrom
// record, in the same conditional write as the change, the events of that
// change in the order's outbox (Changes), and then queue every event of
// the order that waits (Publish). Order events are off when the ledger is
// used as it is.
//
// An order's change is never published twice under different ids, and
// never lost: the event is written with the change or not at all, its id
// names the change, and it stays in the outbox until its sinks have it. A
// writer that stops between its write and the queueing leaves the event
// waiting in the outbox: the next write of the order through a Publisher
// queues it, and so does the Reconcile sweep (Publish) for the orders
// whose events have waited longer than its grace. An event queued but
// not marked so (the marking write failed) is queued again, under the
// same id, which its sinks' receivers de-duplicate.
type Publisher struct {
	// Records is the ledger itself.
	Records
	// Queue is the OrderEvents queue: one message (EventJob) per event and
	// sink.
	Queue EventQueue
	// Sinks name the configured sinks, each event's destinations.
	Sinks []string
	// Log receives a line when events of a write could not be queued (the
	// write stands; they wait for the next write or the sweep); nil
	// discards it.
	Log *slog.Logger
}

// PublishTimeout bounds Publish after a write: it runs even when the
// writer's context has ended.
const PublishTimeout = 10 * time.Second

// Publish queues the events of o (a record as read or just written) that
// wait (Unpublished), one EventJob per event and sink, then marks them
// queued with a conditional write, and returns the record as marked and the
// count of messages queued. A failure to queue stops it: what was not
// queued, or not marked, is queued again later, under the same ids. An
// event that cannot be encoded (it never will be) is recorded as failed at
// its sinks and reported.
func (p *Publisher) Publish(ctx context.Context, o Order, now time.Time) (Order, int, error) {
	targets := o.Unpublished(p.Sinks)
	if len(targets) == 0 {
		return o, 0, nil
	}
	var queued, broken []Target
	var errs, brokenErrs []error
	for _, t := range targets {
		data, err := EncodeEventJob(EventJob{Version: EventJobVersion, Sink: t.Sink, Event: o.EventOf(t.Event)})
		if err != nil {
			brokenErrs = append(brokenErrs, err)
			errs = append(errs, fmt.Errorf("event %s for %s: %w", t.Event.ID, t.Sink, err))
			broken = append(broken, t)
			continue
		}
		if err := p.Queue.Send(ctx, data, 0); err != nil {
			errs = append(errs, fmt.Errorf("queue event %s for %s: %w", t.Event.ID, t.Sink, err))
			break
		}
		queued = append(queued, t)
	}
	if len(queued)+len(broken) == 0 {
		return o, 0, errors.Join(errs...)
	}
	marked, err := mutate(ctx, p.Records, o.SessionID, &o, now, func(o *Order) error {
		changed := o.markQueued(append(queued, broken...), now)
		for i, t := range broken {
			changed = o.EventFailed(t.Event.ID, t.Sink, brokenErrs[i], true, now) || changed
		}
		if !changed {
			return ErrUnchanged
		}
		return nil
	})
	if err != nil {
		return o, len(queued), errors.Join(append(errs, fmt.Errorf("mark events queued: %w", err))...)
	}
	return marked, len(queued), errors.Join(errs...)
}

// published runs Publish after a write through p: the write stands
// whatever happens, and what could not be queued waits.
func (p *Publisher) published(ctx context.Context, o Order, now time.Time) Order {
	if len(o.Unpublished(p.Sinks)) == 0 {
		return o
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), PublishTimeout)
	defer cancel()
	marked, _, err := p.Publish(ctx, o, now)
	if err != nil && p.Log != nil {
		p.Log.Warn("order events not queued; the next write of the order or the Reconcile sweep queues them",
			"session_id", o.SessionID, "err", err)
	}
	return marked
}
