package operator

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// sweepWorld is a ledger, Stripe's sessions and a poison queue as a
// scheduled Reconcile run finds them.
type sweepWorld struct {
	now     time.Time
	recs    *memRecords
	orders  *memQueue // ProcessOrder's queue
	poison  *memQueue // its poison queue
	list    listFunc
	expects map[string]int // poisoned message text -> redrives it should come back with (-1: stays)
}

func newSweepWorld() *sweepWorld {
	now := time.Date(2024, 1, 20, 12, 0, 0, 0, time.UTC)
	paid := func(id string, age time.Duration) stripeapi.ListedSession {
		return stripeapi.ListedSession{Session: stripeapi.Session{ID: id, PaymentStatus: stripeapi.PaymentPaid},
			Status: stripeapi.StatusComplete, Created: now.Add(-age)}
	}
	w := &sweepWorld{now: now, orders: &memQueue{}, poison: &memQueue{}, expects: map[string]int{},
		list: sessionsList(
			paid("cs_test_nowebhook", time.Hour),
			paid("cs_test_young", time.Minute),
			paid("cs_test_waiting", time.Hour),
			paid("cs_test_attention", time.Hour),
			paid("cs_test_recent", time.Hour),
			paid("cs_test_lost", 5*time.Hour),
			paid("cs_test_done", time.Hour),
		),
		recs: newRecords(
			order.Restore(order.Snapshot{SessionID: "cs_test_waiting", State: order.StateReceived, RetryAt: now.Add(10 * time.Minute), UpdatedAt: now.Add(-time.Hour)}),
			order.Restore(order.Snapshot{SessionID: "cs_test_attention", State: order.StateNeedsAttention, UpdatedAt: now.Add(-time.Hour)}),
			order.Restore(order.Snapshot{SessionID: "cs_test_recent", State: order.StateLinksReady, UpdatedAt: now.Add(-time.Minute)}),
			// Its back-off ended hours ago and nothing came of it: the
			// message is lost.
			order.Restore(order.Snapshot{SessionID: "cs_test_lost", State: order.StateReceived, RetryAt: now.Add(-4 * time.Hour), UpdatedAt: now.Add(-4 * time.Hour)}),
			order.Restore(order.Snapshot{SessionID: "cs_test_done", State: order.StateMailSent, MailKind: order.MailDownloadLinks, SentGeneration: 1}),
		),
	}
	msg := func(id string, r *delivery.Retry) string {
		b, _ := json.Marshal(order.ProcessJob{Version: 1, EventID: "evt_" + id, EventType: order.EventCompleted, SessionID: "cs_test_" + id})
		if r != nil {
			b, _ = delivery.WithRetry(b, *r)
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	long := now.Add(-time.Hour)
	for _, p := range []struct {
		text string
		want int
	}{
		{msg("crashed", nil), 1},
		{msg("again", &delivery.Retry{N: 4, First: long, Redrives: 2}), 3},
		{msg("hopeless", &delivery.Retry{Redrives: delivery.MaxRedrives}), -1},
		{base64.StdEncoding.EncodeToString([]byte(`{"v":1,"session_id":"nonsense"}`)), -1},
		{"not base64!", -1},
	} {
		w.poison.put(p.text, long)
		w.expects[p.text] = p.want
	}
	return w
}

func (w *sweepWorld) sweep() *Sweep {
	return &Sweep{
		Reconciler: must(NewReconciler(ReconcilerDeps{Stripe: w.list, Records: w.recs, Orders: w.orders, Now: func() time.Time { return w.now }})),
		Poison:     []PoisonedQueue{{Function: "ProcessOrder", Carries: ProcessJobs, Poison: w.poison, Queue: w.orders}},
		Window:     72 * time.Hour, Grace: 10 * time.Minute,
		Now: func() time.Time { return w.now },
	}
}

// check verifies the queues after any number of sweeps that ran at once:
// the lost and never-delivered sessions queued (at most runs times), each
// redrivable message moved back exactly once with its redrive counted, the
// others left poisoned.
func (w *sweepWorld) check(t *testing.T, runs int) {
	t.Helper()
	queued := map[string]int{}
	redriven := map[string]int{}
	for _, data := range w.orders.data() {
		m, err := order.DecodeProcessJob(data)
		require.NoError(t, err)
		if m.Trigger == order.TriggerReconcile {
			queued[m.SessionID]++
			continue
		}
		redriven[m.SessionID]++
		r, err := delivery.ReadRetry(data)
		require.NoError(t, err)
		require.NotZero(t, r.Redrives, "a redrive is counted")
		require.Zero(t, r.N, "a redrive gets a fresh budget")
		require.True(t, r.First.IsZero())
	}
	require.ElementsMatch(t, []string{"cs_test_nowebhook", "cs_test_lost"}, keys(queued))
	for id, n := range queued {
		require.LessOrEqual(t, n, runs, "%s queued more often than sweeps ran", id)
	}
	require.Equal(t, map[string]int{"cs_test_crashed": 1, "cs_test_again": 1}, redriven, "each redriven exactly once")
	left := 0
	for _, want := range w.expects {
		if want < 0 {
			left++
		}
	}
	require.Len(t, w.poison.texts(), left, "the hopeless and undecodable stay poisoned")
}

func keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestSweep(t *testing.T) {
	w := newSweepWorld()
	sum, err := w.sweep().Run(context.Background())
	require.NoError(t, err)
	w.check(t, 1)
	require.Equal(t, 7, sum.Reconcile.Seen)
	require.Equal(t, 1, sum.Reconcile.Fulfilled)
	require.Equal(t, 2, sum.Reconcile.Queued)
	require.Equal(t, 2, sum.Redriven)
	require.Equal(t, map[string]int{
		"created within the grace period: its webhook may be on its way": 1,
		"in progress: waiting for a retry after a transient failure":     1,
		"needs attention: see orders list --status needs_attention":      1,
		"in progress: changed within the grace period":                   1,
		"poisoned message redriven 3 times already: see poison show":     1,
		"poisoned message that does not decode: see poison show":         2,
	}, sum.Skipped)
	for _, data := range w.orders.data() {
		if m, _ := order.DecodeProcessJob(data); m.SessionID == "cs_test_again" {
			require.Equal(t, 3, delivery.RetryOf(data).Redrives)
		}
	}
}

func TestSweepGoesOnWhenTheLedgerIsBusy(t *testing.T) {
	w := newSweepWorld()
	busy := errors.New("storage answered 503 ServerBusy")
	w.recs.BeforeGet = func(n int) error {
		if n == 1 {
			return busy // the first session's record only
		}
		return nil
	}
	sum, err := w.sweep().Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, sum.Skipped["ledger unreadable: tried again next run"])
	require.Equal(t, 7, sum.Reconcile.Seen)
	require.Equal(t, 1, sum.Reconcile.Queued, "the other unfulfilled session is queued all the same")
}

func TestSweepGoesOnWhenStripeIsDown(t *testing.T) {
	w := newSweepWorld()
	down := errors.New("stripe answered 503")
	w.list = func(context.Context, time.Time, func(stripeapi.ListedSession) error) error { return down }
	sum, err := w.sweep().Run(context.Background())
	require.ErrorIs(t, err, down)
	require.Equal(t, 2, sum.Redriven, "the poison queue is redriven all the same")
}

// refusing is a queue that refuses the messages refuse picks, as a queue
// refuses one over its size limit, and takes the others.
type refusing struct {
	Sender
	refuse func(data []byte) error
}

func (q refusing) Send(ctx context.Context, data []byte, delay time.Duration) error {
	if err := q.refuse(data); err != nil {
		return err
	}
	return q.Sender.Send(ctx, data, delay)
}

func TestSweepSkipsAPoisonedMessageItCannotMove(t *testing.T) {
	tooBig := errors.New("send to process-order: message of 49153 bytes is over the 49152-byte limit")
	tests := []struct {
		name      string
		sendErr   func(data []byte) error
		redriven  int
		unmovable int
	}{
		{name: "the queue refuses one message", redriven: 1, unmovable: 1, sendErr: func(data []byte) error {
			if m, _ := order.DecodeProcessJob(data); m.SessionID == "cs_test_crashed" {
				return tooBig
			}
			return nil
		}},
		{name: "the queue refuses every message", redriven: 0, unmovable: 2, sendErr: func([]byte) error { return tooBig }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newSweepWorld()
			sw := w.sweep()
			sw.Poison[0].Queue = refusing{Sender: w.orders, refuse: tt.sendErr}
			sum, err := sw.Run(context.Background())
			require.ErrorIs(t, err, tooBig, "the run says what it could not move")
			require.Equal(t, tt.redriven, sum.Redriven, "the others are moved all the same")
			require.Equal(t, tt.unmovable, sum.Skipped["poisoned message that could not be moved back: see poison show"])
			require.Equal(t, 2, sum.Reconcile.Queued)
		})
	}
}

// Two scheduled runs that overlap (a past-due run beside the next, two
// instances) double nothing: each poisoned message is moved once, and a
// session both queue is queued with the same trigger, which ProcessOrder
// fulfils once (TestOverlappingReconcilesQueueOneMail in processorder).
func TestSweepOverlap(t *testing.T) {
	w := newSweepWorld()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = w.sweep().Run(context.Background())
		}()
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	w.check(t, 2)
}

// must returns v, or panics with err.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
