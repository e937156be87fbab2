// Package orderevents is the OrderEvents stage: it delivers an order's
// events to the seller's sinks (signed webhooks, Dataverse) and records on
// the order what became of each.
//
// Input: an order.EventJob from the order-events queue: one event for one
// sink, queued by an order.Publisher after the write that recorded the
// event in the order's outbox (or again by the Reconcile sweep, or by
// handler events redeliver).
//
// Output: the event delivered to the sink the job names (Deps.Sinks), with
// the order page's link when Deps.OrderPage gives one, and the outcome on
// the event in the order's outbox: delivered (order.Order.EventDelivered),
// or the failure, its count and whether it ends the delivery
// (order.Order.EventFailed), which orders show and handler events list
// print.
//
// Retried: a sink's failures are classified by its adapter. Throttling
// (429 with Retry-After) is returned as order.Throttled and re-scheduled
// for the pause asked, recording nothing; a refused credential or address
// (order.Misconfigured) is recorded and held, re-scheduled with a growing
// delay, with an alarm naming the setting, until it is fixed; a transient
// fault (5xx, a timeout, the network) is recorded and re-scheduled with the
// route's back-off until RETRY_BUDGET is spent, then recorded as given up
// and poisoned (the Reconcile sweep redrives it, handler events redeliver
// queues it again); a permanent answer (another 4xx) is recorded as given
// up and acknowledged. A job for a sink no longer configured is recorded as
// given up and acknowledged. A delivery whose outcome cannot be written is
// returned with the ledger's error, so that it is tried again.
//
// Redelivery is harmless: the event carries the same id every time (the
// webhook-id a receiver de-duplicates on; the Dataverse sink upserts by
// the session id and keeps the latest event), so a job delivered twice
// (after a crash, a retry, a redrive, or queued twice when its marking
// was lost) changes nothing at the sink the first did not, and recording
// the outcome again changes nothing on the order.
package orderevents

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/filedrop/filedrop/internal/dataverse"
	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/webhooks"
)

// Sink delivers an event to one of the seller's systems (webhooks.Sender,
// dataverse.Client), its errors classified in the domain's classes.
type Sink interface {
	Deliver(ctx context.Context, e order.Event) error
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(ctx context.Context, e order.Event) error

// Deliver calls f(ctx, e).
func (f SinkFunc) Deliver(ctx context.Context, e order.Event) error { return f(ctx, e) }

var (
	_ Sink = (*webhooks.Sender)(nil)
	_ Sink = (*dataverse.Client)(nil)
)

// DataverseSink names the Dataverse sink.
const DataverseSink = "dataverse"

// WebhookSink names the sink of a webhook receiver: "webhook:", the URL's
// host, "/" and the first 8 hex digits of the URL's SHA-256, so that two
// receivers on one host differ and the name shows none of the path or
// query, where a receiver's credential may be.
func WebhookSink(rawURL string) string {
	host := "invalid"
	if u, err := url.Parse(rawURL); err == nil && u.Host != "" {
		host = u.Host
	}
	sum := sha256.Sum256([]byte(rawURL))
	return "webhook:" + host + "/" + hex.EncodeToString(sum[:4])
}

// Deps are what the stage uses. Sinks (at least one), Records, a valid
// Budget and Log are required; the others have the zero value's behaviour
// their comments give.
type Deps struct {
	// Sinks are the configured sinks by name (WebhookSink, DataverseSink).
	Sinks map[string]Sink
	// Records is the ledger the outcomes are recorded in (an
	// order.Publisher, so that a write also queues what waits).
	Records order.Records
	// Budget bounds one delivery by its Step.
	Budget delivery.Budget
	// OrderPage, when set, gives the order page's link of a session, which
	// each event carries (ORDER_EVENTS_INCLUDE_LINK), signed when it is
	// delivered. Nil: no link.
	OrderPage func(sessionID string) string
	// Now is the stage's clock; nil: time.Now.
	Now func() time.Time
	// Log is used for a delivery without a logger of its own.
	Log *slog.Logger
}

// Stage delivers the jobs of the order-events queue.
type Stage struct {
	sinks     map[string]Sink
	records   order.Records
	budget    delivery.Budget
	orderPage func(sessionID string) string
	now       func() time.Time
	log       *slog.Logger
}

// New returns the stage, or an error naming the first thing d lacks.
func New(d Deps) (*Stage, error) {
	switch {
	case len(d.Sinks) == 0:
		return nil, errors.New("orderevents: no Sinks")
	case d.Records == nil:
		return nil, errors.New("orderevents: no Records")
	case d.Log == nil:
		return nil, errors.New("orderevents: no Log")
	}
	for name, s := range d.Sinks {
		if s == nil || !order.ValidSinkName(name) {
			return nil, fmt.Errorf("orderevents: sink %q is nil or not a sink's name", name)
		}
	}
	if err := d.Budget.Validate(0); err != nil {
		return nil, fmt.Errorf("orderevents: %w", err)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Stage{sinks: d.Sinks, records: d.Records, budget: d.Budget, orderPage: d.OrderPage, now: d.Now, log: d.Log}, nil
}

// Handle delivers job, delivered as d, to its sink and records the
// outcome; see the package documentation.
func (s *Stage) Handle(ctx context.Context, d delivery.Attempt, job order.EventJob) error {
	log := cmp.Or(d.Log, s.log).With(job.LogAttrs()...)
	if err := job.Validate(); err != nil {
		return order.Permanentf("invalid order event message: %w", err)
	}
	sink, ok := s.sinks[job.Sink]
	if !ok {
		err := order.Permanentf("sink %s is not configured (ORDER_EVENTS_URL, DATAVERSE_URL): the event is not delivered there", job.Sink)
		s.record(ctx, log, job, err, true)
		return err
	}
	e := job.Event
	if s.orderPage != nil {
		e.Order.PageURL = s.orderPage(e.Order.SessionID)
	}
	dctx, cancel := context.WithTimeout(ctx, s.budget.Step)
	err := sink.Deliver(dctx, e)
	cancel()
	if err == nil {
		if rerr := s.record(ctx, log, job, nil, false); rerr != nil {
			// Delivered again on the next try, under the same id.
			return fmt.Errorf("order event %s delivered to %s, but not recorded: %w", job.Event.ID, job.Sink, rerr)
		}
		log.Info("order event delivered")
		return nil
	}
	err = fmt.Errorf("deliver order event %s to %s: %w", job.Event.ID, job.Sink, err)
	switch order.Classify(err) {
	case order.ClassThrottled:
		return err // a pause, not a failure
	case order.ClassPermanent:
		s.record(ctx, log, job, err, true)
	case order.ClassTransient:
		s.record(ctx, log, job, err, d.Retry.Exhausted)
	default:
		s.record(ctx, log, job, err, false)
	}
	return err
}

// record writes the outcome of delivering job on its order: delivered when
// cause is nil, else failed (and ended, with gaveUp). A failure whose
// record cannot be written is only logged: the route acts on the failure.
// The write runs even when the invocation's context has ended.
func (s *Stage) record(ctx context.Context, log *slog.Logger, job order.EventJob, cause error, gaveUp bool) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), order.RecordTimeout)
	defer cancel()
	now := s.now()
	_, err := order.Mutate(ctx, s.records, job.Event.Order.SessionID, now, func(o *order.Order) error {
		changed := false
		switch {
		case o.ETag == "":
		case cause == nil:
			changed = o.EventDelivered(job.Event.ID, job.Sink, now)
		default:
			changed = o.EventFailed(job.Event.ID, job.Sink, cause, gaveUp, now)
		}
		if !changed {
			return order.ErrUnchanged // no such order or event any more, or recorded already
		}
		return nil
	})
	if err != nil && cause != nil {
		log.Warn("the failure of an order event's delivery is not recorded on its order", "err", err)
	}
	return err
}
