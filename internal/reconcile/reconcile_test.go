package reconcile_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/operator"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/reconcile"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

var now = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

// listFunc lists Checkout Sessions (operator.SessionLister).
type listFunc func(ctx context.Context, since time.Time, fn func(stripeapi.ListedSession) error) error

func (f listFunc) ListSessions(ctx context.Context, since time.Time, fn func(stripeapi.ListedSession) error) error {
	return f(ctx, since, fn)
}

// paid lists n paid sessions created an hour ago.
func paid(n int) listFunc {
	return func(_ context.Context, _ time.Time, fn func(stripeapi.ListedSession) error) error {
		for i := range n {
			s := stripeapi.ListedSession{Session: stripeapi.Session{ID: fmt.Sprintf("cs_test_%03d", i), PaymentStatus: stripeapi.PaymentPaid},
				Status: stripeapi.StatusComplete, Created: now.Add(-time.Hour)}
			if err := fn(s); err != nil {
				return err
			}
		}
		return nil
	}
}

// queue keeps what is sent to it (operator.Sender).
type queue struct {
	mu   sync.Mutex
	sent [][]byte
}

func (q *queue) Send(_ context.Context, data []byte, _ time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sent = append(q.sent, data)
	return nil
}

func TestHandle(t *testing.T) {
	down := errors.New("stripe answered 503")
	tests := []struct {
		name       string
		list       listFunc
		pastDue    bool
		wantErr    error
		wantQueued int
		wantLine   []string
	}{
		{name: "lost sessions are queued", list: paid(2), wantQueued: 2,
			wantLine: []string{`level=INFO msg="reconcile run"`, "past_due=false", "window=72h0m0s", "seen=2", "queued=2",
				"queued_sessions=\"[cs_test_000 cs_test_001]\""}},
		{name: "a past-due run says so", list: paid(0), pastDue: true, wantLine: []string{`msg="reconcile run"`, "past_due=true", "seen=0"}},
		{name: "the line names at most MaxLoggedSessions sessions", list: paid(reconcile.MaxLoggedSessions + 5),
			wantQueued: reconcile.MaxLoggedSessions + 5, wantLine: []string{"queued=105", "cs_test_099]"}},
		{name: "Stripe down: incomplete, with the error", list: func(context.Context, time.Time, func(stripeapi.ListedSession) error) error { return down },
			wantErr: down, wantLine: []string{`level=WARN msg="reconcile run incomplete"`, `err="reconcile: stripe answered 503"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orders := &queue{}
			rc, err := operator.NewReconciler(operator.ReconcilerDeps{Stripe: tt.list, Records: ordertest.NewLedger(), Orders: orders,
				Now: func() time.Time { return now }})
			require.NoError(t, err)
			st, err := reconcile.New(reconcile.Deps{Reconciler: rc, Window: 72 * time.Hour, Grace: 10 * time.Minute, Now: func() time.Time { return now }})
			require.NoError(t, err)
			var logs bytes.Buffer

			err = st.Handle(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)), functions.Timer{IsPastDue: tt.pastDue})

			require.ErrorIs(t, err, tt.wantErr)
			require.Len(t, orders.sent, tt.wantQueued)
			for _, data := range orders.sent {
				m, err := order.DecodeProcessJob(data)
				require.NoError(t, err)
				require.Equal(t, order.TriggerReconcile, m.Trigger)
			}
			require.Equal(t, 1, strings.Count(logs.String(), "\n"), "one line a run: %s", logs.String())
			for _, want := range tt.wantLine {
				require.Contains(t, logs.String(), want)
			}
			if tt.wantQueued > reconcile.MaxLoggedSessions {
				require.NotContains(t, logs.String(), fmt.Sprintf("cs_test_%03d", reconcile.MaxLoggedSessions))
			}
		})
	}
}

func TestNewNamesWhatIsMissing(t *testing.T) {
	_, err := reconcile.New(reconcile.Deps{Window: time.Hour})
	require.EqualError(t, err, "reconcile: no Reconciler")
}

// TestHandleQueuesWaitingEvents: the order events whose writer stopped
// after its write are queued once they have waited longer than the grace;
// those still within it are left to their writer.
func TestHandleQueuesWaitingEvents(t *testing.T) {
	waiting := func(id string, at time.Time) order.Order {
		return order.Restore(order.Snapshot{SessionID: id, State: order.StateMailSent, CreatedAt: at,
			Outbox: []order.OutboxEvent{{ID: order.NewEventID(id, order.TypePaid, ""), Type: order.TypePaid, At: at, State: order.StateMailSent}}})
	}
	led := ordertest.NewLedger(waiting("cs_test_old", now.Add(-time.Hour)), waiting("cs_test_new", now.Add(-time.Minute)))
	events := &queue{}
	pub := &order.Publisher{Records: led, Queue: events, Sinks: []string{"dataverse", "webhook:hooks.example/1a2b3c4d"}}
	rc, err := operator.NewReconciler(operator.ReconcilerDeps{Stripe: paid(0), Records: led, Orders: &queue{}, Now: func() time.Time { return now }})
	require.NoError(t, err)
	st, err := reconcile.New(reconcile.Deps{Reconciler: rc, Window: 72 * time.Hour, Grace: 10 * time.Minute, Events: pub, Orders: led,
		Now: func() time.Time { return now }})
	require.NoError(t, err)
	var logs bytes.Buffer
	require.NoError(t, st.Handle(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)), functions.Timer{}))

	require.Len(t, events.sent, 2, "the old order's event, for each sink")
	for _, data := range events.sent {
		j, err := order.DecodeEventJob(data)
		require.NoError(t, err)
		require.Equal(t, "cs_test_old", j.Event.Order.SessionID)
	}
	require.Empty(t, led.Record(t, "cs_test_old").Unpublished(pub.Sinks))
	require.Len(t, led.Record(t, "cs_test_new").Unpublished(pub.Sinks), 2, "within the grace: its writer queues it")
	require.Contains(t, logs.String(), "event_orders=1 events_queued=2")
}
