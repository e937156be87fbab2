package processorder_test

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
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// TestRedriveHealsASpentRetryBudget: an order whose message outlasted the
// retry budget while Stripe was down needs attention and its message is
// poisoned; once Stripe is back, the Reconcile's redrive of that message
// (with a fresh budget) fulfils it. An order that needs a person for a
// permanent reason stays as it is.
func TestRedriveHealsASpentRetryBudget(t *testing.T) {
	tests := []struct {
		name string
		// first is what Stripe answers to the first delivery.
		first  func() (stripeapi.Session, error)
		healed bool
	}{
		{name: "the retry budget was spent", healed: true, first: func() (stripeapi.Session, error) {
			return stripeapi.Session{}, order.Transient(errors.New("stripe: 503 Service Unavailable"))
		}},
		{name: "no customer email", first: func() (stripeapi.Session, error) {
			s := paidSession()
			s.CustomerEmail = ""
			return s, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := ordertest.NewLedger()
			session := tt.first
			h := newHarness(recs, false, func() (stripeapi.Session, error) { return session() })
			msg := message(order.EventCompleted)
			spent := delivery.Attempt{InvocationID: "inv-1", MessageID: "msg-1", DequeueCount: 1, Log: slog.New(slog.DiscardHandler),
				Retry: delivery.RetryPlan{Next: delivery.Retry{N: 9, First: t0.Add(-25 * time.Hour)}, Exhausted: true}}
			require.Error(t, h.stage.Handle(context.Background(), spent, msg), "the route moves the message to the poison queue")
			require.Equal(t, order.StateNeedsAttention, recs.Record(t, sessionID).State())

			session = func() (stripeapi.Session, error) { return paidSession(), nil } // Stripe is back
			redrive := delivery.Attempt{InvocationID: "inv-2", MessageID: "msg-2", DequeueCount: 1, Log: slog.New(slog.DiscardHandler)}
			require.NoError(t, h.stage.Handle(context.Background(), redrive, msg), "the redriven message")

			rec := recs.Record(t, sessionID)
			if !tt.healed {
				require.Equal(t, order.StateNeedsAttention, rec.State(), "a person repairs it")
				require.Empty(t, h.queue.sent)
				return
			}
			require.Equal(t, order.StateLinksReady, rec.State())
			require.Empty(t, rec.Reason)
			require.Len(t, h.queue.sent, 1, "one mail queued")
			require.Empty(t, rec.LeaseOwner)
		})
	}
}
