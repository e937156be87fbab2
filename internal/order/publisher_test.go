package order_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
)

// sent lists the queued jobs as "<event type> <sink>", and their ids.
func sent(q *ordertest.EventQueue) (jobs []string, ids map[string]order.EventType) {
	ids = map[string]order.EventType{}
	for _, j := range q.Jobs() {
		jobs = append(jobs, string(j.Event.Type)+" "+j.Sink)
		ids[j.Event.ID] = j.Event.Type
	}
	slices.Sort(jobs)
	return jobs, ids
}

var evSinks = []string{"dataverse", "webhook:hooks.example/1a2b3c4d"}

func publisher(recs order.Records, q *ordertest.EventQueue) *order.Publisher {
	return &order.Publisher{Records: recs, Queue: q, Sinks: evSinks}
}

// fulfil is ProcessOrder's fulfilment as one write through recs.
func fulfil(t *testing.T, recs order.Records) (order.Order, error) {
	return order.Mutate(t.Context(), recs, evSession, evT0, func(o *order.Order) error {
		o.Receive()
		queueLinks(t, o, 1, evT0)
		return nil
	})
}

// TestMutatePublishes: a write through a Publisher records its change's
// events with it, queues one message per event and sink, and marks them
// queued; a ledger used as it is records nothing.
func TestMutatePublishes(t *testing.T) {
	led, q := ordertest.NewLedger(), &ordertest.EventQueue{}
	got, err := fulfil(t, publisher(led, q))
	require.NoError(t, err)
	jobs, ids := sent(q)
	require.Equal(t, []string{"order.links_ready dataverse", "order.links_ready webhook:hooks.example/1a2b3c4d",
		"order.paid dataverse", "order.paid webhook:hooks.example/1a2b3c4d"}, jobs)
	require.Equal(t, map[string]order.EventType{order.NewEventID(evSession, order.TypePaid, ""): order.TypePaid,
		order.NewEventID(evSession, order.TypeLinksReady, "1"): order.TypeLinksReady}, ids)
	stored := led.Record(t, evSession)
	require.Equal(t, stored, got, "Mutate returns the record that marks them queued")
	require.Len(t, stored.Outbox(), 2)
	for _, e := range stored.Outbox() {
		require.Len(t, e.Sinks, 2)
		for _, d := range e.Sinks {
			require.Equal(t, evT0, d.QueuedAt)
		}
	}
	require.Empty(t, stored.Unpublished(evSinks))

	plain := ordertest.NewLedger()
	_, err = fulfil(t, plain)
	require.NoError(t, err)
	require.Empty(t, plain.Record(t, evSession).Outbox(), "events are off without a Publisher")
}

// TestMutatePublishesOncePerChange: a redelivered message or a retried
// step repeats the write on a fresh read and finds the change made; a
// writer that lost the race re-applies its change on the winner's record.
// Either way the change has one event, queued under one id.
func TestMutatePublishesOncePerChange(t *testing.T) {
	led, q := ordertest.NewLedger(), &ordertest.EventQueue{}
	pub := publisher(led, q)
	// Another invocation fulfils the order while this one's first write is
	// under way: this one loses the race and applies its change again.
	led.BeforeWrite = func(n int, _ order.Order) error {
		if n == 1 {
			_, err := fulfil(t, publisher(led, q))
			return err
		}
		return nil
	}
	_, err := fulfil(t, pub)
	require.NoError(t, err)
	led.BeforeWrite = nil
	_, err = fulfil(t, pub) // the message delivered again
	require.NoError(t, err)
	jobs, ids := sent(q)
	require.Len(t, ids, 2, "paid and links ready, each under one id")
	require.Len(t, jobs, 4, "each queued once for each sink")
	require.Len(t, led.Record(t, evSession).Outbox(), 2)
}

// TestMutateCrashAfterWrite: events whose queueing fails (a crash between
// the write and the queue, the queue down) are not lost: the write stands,
// they wait in the outbox, and the next write of the order queues them,
// under the ids they were recorded with.
func TestMutateCrashAfterWrite(t *testing.T) {
	led, q := ordertest.NewLedger(), &ordertest.EventQueue{}
	pub := publisher(led, q)
	q.Fail(errors.New("queue unavailable"))
	_, err := fulfil(t, pub)
	require.NoError(t, err, "the change is written whatever the queue does")
	stored := led.Record(t, evSession)
	require.Len(t, stored.Outbox(), 2)
	require.Len(t, stored.Unpublished(evSinks), 4)
	require.Equal(t, evT0, stored.EventsPendingSince())

	q.Fail(nil)
	_, err = order.Mutate(t.Context(), pub, evSession, evT0.Add(time.Minute), func(o *order.Order) error {
		o.Release() // any write of the order
		return nil
	})
	require.NoError(t, err)
	_, ids := sent(q)
	require.Equal(t, map[string]order.EventType{order.NewEventID(evSession, order.TypePaid, ""): order.TypePaid,
		order.NewEventID(evSession, order.TypeLinksReady, "1"): order.TypeLinksReady}, ids)
	require.Empty(t, led.Record(t, evSession).Unpublished(evSinks))
}

// TestPublishMarkFails: when the write that marks events queued fails,
// they are queued again later under the same ids (the receivers
// de-duplicate), never under new ones.
func TestPublishMarkFails(t *testing.T) {
	led, q := ordertest.NewLedger(), &ordertest.EventQueue{}
	pub := publisher(led, q)
	led.BeforeWrite = func(n int, _ order.Order) error {
		if n == 2 {
			return errors.New("table unavailable")
		}
		return nil
	}
	_, err := fulfil(t, pub)
	require.NoError(t, err)
	require.Len(t, led.Record(t, evSession).Unpublished(evSinks), 4, "not marked")

	rec := led.Record(t, evSession)
	marked, n, err := pub.Publish(t.Context(), rec, evT0.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, 4, n)
	require.Empty(t, marked.Unpublished(evSinks))
	jobs, ids := sent(q)
	require.Len(t, jobs, 8, "each queued twice")
	require.Len(t, ids, 2, "under the same two ids")
}

// TestPublishRecordsAnEventThatNeverEncodes: such an event fails at its
// sinks, visibly, rather than waiting for ever.
func TestPublishRecordsAnEventThatNeverEncodes(t *testing.T) {
	bad := order.OutboxEvent{ID: "oevt_1", Type: "order.unknown", At: evT0, State: order.StateMailSent}
	led := ordertest.NewLedger(order.Restore(order.Snapshot{SessionID: evSession, State: order.StateMailSent, Outbox: []order.OutboxEvent{bad}}))
	q := &ordertest.EventQueue{}
	marked, n, err := publisher(led, q).Publish(t.Context(), led.Record(t, evSession), evT0)
	require.Error(t, err)
	require.True(t, order.IsPermanent(err), "%v", err)
	require.Zero(t, n)
	require.Empty(t, marked.Unpublished(evSinks))
	_, failing := marked.EventsUndelivered()
	require.Equal(t, 1, failing)
	require.True(t, marked.Outbox()[0].Sinks[0].GaveUp)
}
