package operator

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

func TestReconcile(t *testing.T) {
	now := time.Date(2024, 1, 20, 12, 0, 0, 0, time.UTC)
	since := now.Add(-72 * time.Hour)
	listed := func(id, status, payment string) stripeapi.ListedSession {
		return stripeapi.ListedSession{Session: stripeapi.Session{ID: id, PaymentStatus: payment}, Status: status}
	}
	const complete, expired = stripeapi.StatusComplete, stripeapi.StatusExpired
	const paid, unpaid = stripeapi.PaymentPaid, stripeapi.PaymentUnpaid
	sessions := []stripeapi.ListedSession{
		listed("cs_test_fulfilled", complete, paid),
		listed("cs_test_nowebhook", complete, paid),
		listed("cs_test_unpaid", complete, unpaid),
		listed("cs_test_abandoned", expired, unpaid),
		listed("cs_test_attention", complete, paid),
		listed("cs_test_asyncpaid", complete, paid),
		listed("cs_test_free", complete, stripeapi.PaymentNotRequired),
	}
	seed := []order.Order{
		order.Restore(order.Snapshot{SessionID: "cs_test_fulfilled", State: order.StateMailSent, MailKind: order.MailDownloadLinks, MailGeneration: 1, SentGeneration: 1}),
		order.Restore(order.Snapshot{SessionID: "cs_test_unpaid", State: order.StateAwaitingPayment}),
		order.Restore(order.Snapshot{SessionID: "cs_test_attention", State: order.StateNeedsAttention, Reason: "original missing"}),
		order.Restore(order.Snapshot{SessionID: "cs_test_asyncpaid", State: order.StateAwaitingPayment}),
	}
	wantQueued := map[string]string{
		"cs_test_nowebhook": order.EventCompleted,
		"cs_test_attention": order.EventCompleted,
		"cs_test_asyncpaid": order.EventAsyncPaymentSucceeded, // its success event was lost
		"cs_test_free":      order.EventCompleted,
	}
	wantSessions := []string{"cs_test_nowebhook", "cs_test_attention", "cs_test_asyncpaid", "cs_test_free"}
	boom := errors.New("boom")

	tests := []struct {
		name    string
		dryRun  bool
		getErr  error
		sendErr error
		want    Summary
		err     error
	}{
		{name: "queues exactly the unfulfilled paid sessions",
			want: Summary{Since: since, Seen: 7, Fulfilled: 1, Queued: 4, QueuedSessions: wantSessions, Skipped: map[string]int{"unpaid": 1, "expired": 1}}},
		{name: "a dry run queues nothing", dryRun: true,
			want: Summary{Since: since, DryRun: true, Seen: 7, Fulfilled: 1, Queued: 4, QueuedSessions: wantSessions, Skipped: map[string]int{"unpaid": 1, "expired": 1}}},
		{name: "the ledger fails: stops at the first session", getErr: boom, err: boom,
			want: Summary{Since: since, Seen: 1, QueuedSessions: []string{}, Skipped: map[string]int{}}},
		{name: "the queue fails: stops at the first to queue", sendErr: boom, err: boom,
			want: Summary{Since: since, Seen: 2, Fulfilled: 1, QueuedSessions: []string{}, Skipped: map[string]int{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, orders := newRecords(seed...), &memQueue{sendErr: tt.sendErr}
			recs.failGets(tt.getErr)
			var steps []int
			var asked time.Time
			list := func(ctx context.Context, s time.Time, fn func(stripeapi.ListedSession) error) error {
				asked = s
				return sessionsList(sessions...)(ctx, s, fn)
			}
			rc, err := NewReconciler(ReconcilerDeps{Stripe: listFunc(list), Records: recs, Orders: orders, Now: func() time.Time { return now }})
			require.NoError(t, err)
			got, err := rc.Reconcile(context.Background(), since, tt.dryRun, func(s Summary) { steps = append(steps, s.Seen) })
			require.ErrorIs(t, err, tt.err)
			require.Equal(t, tt.want, got)
			require.Equal(t, since, asked)
			require.Len(t, steps, got.Seen, "a step per session seen")
			if tt.dryRun || tt.err != nil {
				require.Empty(t, orders.texts(), "nothing queued")
				return
			}
			queued := map[string]string{}
			for _, data := range orders.data() {
				m, err := order.DecodeProcessJob(data)
				require.NoError(t, err)
				queued[m.SessionID] = m.EventType
				require.Equal(t, order.TriggerReconcile, m.Trigger)
				require.True(t, strings.HasPrefix(m.EventID, "evt_reconcile_"), m.EventID)
				require.Equal(t, now.Unix(), m.Created)
				require.False(t, m.Livemode)
				require.False(t, m.NewLinks)
			}
			require.Equal(t, wantQueued, queued)
			for _, s := range seed {
				require.Equal(t, s.State(), recs.get(s.SessionID).State(), "reconcile writes no record")
			}
		})
	}
}

func TestJudge(t *testing.T) {
	paid := func(status string) stripeapi.ListedSession {
		return stripeapi.ListedSession{Session: stripeapi.Session{ID: "cs_test_1", PaymentStatus: status}, Status: stripeapi.StatusComplete}
	}
	rec := func(state order.State, sent int, kind string) order.Order {
		return order.Restore(order.Snapshot{SessionID: "cs_test_1", ETag: "W/1", State: state, SentGeneration: sent, MailKind: kind})
	}
	live := paid(stripeapi.PaymentPaid)
	live.Livemode = true
	open := paid(stripeapi.PaymentUnpaid)
	open.Status = stripeapi.StatusOpen
	tests := []struct {
		name string
		s    stripeapi.ListedSession
		rec  order.Order
		want verdict
	}{
		{"paid, no record", paid(stripeapi.PaymentPaid), order.Order{}, verdict{eventType: order.EventCompleted}},
		{"free, no record", paid(stripeapi.PaymentNotRequired), order.Order{}, verdict{eventType: order.EventCompleted}},
		{"mail sent", paid(stripeapi.PaymentPaid), rec(order.StateMailSent, 1, order.MailDownloadLinks), verdict{fulfilled: true}},
		{"sent, then needs attention", paid(stripeapi.PaymentPaid), rec(order.StateNeedsAttention, 1, order.MailDownloadLinks), verdict{fulfilled: true}},
		{"links queued, not sent", paid(stripeapi.PaymentPaid), rec(order.StateLinksReady, 0, order.MailDownloadLinks), verdict{eventType: order.EventCompleted}},
		{"stuck in received", paid(stripeapi.PaymentPaid), rec(order.StateReceived, 0, ""), verdict{eventType: order.EventCompleted}},
		{"paid after awaiting", paid(stripeapi.PaymentPaid), rec(order.StateAwaitingPayment, 0, ""), verdict{eventType: order.EventAsyncPaymentSucceeded}},
		{"paid, but failed in the ledger", paid(stripeapi.PaymentPaid), rec(order.StatePaymentFailed, 1, order.MailPaymentFailed),
			verdict{skip: "paid in Stripe, payment failed in the ledger: see orders show"}},
		{"unpaid, awaiting", paid(stripeapi.PaymentUnpaid), rec(order.StateAwaitingPayment, 0, ""), verdict{skip: "unpaid"}},
		{"unpaid, failed", paid(stripeapi.PaymentUnpaid), rec(order.StatePaymentFailed, 1, order.MailPaymentFailed), verdict{skip: "unpaid"}},
		{"open", open, order.Order{}, verdict{skip: "open: checkout not completed"}},
		{"other mode", live, order.Order{}, verdict{skip: "live-mode session, test-mode key"}},
		{"unknown payment status", paid("later"), order.Order{}, verdict{skip: "payment status later"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, judge(tt.s, tt.rec, false))
		})
	}
}

// TestConstructorsNameWhatIsMissing: a Reconciler or Resender built without
// a dependency it needs is refused when it is built, naming it.
func TestConstructorsNameWhatIsMissing(t *testing.T) {
	recs, q := newRecords(), &memQueue{}
	list := sessionsList()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"reconciler", func() error {
			_, err := NewReconciler(ReconcilerDeps{Stripe: list, Records: recs, Orders: q})
			return err
		}(), ""},
		{"reconciler without Stripe", func() error { _, err := NewReconciler(ReconcilerDeps{Records: recs, Orders: q}); return err }(), "reconciler: no Stripe"},
		{"reconciler without a ledger", func() error { _, err := NewReconciler(ReconcilerDeps{Stripe: list, Orders: q}); return err }(), "reconciler: no Records"},
		{"reconciler without a queue", func() error { _, err := NewReconciler(ReconcilerDeps{Stripe: list, Records: recs}); return err }(), "reconciler: no Orders"},
		{"resender", func() error { _, err := NewResender(ResenderDeps{Records: recs, Mails: q, Orders: q}); return err }(), ""},
		{"resender without a ledger", func() error { _, err := NewResender(ResenderDeps{Mails: q, Orders: q}); return err }(), "resender: no Records"},
		{"resender without SendLink's queue", func() error { _, err := NewResender(ResenderDeps{Records: recs, Orders: q}); return err }(), "resender: no Mails"},
		{"resender without ProcessOrder's queue", func() error { _, err := NewResender(ResenderDeps{Records: recs, Mails: q}); return err }(), "resender: no Orders"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == "" {
				require.NoError(t, tt.err)
				return
			}
			require.EqualError(t, tt.err, tt.want)
		})
	}
}
