package ledger

import (
	"encoding/json"
	"slices"

	"github.com/filedrop/filedrop/internal/order"
)

// The order events' properties: Outbox holds the events as JSON (the
// truth); EventsPendingAt, EventsUndelivered and EventsFailing are derived
// from it on each write, only so that List can select by them
// server-side (the Reconcile sweep, handler events list), and left out
// while zero.
const (
	propOutbox            = "Outbox"
	propEventsDropped     = "EventsDropped"
	propEventsPendingAt   = "EventsPendingAt"
	propEventsUndelivered = "EventsUndelivered"
	propEventsFailing     = "EventsFailing"
)

// normalizeOutbox returns a copy of events with their times in UTC
// truncated to Resolution, empty lists nil; nil for none.
func normalizeOutbox(events []order.OutboxEvent) []order.OutboxEvent {
	if len(events) == 0 {
		return nil
	}
	out := slices.Clone(events)
	for i := range out {
		e := &out[i]
		e.At = utcTick(e.At)
		if len(e.Sinks) == 0 {
			e.Sinks = nil
		}
		e.Sinks = slices.Clone(e.Sinks)
		for j := range e.Sinks {
			d := &e.Sinks[j]
			d.QueuedAt, d.DeliveredAt, d.FailedAt = utcTick(d.QueuedAt), utcTick(d.DeliveredAt), utcTick(d.FailedAt)
		}
	}
	return out
}

// encodeOutbox sets the order events' properties of o on the entity e.
func encodeOutbox(o order.Order, e map[string]any) error {
	s := o.Snapshot()
	if len(s.Outbox) == 0 && s.EventsDropped == 0 {
		return nil
	}
	b, err := json.Marshal(s.Outbox)
	if err != nil {
		return err
	}
	if len(b) > 2*order.MaxOutboxBytes {
		return order.Permanentf("order %s: its %d events take %d bytes, over the ledger's %d-byte limit", s.SessionID, len(s.Outbox), len(b), 2*order.MaxOutboxBytes)
	}
	if len(s.Outbox) > 0 {
		e[propOutbox] = string(b)
	}
	if at := o.EventsPendingSince(); !at.IsZero() {
		e[propEventsPendingAt] = utcTick(at).Format(dateTimeLayout)
		e[propEventsPendingAt+"@odata.type"] = "Edm.DateTime"
	}
	undelivered, failing := o.EventsUndelivered()
	for name, n := range map[string]int{propEventsUndelivered: undelivered, propEventsFailing: failing, propEventsDropped: s.EventsDropped} {
		if n > 0 {
			e[name] = int32(n)
		}
	}
	return nil
}
