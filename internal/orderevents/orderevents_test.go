package orderevents_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/orderevents"
)

const session = "cs_test_events"

var (
	t0     = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	budget = delivery.BudgetFor(5 * time.Minute)
	hook   = orderevents.WebhookSink("https://hooks.example/filedrop?code=secret")
)

// paidID is the id of the order's paid event.
var paidID = order.NewEventID(session, order.TypePaid, "")

// recorded is an order whose paid event is queued for the webhook and
// Dataverse.
func recorded() order.Order {
	return order.Restore(order.Snapshot{SessionID: session, State: order.StateLinksReady, CustomerEmail: "ada@example.com", PaidAt: t0,
		CreatedAt: t0, Outbox: []order.OutboxEvent{{ID: paidID, Type: order.TypePaid, At: t0, State: order.StateLinksReady,
			Sinks: []order.SinkDelivery{{Sink: hook, QueuedAt: t0}, {Sink: orderevents.DataverseSink, QueuedAt: t0}}}}})
}

func job(sink string) order.EventJob {
	o := recorded()
	return order.EventJob{Version: order.EventJobVersion, Sink: sink, Event: o.EventOf(o.Outbox()[0])}
}

// delivered is what became of the paid event at sink.
func delivered(t *testing.T, l *ordertest.Ledger, sink string) order.SinkDelivery {
	for _, d := range l.Record(t, session).Outbox()[0].Sinks {
		if d.Sink == sink {
			return d
		}
	}
	t.Fatalf("no delivery to %s", sink)
	return order.SinkDelivery{}
}

func newStage(t *testing.T, l order.Records, sinks map[string]orderevents.Sink, now time.Time) *orderevents.Stage {
	st, err := orderevents.New(orderevents.Deps{Sinks: sinks, Records: l, Budget: budget, Now: func() time.Time { return now },
		Log: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	return st
}

func TestHandle(t *testing.T) {
	t1 := t0.Add(time.Minute)
	refused := order.Misconfigured(errors.New("webhooks: 401 Unauthorized"), "ORDER_EVENTS_SECRET")
	down := order.Transient(errors.New("webhooks: 503 Service Unavailable"))
	tests := []struct {
		name    string
		sinkErr error
		attempt delivery.Attempt
		class   order.Class
		want    order.SinkDelivery
	}{
		{"delivered", nil, delivery.Attempt{}, -1, order.SinkDelivery{Sink: hook, QueuedAt: t0, DeliveredAt: t1}},
		{"throttled: re-scheduled for the pause, no failure recorded", order.Throttled(errors.New("429"), time.Minute),
			delivery.Attempt{}, order.ClassThrottled, order.SinkDelivery{Sink: hook, QueuedAt: t0}},
		{"a refused secret: held, recorded", refused, delivery.Attempt{}, order.ClassMisconfigured,
			order.SinkDelivery{Sink: hook, QueuedAt: t0, Attempts: 1, Error: "deliver order event " + paidID + " to " + hook + ": webhooks: 401 Unauthorized", FailedAt: t1}},
		{"down: recorded, retried with back-off", down, delivery.Attempt{}, order.ClassTransient,
			order.SinkDelivery{Sink: hook, QueuedAt: t0, Attempts: 1, Error: "deliver order event " + paidID + " to " + hook + ": webhooks: 503 Service Unavailable", FailedAt: t1}},
		{"down past the retry budget: given up", down, delivery.Attempt{Retry: delivery.RetryPlan{Exhausted: true}}, order.ClassTransient,
			order.SinkDelivery{Sink: hook, QueuedAt: t0, Attempts: 1, Error: "deliver order event " + paidID + " to " + hook + ": webhooks: 503 Service Unavailable", FailedAt: t1, GaveUp: true}},
		{"refused for good: given up", order.Permanent(errors.New("webhooks: 410 Gone")), delivery.Attempt{}, order.ClassPermanent,
			order.SinkDelivery{Sink: hook, QueuedAt: t0, Attempts: 1, Error: "deliver order event " + paidID + " to " + hook + ": webhooks: 410 Gone", FailedAt: t1, GaveUp: true}},
		{"an error nobody classified: the host retries", errors.New("panic-ish"), delivery.Attempt{}, order.ClassRetryable,
			order.SinkDelivery{Sink: hook, QueuedAt: t0, Attempts: 1, Error: "deliver order event " + paidID + " to " + hook + ": panic-ish", FailedAt: t1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := ordertest.NewLedger(recorded())
			var got []order.Event
			sink := orderevents.SinkFunc(func(_ context.Context, e order.Event) error {
				got = append(got, e)
				return tc.sinkErr
			})
			st := newStage(t, l, map[string]orderevents.Sink{hook: sink}, t1)
			err := st.Handle(t.Context(), tc.attempt, job(hook))
			if tc.class < 0 {
				require.NoError(t, err)
			} else {
				require.Equal(t, tc.class, order.Classify(err), "%v", err)
				if s, ok := order.MisconfiguredSetting(err); ok {
					require.Equal(t, "ORDER_EVENTS_SECRET", s, "the alarm names the setting")
				}
			}
			require.Len(t, got, 1)
			require.Equal(t, job(hook).Event, got[0], "the event as queued")
			require.Equal(t, tc.want, delivered(t, l, hook))
			require.Equal(t, order.SinkDelivery{Sink: orderevents.DataverseSink, QueuedAt: t0}, delivered(t, l, orderevents.DataverseSink),
				"the other sink's delivery is its own")
		})
	}
}

// TestHandleTwice: a job delivered again (a crash after the delivery, a
// redrive) delivers the same event again, and changes nothing on the order.
func TestHandleTwice(t *testing.T) {
	l := ordertest.NewLedger(recorded())
	var ids []string
	sink := orderevents.SinkFunc(func(_ context.Context, e order.Event) error { ids = append(ids, e.ID); return nil })
	st := newStage(t, l, map[string]orderevents.Sink{hook: sink}, t0.Add(time.Minute))
	require.NoError(t, st.Handle(t.Context(), delivery.Attempt{}, job(hook)))
	first := l.Record(t, session)
	st = newStage(t, l, map[string]orderevents.Sink{hook: sink}, t0.Add(time.Hour))
	require.NoError(t, st.Handle(t.Context(), delivery.Attempt{}, job(hook)))
	require.Equal(t, []string{paidID, paidID}, ids, "the same id each time")
	require.Equal(t, first, l.Record(t, session), "recorded once")
}

func TestHandleUnknownSink(t *testing.T) {
	l := ordertest.NewLedger(recorded())
	st := newStage(t, l, map[string]orderevents.Sink{hook: orderevents.SinkFunc(func(context.Context, order.Event) error { return nil })}, t0)
	err := st.Handle(t.Context(), delivery.Attempt{}, job(orderevents.DataverseSink))
	require.True(t, order.IsPermanent(err), "%v", err)
	d := delivered(t, l, orderevents.DataverseSink)
	require.True(t, d.GaveUp)
	require.Contains(t, d.Error, "not configured")
}

// TestHandleRecordFails: a delivery whose outcome cannot be written is
// tried again (under the same id), not forgotten as undelivered.
func TestHandleRecordFails(t *testing.T) {
	l := ordertest.NewLedger(recorded())
	l.BeforeWrite = func(int, order.Order) error { return order.Transient(errors.New("table: 503")) }
	st := newStage(t, l, map[string]orderevents.Sink{hook: orderevents.SinkFunc(func(context.Context, order.Event) error { return nil })}, t0)
	err := st.Handle(t.Context(), delivery.Attempt{}, job(hook))
	require.Equal(t, order.ClassTransient, order.Classify(err), "%v", err)
}

// TestHandleAddsTheOrderPage: with the link opted in, each delivery carries
// the order page's link signed then; the queued event carries none.
func TestHandleAddsTheOrderPage(t *testing.T) {
	l := ordertest.NewLedger(recorded())
	var got order.Event
	sink := orderevents.SinkFunc(func(_ context.Context, e order.Event) error { got = e; return e.Validate() })
	st, err := orderevents.New(orderevents.Deps{Sinks: map[string]orderevents.Sink{hook: sink}, Records: l, Budget: budget,
		OrderPage: func(id string) string { return "https://shop.example/api/download/" + id + ".sig" }, Log: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	j := job(hook)
	require.Empty(t, j.Event.Order.PageURL)
	require.NoError(t, st.Handle(t.Context(), delivery.Attempt{}, j))
	require.Equal(t, "https://shop.example/api/download/"+session+".sig", got.Order.PageURL)
}

func TestWebhookSink(t *testing.T) {
	a := orderevents.WebhookSink("https://hooks.example/one?code=secret")
	require.Regexp(t, `^webhook:hooks\.example/[0-9a-f]{8}$`, a, "no path, no query")
	require.NotEqual(t, a, orderevents.WebhookSink("https://hooks.example/two"), "two receivers on one host differ")
	require.Equal(t, a, orderevents.WebhookSink("https://hooks.example/one?code=secret"), "stable")
	require.True(t, order.ValidSinkName(orderevents.WebhookSink("http://[::1]:8080/x")))
}

func TestNewNamesWhatIsMissing(t *testing.T) {
	ok := orderevents.Deps{Sinks: map[string]orderevents.Sink{"dataverse": orderevents.SinkFunc(nil)}, Records: ordertest.NewLedger(),
		Budget: budget, Log: slog.New(slog.DiscardHandler)}
	for missing, edit := range map[string]func(d *orderevents.Deps){
		"no Sinks":   func(d *orderevents.Deps) { d.Sinks = nil },
		"no Records": func(d *orderevents.Deps) { d.Records = nil },
		"no Log":     func(d *orderevents.Deps) { d.Log = nil },
		"budget":     func(d *orderevents.Deps) { d.Budget = delivery.Budget{} },
		"sink":       func(d *orderevents.Deps) { d.Sinks = map[string]orderevents.Sink{"a sink": orderevents.SinkFunc(nil)} },
	} {
		d := ok
		edit(&d)
		_, err := orderevents.New(d)
		require.ErrorContains(t, err, missing)
	}
	_, err := orderevents.New(ok)
	require.NoError(t, err)
}
