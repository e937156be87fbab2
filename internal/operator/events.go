package operator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/order"
)

// Publisher queues an order's events that wait to be queued
// (order.Publisher).
type Publisher interface {
	Publish(ctx context.Context, o order.Order, now time.Time) (order.Order, int, error)
}

// Lister lists the ledger's records that a filter selects (ledger.Ledger).
type Lister interface {
	List(ctx context.Context, f order.Filter) ([]order.Order, error)
}

var _ Publisher = (*order.Publisher)(nil)

// PublishWaiting queues the events of the orders whose events have waited
// to be queued since before before (their writer stopped between its write
// and the queueing, or the queue failed it), and returns how many orders
// it found and how many messages it queued. It goes on past an order that
// fails and returns the failures joined.
func PublishWaiting(ctx context.Context, l Lister, p Publisher, before, now time.Time) (orders, queued int, err error) {
	recs, err := l.List(ctx, order.Filter{EventsWaitingBefore: before})
	if err != nil {
		return 0, 0, fmt.Errorf("list orders with events waiting: %w", err)
	}
	var errs []error
	for _, o := range recs {
		_, n, err := p.Publish(ctx, o, now)
		queued += n
		if err != nil {
			errs = append(errs, fmt.Errorf("order %s: %w", o.SessionID, err))
		}
	}
	return len(recs), queued, errors.Join(errs...)
}

// EventFilter selects order events.
type EventFilter struct {
	// Session keeps one order's events, delivered or not; "" the events of
	// every order that some sink has not taken.
	Session string
	// Failed keeps the events whose last delivery to a sink failed.
	Failed bool
	// Sink keeps the deliveries to the sinks it names: a sink's name, or
	// "webhook" for every webhook receiver; "" for all.
	Sink string
	// Limit bounds the orders looked at; 0: as many as a listing gives.
	Limit int
}

// matchSink reports whether the filter's Sink names sink.
func (f EventFilter) matchSink(sink string) bool {
	return f.Sink == "" || f.Sink == sink || f.Sink == "webhook" && strings.HasPrefix(sink, "webhook:")
}

// EventLine is one order event at one sink, as handler events list shows
// it: Delivery is the zero SinkDelivery (but for its Sink, "") for an
// event that waits to be queued for the first time.
type EventLine struct {
	SessionID string
	Event     order.OutboxEvent
	Delivery  order.SinkDelivery
}

// Waiting reports an event not queued yet for the sink.
func (l EventLine) Waiting() bool { return l.Delivery.QueuedAt.IsZero() && !l.Delivery.Delivered() }

// ListEvents returns the events f selects, by order (as the ledger lists
// them) then oldest first: without a session, those some sink has not
// taken (with Failed, those whose last delivery failed).
func ListEvents(ctx context.Context, recs Reader, l Lister, f EventFilter) ([]EventLine, error) {
	orders, err := eventOrders(ctx, recs, l, f)
	if err != nil {
		return nil, err
	}
	var out []EventLine
	for _, o := range orders {
		out = append(out, f.lines(o, func(d order.SinkDelivery) bool { return f.Session != "" || !d.Delivered() })...)
	}
	return out, nil
}

// keeps reports whether f selects the delivery d, given also what the
// caller asks of it.
func (f EventFilter) keeps(d order.SinkDelivery, also func(order.SinkDelivery) bool) bool {
	return f.matchSink(d.Sink) && (!f.Failed || d.Failing()) && also(d)
}

// lines returns o's events at the sinks f keeps (with also), oldest
// first, and, unless f names a sink or asks for failures, the events that
// wait to be queued for the first time.
func (f EventFilter) lines(o order.Order, also func(order.SinkDelivery) bool) []EventLine {
	var out []EventLine
	for _, e := range o.Outbox() {
		if len(e.Sinks) == 0 && f.Sink == "" && !f.Failed {
			out = append(out, EventLine{SessionID: o.SessionID, Event: e})
		}
		for _, d := range e.Sinks {
			if f.keeps(d, also) {
				out = append(out, EventLine{SessionID: o.SessionID, Event: e, Delivery: d})
			}
		}
	}
	return out
}

// eventOrders reads the one order f names, or lists those with events
// some sink has not taken.
func eventOrders(ctx context.Context, recs Reader, l Lister, f EventFilter) ([]order.Order, error) {
	if f.Session != "" {
		o, err := recs.Get(ctx, f.Session)
		if err != nil {
			return nil, err
		}
		return []order.Order{o}, nil
	}
	return l.List(ctx, order.Filter{EventsUndelivered: !f.Failed, EventsFailing: f.Failed, Limit: f.Limit})
}

// ErrEventsOff stops a redelivery while no sink is configured.
var ErrEventsOff = errors.New("order events are off: set ORDER_EVENTS_URL or DATAVERSE_URL")

// RedeliverSummary is what a redelivery did (or, in a dry run, would do).
type RedeliverSummary struct {
	DryRun bool
	// Orders counts the orders with something to deliver again; Queued
	// the (event, sink) pairs queued again.
	Orders, Queued int
	// Lines are the pairs, as ListEvents shows them.
	Lines []EventLine
}

// Redeliver queues again the events f selects that a configured sink
// (sinks) has not taken and that are not on their way (they failed, or
// wait to be queued): their failures are cleared and they are queued
// with the ids they have always had, through pub, whose write marks them
// queued. A dry run only lists them. Events of sinks no longer configured
// are left. A nil pub (order events off) is ErrEventsOff.
func Redeliver(ctx context.Context, pub *order.Publisher, l Lister, f EventFilter, sinks []string, dryRun bool, now time.Time) (RedeliverSummary, error) {
	sum := RedeliverSummary{DryRun: dryRun}
	if pub == nil || len(sinks) == 0 {
		return sum, ErrEventsOff
	}
	orders, err := eventOrders(ctx, pub, l, f)
	if err != nil {
		return sum, err
	}
	// Not taken, not on its way, and for a sink still configured.
	again := func(d order.SinkDelivery) bool {
		return !d.Delivered() && (d.Error != "" || d.QueuedAt.IsZero()) && slices.Contains(sinks, d.Sink)
	}
	var errs []error
	for _, o := range orders {
		lines := f.lines(o, again)
		if len(lines) == 0 {
			continue
		}
		sum.Orders++
		sum.Lines = append(sum.Lines, lines...)
		if dryRun {
			continue
		}
		marked, err := order.MutateFrom(ctx, pub, o, now, func(o *order.Order) error {
			o.Redeliver(func(_ order.OutboxEvent, d order.SinkDelivery) bool { return f.keeps(d, again) })
			return nil // a write even when only first queueings wait: the Publisher queues after it
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("order %s: %w", o.SessionID, err))
			continue
		}
		left := len(marked.Unpublished(sinks))
		sum.Queued += max(len(lines)-left, 0)
		if left > 0 {
			errs = append(errs, fmt.Errorf("order %s: %d events could not be queued; they wait for the next write of the order or the Reconcile sweep", o.SessionID, left))
		}
	}
	return sum, errors.Join(errs...)
}
