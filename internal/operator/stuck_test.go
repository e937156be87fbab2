package operator

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
)

func TestFindPoisoned(t *testing.T) {
	at := time.Date(2024, 1, 20, 12, 0, 0, 0, time.UTC)
	b64 := base64.StdEncoding.EncodeToString
	orderMsg, err := json.Marshal(order.ProcessJob{Version: 1, EventID: "evt_1", EventType: order.EventCompleted,
		SessionID: "cs_test_1", Created: at.Unix(), Trigger: order.TriggerWebhook})
	require.NoError(t, err)
	orders, mails := &memQueue{}, &memQueue{}
	orders.put(b64(orderMsg), at)
	orders.put(b64([]byte("not an order")), at)
	mails.put(b64(downloadMail(t, "cs_test_2", 1, at.Add(time.Hour))), at.Add(time.Minute))
	for range PeekMax {
		mails.put(b64([]byte("{}")), at)
	}

	idx, err := FindPoisoned(context.Background(), []PoisonSource{
		{Function: "ProcessOrder", Queue: "process-order", PoisonQueue: "process-order-poison", Carries: ProcessJobs, Messages: orders},
		{Function: "SendLink", Queue: "send-link", PoisonQueue: "send-link-poison", Carries: MailJobs, Messages: mails},
	})
	require.NoError(t, err)
	require.Equal(t, map[string][]Poisoned{
		"cs_test_1": {{Function: "ProcessOrder", Queue: "process-order", PoisonQueue: "process-order-poison", PoisonedAt: at}},
		"cs_test_2": {{Function: "SendLink", Queue: "send-link", PoisonQueue: "send-link-poison", PoisonedAt: at.Add(time.Minute)}},
	}, idx.Sessions)
	require.Equal(t, 1, idx.Unseen, "the one message beyond PeekMax")

	t.Run("a queue that cannot be read", func(t *testing.T) {
		_, err := FindPoisoned(context.Background(), []PoisonSource{{PoisonQueue: "process-order-poison", Messages: &failingPeeker{}}})
		require.ErrorContains(t, err, "peek process-order-poison: queue down")
	})
}

// failingPeeker is a queue that cannot be read.
type failingPeeker struct{ memQueue }

func (*failingPeeker) Count(context.Context) (int, error) { return 0, errors.New("queue down") }

func TestDiagnose(t *testing.T) {
	now := time.Date(2024, 1, 20, 12, 0, 0, 0, time.UTC)
	old := now.Add(-time.Hour)
	po := Poisoned{Function: "ProcessOrder", Queue: "process-order", PoisonQueue: "process-order-poison", PoisonedAt: old}
	newer := Poisoned{Function: "SendLink", Queue: "send-link", PoisonQueue: "send-link-poison", PoisonedAt: old.Add(time.Minute)}
	received := order.Restore(order.Snapshot{SessionID: "cs_test_1", State: order.StateReceived, LastError: "stripe answered 500", Attempts: 5,
		CreatedAt: old, UpdatedAt: old})
	with := func(f func(o *order.Order)) order.Order {
		o := received
		f(&o)
		return o
	}
	tests := []struct {
		name     string
		rec      order.Order
		poisoned []Poisoned
		want     *Stuck
	}{
		{name: "poisoned", rec: received, poisoned: []Poisoned{po}, want: &Stuck{Poisoned: &po, Since: old, Fix: "poison redrive --queue process-order"}},
		{name: "the newest poisoned message", rec: received, poisoned: []Poisoned{po, newer},
			want: &Stuck{Poisoned: &newer, Since: old, Fix: "poison redrive --queue send-link"}},
		{name: "poisoned, the record dated a little later by a clock ahead", rec: with(func(o *order.Order) { o.UpdatedAt = old.Add(30 * time.Second) }),
			poisoned: []Poisoned{po}, want: &Stuck{Poisoned: &po, Since: old.Add(30 * time.Second), Fix: "poison redrive --queue process-order"}},
		{name: "a newer message works on it since", rec: with(func(o *order.Order) { o.UpdatedAt = now.Add(-time.Minute) }), poisoned: []Poisoned{po}},
		{name: "a newer message stalled since", rec: with(func(o *order.Order) { o.UpdatedAt = old.Add(30 * time.Minute) }), poisoned: []Poisoned{po},
			want: &Stuck{Since: old.Add(30 * time.Minute), Fix: "reconcile"}},
		{name: "poisoned but leased again", rec: with(func(o *order.Order) { o.Lease("inv-2", now, 2*time.Minute) }), poisoned: []Poisoned{po}},
		{name: "a final order's poisoned duplicate is harmless", rec: with(func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State = order.StateMailSent })
		}), poisoned: []Poisoned{po}},
		{name: "stalled before its mail", rec: received, want: &Stuck{Since: old, Fix: "reconcile"}},
		{name: "stalled with an expired lease", rec: with(func(o *order.Order) { o.Lease("inv-1", old, 2*time.Minute) }),
			want: &Stuck{Since: old, Fix: "reconcile"}},
		{name: "stalled beyond reconcile's window", rec: with(func(o *order.Order) { o.CreatedAt = now.Add(-100 * time.Hour) }),
			want: &Stuck{Since: old, Fix: "reconcile --since 124h"}},
		{name: "stalled with its mail queued", rec: with(func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State, s.MailGeneration = order.StateLinksReady, 1 })
		}),
			want: &Stuck{Since: old, Fix: "resend cs_test_1"}},
		{name: "being retried", rec: with(func(o *order.Order) { o.UpdatedAt = now.Add(-time.Minute) })},
		{name: "leased", rec: with(func(o *order.Order) { o.Lease("inv-1", now, 2*time.Minute) })},
		{name: "throttled", rec: with(func(o *order.Order) { o.ThrottledUntil = now.Add(time.Hour) })},
		{name: "held by a refused setting, waiting its next attempt", rec: with(func(o *order.Order) { o.Holds, o.HeldUntil = 11, now.Add(10*time.Minute) })},
		{name: "final", rec: with(func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State = order.StateNeedsAttention })
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diagnose(tt.rec, tt.poisoned, now)
			require.Equal(t, tt.want, got)
			if got != nil {
				require.Equal(t, map[bool]string{true: "poisoned", false: "stalled"}[got.Poisoned != nil], got.Condition())
			}
		})
	}
}
