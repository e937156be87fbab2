package operator

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/storage"
)

const hookSink = "webhook:hooks.example/1a2b3c4d"

var (
	evAt    = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	evSinks = []string{hookSink, "dataverse"}
)

// withEvents is an order whose paid event the webhook took and Dataverse
// refused for good, and whose links_ready event is on its way to both.
func withEvents(id string) order.Order {
	return order.Restore(order.Snapshot{SessionID: id, State: order.StateLinksReady, CustomerEmail: "ada@example.com", CreatedAt: evAt,
		Outbox: []order.OutboxEvent{
			{ID: order.NewEventID(id, order.TypePaid, ""), Type: order.TypePaid, At: evAt, State: order.StateLinksReady,
				Sinks: []order.SinkDelivery{{Sink: hookSink, QueuedAt: evAt, DeliveredAt: evAt},
					{Sink: "dataverse", QueuedAt: evAt, Attempts: 1, Error: "dataverse: 400", FailedAt: evAt, GaveUp: true}}},
			{ID: order.NewEventID(id, order.TypeLinksReady, "1"), Type: order.TypeLinksReady, At: evAt, State: order.StateLinksReady,
				Sinks: []order.SinkDelivery{{Sink: hookSink, QueuedAt: evAt}, {Sink: "dataverse", QueuedAt: evAt}}},
		}})
}

func TestListEvents(t *testing.T) {
	led := ordertest.NewLedger(withEvents("cs_test_a"), order.Restore(order.Snapshot{SessionID: "cs_test_quiet", State: order.StateMailSent}))
	line := func(l EventLine) string { return string(l.Event.Type) + " " + l.Delivery.Sink }
	lines := func(f EventFilter) []string {
		got, err := ListEvents(context.Background(), led, led, f)
		require.NoError(t, err)
		var out []string
		for _, l := range got {
			out = append(out, line(l))
		}
		return out
	}
	require.Equal(t, []string{"order.paid dataverse", "order.links_ready " + hookSink, "order.links_ready dataverse"}, lines(EventFilter{}),
		"what some sink has not taken")
	require.Equal(t, []string{"order.paid dataverse"}, lines(EventFilter{Failed: true}))
	require.Equal(t, []string{"order.links_ready " + hookSink}, lines(EventFilter{Sink: "webhook"}))
	require.Equal(t, []string{"order.paid " + hookSink, "order.paid dataverse", "order.links_ready " + hookSink, "order.links_ready dataverse"},
		lines(EventFilter{Session: "cs_test_a"}), "one order's, delivered or not")
	_, err := ListEvents(context.Background(), led, led, EventFilter{Session: "cs_test_none"})
	require.ErrorIs(t, err, order.ErrNotFound)
}

// TestRedeliver: what failed (or waits) is queued again, under its id,
// with its failures cleared; what is on its way or delivered is left; a
// dry run changes nothing.
func TestRedeliver(t *testing.T) {
	ctx := context.Background()
	led := ordertest.NewLedger(withEvents("cs_test_a"))
	q := &ordertest.EventQueue{}
	pub := &order.Publisher{Records: led, Queue: q, Sinks: evSinks}

	dry, err := Redeliver(ctx, pub, led, EventFilter{}, evSinks, true, evAt.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, 1, dry.Orders)
	require.Len(t, dry.Lines, 1)
	require.Equal(t, "dataverse", dry.Lines[0].Delivery.Sink)
	require.Empty(t, q.Jobs())
	require.Equal(t, withEvents("cs_test_a").Outbox(), led.Record(t, "cs_test_a").Outbox(), "a dry run changes nothing")

	sum, err := Redeliver(ctx, pub, led, EventFilter{Session: "cs_test_a"}, evSinks, false, evAt.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, 1, sum.Queued)
	require.Len(t, q.Jobs(), 1)
	require.Equal(t, order.NewEventID("cs_test_a", order.TypePaid, ""), q.Jobs()[0].Event.ID, "the id it always had")
	require.Equal(t, "dataverse", q.Jobs()[0].Sink)
	d := led.Record(t, "cs_test_a").Outbox()[0].Sinks[1]
	require.Equal(t, order.SinkDelivery{Sink: "dataverse", QueuedAt: evAt.Add(time.Hour)}, d, "queued again, afresh")

	sum, err = Redeliver(ctx, pub, led, EventFilter{Sink: "webhook"}, evSinks, false, evAt.Add(time.Hour))
	require.NoError(t, err)
	require.Zero(t, sum.Queued, "the webhook's event is on its way")

	_, err = Redeliver(ctx, nil, led, EventFilter{}, nil, false, evAt)
	require.ErrorIs(t, err, ErrEventsOff)
}

func TestPublishWaiting(t *testing.T) {
	ctx := context.Background()
	waiting := order.Restore(order.Snapshot{SessionID: "cs_test_w", State: order.StateMailSent, Outbox: []order.OutboxEvent{
		{ID: order.NewEventID("cs_test_w", order.TypePaid, ""), Type: order.TypePaid, At: evAt, State: order.StateMailSent}}})
	led := ordertest.NewLedger(waiting, withEvents("cs_test_a"))
	q := &ordertest.EventQueue{}
	pub := &order.Publisher{Records: led, Queue: q, Sinks: evSinks}
	orders, queued, err := PublishWaiting(ctx, led, pub, evAt.Add(time.Minute), evAt.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, [2]int{1, 2}, [2]int{orders, queued})
	require.Empty(t, led.Record(t, "cs_test_w").Unpublished(evSinks))

	_, _, err = PublishWaiting(ctx, failingLister{}, pub, evAt, evAt)
	require.Error(t, err)
}

type failingLister struct{}

func (failingLister) List(context.Context, order.Filter) ([]order.Order, error) {
	return nil, errors.New("table down")
}

func TestInspectOrderEvent(t *testing.T) {
	o := withEvents("cs_test_a")
	job := order.EventJob{Version: order.EventJobVersion, Sink: hookSink, Event: o.EventOf(o.Outbox()[0])}
	data, err := order.EncodeEventJob(job)
	require.NoError(t, err)
	got := Inspect(storage.Message{ID: "m", Text: base64.StdEncoding.EncodeToString(data)}, "OrderEvents", OrderEvents)
	require.NoError(t, got.Problem)
	require.Equal(t, &job, got.Event)
	bad := Inspect(storage.Message{ID: "m", Text: base64.StdEncoding.EncodeToString([]byte(`{"v":1,"sink":"x"}`))}, "OrderEvents", OrderEvents)
	require.Error(t, bad.Problem)
}

// TestAccessEvents: an operator's revoke is one access_revoked event, a
// second revoke none, and the grant one access_restored by the operator.
func TestAccessEvents(t *testing.T) {
	ctx := context.Background()
	led := ordertest.NewLedger(order.Restore(order.Snapshot{SessionID: "cs_test_a", State: order.StateMailSent, PaidAt: evAt,
		Files: []order.File{{Title: "Fern", Blob: "fern.jpg", FileName: "fern.jpg", Size: 1}}}))
	q := &ordertest.EventQueue{}
	a := NewAccess(&order.Publisher{Records: led, Queue: q, Sinks: []string{"dataverse"}}, 24*time.Hour, func() time.Time { return evAt })
	for range 2 {
		_, _, err := a.Revoke(ctx, led.Record(t, "cs_test_a"), "chargeback feared")
		require.NoError(t, err)
	}
	_, _, err := a.Grant(ctx, led.Record(t, "cs_test_a"), 0, false)
	require.NoError(t, err)
	require.Len(t, q.Jobs(), 2)
	require.Equal(t, order.TypeAccessRevoked, q.Jobs()[0].Event.Type)
	require.Equal(t, &order.EventAccess{By: "operator", Reason: "chargeback feared"}, q.Jobs()[0].Event.Access)
	require.Equal(t, order.TypeAccessRestored, q.Jobs()[1].Event.Type)
	require.Equal(t, &order.EventAccess{By: "operator"}, q.Jobs()[1].Event.Access)
}
