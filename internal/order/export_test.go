package order

import "time"

// RecordForTest records events in o's outbox, as a write through a
// Publisher does.
func RecordForTest(o Order, events []OutboxEvent) Order {
	o.record(events)
	return o
}

// QueueForTest marks what of o's outbox waits for sinks as queued at now,
// as Publisher.Publish does once it has queued it.
func QueueForTest(o Order, sinks []string, now time.Time) Order {
	o.markQueued(o.Unpublished(sinks), now)
	return o
}
