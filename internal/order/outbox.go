package order

import (
	"encoding/json"
	"slices"
	"time"
)

// OutboxEvent is one order event kept on its order: recorded by the write
// that made the change (see Changes and Publisher), then queued for each
// sink and followed there until it is delivered. The JSON names are stored
// in the ledger: a stable contract.
//
// It is an Event without the order and the customer, which EventOf adds
// from the record when the event is queued.
type OutboxEvent struct {
	// ID is the change's event id (NewEventID), the same whoever records it.
	ID   string    `json:"id"`
	Type EventType `json:"type"`
	// At is when the change happened.
	At time.Time `json:"at"`
	// State is the order's state after the change.
	State State `json:"state"`

	Mail      *EventMail      `json:"mail,omitempty"`
	Refund    *EventRefund    `json:"refund,omitempty"`
	Dispute   *EventDispute   `json:"dispute,omitempty"`
	Access    *EventAccess    `json:"access,omitempty"`
	Attention *EventAttention `json:"attention,omitempty"`

	// Sinks are the sinks the event is for and what became of it at each;
	// none until the event is first queued, when every configured sink is
	// listed.
	Sinks []SinkDelivery `json:"sinks,omitempty"`
}

// SinkDelivery is what became of one order event at one sink. The JSON
// names are stored in the ledger: a stable contract.
type SinkDelivery struct {
	// Sink names the sink: "dataverse", or "webhook:" and the receiver's
	// host and a digest of its URL.
	Sink string `json:"sink"`
	// QueuedAt is when the event was last queued for the sink; zero while
	// it waits to be (recorded, or asked to be delivered again).
	QueuedAt time.Time `json:"queued_at,omitzero"`
	// DeliveredAt is when the sink took it; zero until then.
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
	// Attempts counts the failed deliveries since it was last queued;
	// Error is the last one's, at FailedAt.
	Attempts int       `json:"attempts,omitempty"`
	Error    string    `json:"error,omitempty"`
	FailedAt time.Time `json:"failed_at,omitzero"`
	// GaveUp is set when the last failure ends the delivery: permanent, or
	// a transient one that outlasted the retry budget. Only a redelivery
	// (handler events redeliver, or the Reconcile's redrive of its
	// poisoned message) tries again.
	GaveUp bool `json:"gave_up,omitempty"`
}

// Delivered reports whether the sink took the event.
func (d SinkDelivery) Delivered() bool { return !d.DeliveredAt.IsZero() }

// Failing reports whether the last delivery to the sink failed and none has
// succeeded.
func (d SinkDelivery) Failing() bool { return !d.Delivered() && d.Error != "" }

// Bounds of the outbox, which the ledger keeps in the order's record.
const (
	// MaxOutbox bounds Order.Outbox, and MaxOutboxBytes its JSON (a string
	// property of the Table ledger holds 32 Ki UTF-16 characters): events
	// every sink has go first, the oldest first, then the oldest
	// (EventsDropped counts those).
	MaxOutbox      = 20
	MaxOutboxBytes = 16 << 10
	// MaxSinkError bounds, in characters, SinkDelivery.Error.
	MaxSinkError = 300
	// MaxSinkName bounds a sink's name, in bytes.
	MaxSinkName = 100
)

// Outbox returns the order's events, oldest first, with what became of
// each at its sinks. The slice is the caller's.
func (o Order) Outbox() []OutboxEvent {
	out := slices.Clone(o.outbox)
	for i := range out {
		out[i] = out[i].clone()
	}
	return out
}

// EventsDropped counts the order's events that left the outbox (it keeps
// at most MaxOutbox) before every sink had them.
func (o Order) EventsDropped() int { return o.eventsDropped }

// clone copies e's slices and parts.
func (e OutboxEvent) clone() OutboxEvent {
	e.Sinks = slices.Clone(e.Sinks)
	e.Mail, e.Refund, e.Dispute, e.Access, e.Attention = clonePtr(e.Mail), clonePtr(e.Refund), clonePtr(e.Dispute), clonePtr(e.Access), clonePtr(e.Attention)
	return e
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// settled reports whether every sink the event was queued for took it.
func (e OutboxEvent) settled() bool {
	return len(e.Sinks) > 0 && !slices.ContainsFunc(e.Sinks, func(d SinkDelivery) bool { return !d.Delivered() })
}

// record adds events to the outbox, each once (an id the outbox holds is
// the same change), and keeps it bounded.
func (o *Order) record(events []OutboxEvent) {
	if len(events) == 0 {
		return
	}
	out := slices.Clone(o.outbox)
	for _, e := range events {
		if !slices.ContainsFunc(out, func(k OutboxEvent) bool { return k.ID == e.ID }) {
			out = append(out, e)
		}
	}
	o.outbox = out
	o.bound()
}

// bound drops events until the outbox is within MaxOutbox and
// MaxOutboxBytes: those every sink has first, then the oldest.
func (o *Order) bound() {
	for len(o.outbox) > 1 && (len(o.outbox) > MaxOutbox || outboxBytes(o.outbox) > MaxOutboxBytes) {
		i := slices.IndexFunc(o.outbox, OutboxEvent.settled)
		if i < 0 {
			i = 0
			o.eventsDropped++
		}
		o.outbox = slices.Delete(slices.Clone(o.outbox), i, i+1)
	}
}

// outboxBytes is the size of the outbox's JSON.
func outboxBytes(events []OutboxEvent) int {
	b, _ := json.Marshal(events) // plain values always encode
	return len(b)
}

// event returns the index of the outbox's event id, or -1.
func (o *Order) event(id string) int {
	return slices.IndexFunc(o.outbox, func(e OutboxEvent) bool { return e.ID == id })
}

// sinkOf returns the index of sink among e's sinks, adding it when absent.
func (e *OutboxEvent) sinkOf(sink string) int {
	if i := slices.IndexFunc(e.Sinks, func(d SinkDelivery) bool { return d.Sink == sink }); i >= 0 {
		return i
	}
	e.Sinks = append(e.Sinks, SinkDelivery{Sink: sink})
	return len(e.Sinks) - 1
}

// delivery returns the delivery of the event id to sink, in a copy of the
// outbox that o then holds (the sink added to the event when absent), or
// nil when the outbox no longer holds the event.
func (o *Order) delivery(id, sink string) *SinkDelivery {
	i := o.event(id)
	if i < 0 {
		return nil
	}
	o.outbox = slices.Clone(o.outbox)
	e := &o.outbox[i]
	*e = e.clone()
	return &e.Sinks[e.sinkOf(sink)]
}

// EventDelivered records that sink took the event id at now, and reports
// whether that changed the record: an event the outbox no longer holds,
// or one recorded as delivered there already, changes nothing.
func (o *Order) EventDelivered(id, sink string, now time.Time) bool {
	d := o.delivery(id, sink)
	if d == nil || d.Delivered() {
		return false
	}
	d.DeliveredAt, d.Error, d.GaveUp = now, "", false
	return true
}

// EventFailed records that delivering the event id to sink failed at now
// with cause, and whether the delivery ends there (gaveUp: permanent, or
// out of retry budget), and reports whether that changed the record. An
// event the sink took already is left as it is.
func (o *Order) EventFailed(id, sink string, cause error, gaveUp bool, now time.Time) bool {
	d := o.delivery(id, sink)
	if d == nil || d.Delivered() {
		return false
	}
	d.Attempts++
	d.Error, d.FailedAt, d.GaveUp = cut(cleanLine(cause.Error()), MaxSinkError), now, gaveUp
	o.bound()
	return true
}

// Redeliver asks for the outbox's events that a sink has not taken to be
// queued for it again (see Publisher.Publish), those that pick selects
// (nil: all), and returns how many (event, sink) pairs it marked. Their
// failures are cleared: the next delivery starts afresh.
func (o *Order) Redeliver(pick func(e OutboxEvent, d SinkDelivery) bool) int {
	n := 0
	out := slices.Clone(o.outbox)
	for i := range out {
		e := &out[i]
		*e = e.clone()
		for j := range e.Sinks {
			d := &e.Sinks[j]
			if d.Delivered() || (pick != nil && !pick(*e, *d)) {
				continue
			}
			*d = SinkDelivery{Sink: d.Sink}
			n++
		}
	}
	if n > 0 {
		o.outbox = out
	}
	return n
}

// Target is one order event to queue for one sink (see Unpublished).
type Target struct {
	Event OutboxEvent
	Sink  string
}

// Unpublished returns what of the outbox waits to be queued, given the
// configured sinks: an event never queued is for every one of them, an
// event asked to be delivered again only for those of its sinks that are
// still configured.
func (o Order) Unpublished(sinks []string) []Target {
	var out []Target
	for _, e := range o.outbox {
		if len(e.Sinks) == 0 {
			for _, s := range sinks {
				out = append(out, Target{Event: e.clone(), Sink: s})
			}
			continue
		}
		for _, d := range e.Sinks {
			if d.QueuedAt.IsZero() && !d.Delivered() && slices.Contains(sinks, d.Sink) {
				out = append(out, Target{Event: e.clone(), Sink: d.Sink})
			}
		}
	}
	return out
}

// markQueued records that each of targets was queued at now.
func (o *Order) markQueued(targets []Target, now time.Time) bool {
	changed := false
	out := slices.Clone(o.outbox)
	for _, t := range targets {
		i := slices.IndexFunc(out, func(e OutboxEvent) bool { return e.ID == t.Event.ID })
		if i < 0 {
			continue
		}
		e := &out[i]
		*e = e.clone()
		d := &e.Sinks[e.sinkOf(t.Sink)]
		if d.QueuedAt.IsZero() && !d.Delivered() {
			d.QueuedAt = now
			changed = true
		}
	}
	if changed {
		o.outbox = out
	}
	return changed
}

// EventsPendingSince is when the oldest of the order's events that waits
// to be queued (Unpublished, for any sink) was recorded; zero when none
// waits. An event asked to be delivered again counts from its change.
func (o Order) EventsPendingSince() time.Time {
	var oldest time.Time
	for _, e := range o.outbox {
		waits := len(e.Sinks) == 0 || slices.ContainsFunc(e.Sinks, func(d SinkDelivery) bool { return d.QueuedAt.IsZero() && !d.Delivered() })
		if waits && (oldest.IsZero() || e.At.Before(oldest)) {
			oldest = e.At
		}
	}
	return oldest
}

// EventsUndelivered counts the order's events that some sink has not
// taken yet (waiting to be queued, queued, or failing); EventsFailing
// those whose last delivery to some sink failed.
func (o Order) EventsUndelivered() (undelivered, failing int) {
	for _, e := range o.outbox {
		if !e.settled() {
			undelivered++
		}
		if slices.ContainsFunc(e.Sinks, SinkDelivery.Failing) {
			failing++
		}
	}
	return undelivered, failing
}
