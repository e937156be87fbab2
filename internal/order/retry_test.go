package order_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

func TestClassifyTransient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want order.Class
	}{
		{"transient", fmt.Errorf("fetch: %w", order.Transient(errors.New("EOF"))), order.ClassTransient},
		{"unclassified stays the host's", errors.New("panic: boom"), order.ClassRetryable},
		{"throttled wins: Retry-After is honoured", order.Throttled(order.Transient(errors.New("429")), time.Second), order.ClassThrottled},
		{"permanent wins", order.Permanent(order.Transient(errors.New("x"))), order.ClassPermanent},
		{"misconfigured wins", order.Misconfigured(order.Transient(errors.New("401")), "K"), order.ClassMisconfigured},
		{"nil stays nil", order.Transient(nil), order.ClassRetryable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, order.Classify(tt.err))
		})
	}
	require.NoError(t, order.Transient(nil))
}

func TestBackoffPlan(t *testing.T) {
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	b := order.DefaultBackoff()
	tests := []struct {
		name          string
		r             order.Retry
		lo, hi        time.Duration
		wantN         int
		wantExhausted bool
	}{
		{"first failure: about a second", order.Retry{}, time.Second, time.Second, 1, false},
		{"fourth: 8 s less a quarter at most", order.Retry{N: 3, First: now.Add(-10 * time.Second)}, 6 * time.Second, 8 * time.Second, 4, false},
		{"capped at 15 minutes", order.Retry{N: 30, First: now.Add(-5 * time.Hour)}, 15 * time.Minute * 3 / 4, 15 * time.Minute, 31, false},
		{"huge counts do not overflow", order.Retry{N: 1 << 30, First: now.Add(-time.Hour)}, 15 * time.Minute * 3 / 4, 15 * time.Minute, 1<<30 + 1, false},
		{"budget spent after 24 h", order.Retry{N: 100, First: now.Add(-24 * time.Hour)}, 15 * time.Minute * 3 / 4, 15 * time.Minute, 101, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 50 { // the jitter stays in its range
				p := b.Plan(tt.r, now)
				require.GreaterOrEqual(t, p.Delay, tt.lo)
				require.LessOrEqual(t, p.Delay, tt.hi)
				require.Equal(t, now.Add(p.Delay), p.At)
				require.Equal(t, tt.wantN, p.Next.N)
				require.Equal(t, tt.wantExhausted, p.Exhausted)
				if tt.r.First.IsZero() {
					require.Equal(t, now, p.Next.First)
				} else {
					require.Equal(t, tt.r.First, p.Next.First)
				}
			}
		})
	}
}

func TestBackoffValidate(t *testing.T) {
	require.NoError(t, order.DefaultBackoff().Validate())
	require.ErrorContains(t, order.Backoff{Min: time.Millisecond, Max: time.Second, Budget: time.Hour}.Validate(), "under a second")
	require.ErrorContains(t, order.Backoff{Min: time.Minute, Max: time.Second, Budget: time.Hour}.Validate(), "shorter than the first")
	require.ErrorContains(t, order.Backoff{Min: time.Second, Max: time.Hour, Budget: time.Minute}.Validate(), "budget")
}

func TestRetryInMessages(t *testing.T) {
	first := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	old := []byte(`{"v":1,"event_id":"evt_1","event_type":"checkout.session.completed","session_id":"cs_test_1","created":1}`)

	m, err := order.DecodeProcessJob(old)
	require.NoError(t, err, "a message without retry still decodes")
	require.Nil(t, m.Retry)
	require.Equal(t, order.Retry{}, order.RetryOf(old))

	data, err := order.WithRetry(old, order.Retry{N: 2, First: first})
	require.NoError(t, err)
	require.Contains(t, string(data), `"retry":{"n":2,"first":"2025-03-14T09:00:00Z"}`, "stable names")
	m, err = order.DecodeProcessJob(data)
	require.NoError(t, err)
	require.Equal(t, &order.Retry{N: 2, First: first}, m.Retry)
	require.Equal(t, "evt_1", m.EventID)
	require.Equal(t, order.Retry{N: 2, First: first}, order.RetryOf(data))

	mail := order.MailJob{Version: 1, Kind: order.MailPaymentFailed, SessionID: "cs_test_1", Generation: 1,
		Customer: order.Customer{Email: "a@example.com"}}
	mb, _ := json.Marshal(mail)
	require.NotContains(t, string(mb), "retry", "omitted while unset")
	mb, err = order.WithRetry(mb, order.Retry{N: 1, First: first, Redrives: 2})
	require.NoError(t, err)
	got, err := order.DecodeMailJob(mb)
	require.NoError(t, err)
	require.Equal(t, &order.Retry{N: 1, First: first, Redrives: 2}, got.Retry)

	_, err = order.DecodeProcessJob([]byte(`{"v":1,"event_type":"checkout.session.completed","session_id":"cs_test_1","retry":{"n":-1}}`))
	require.ErrorContains(t, err, "negative")
	_, err = order.WithRetry([]byte(`not json`), order.Retry{N: 1})
	require.Error(t, err)
	_, err = order.WithRetry([]byte(`null`), order.Retry{N: 1})
	require.Error(t, err)
	require.Equal(t, order.Retry{}, order.RetryOf([]byte(`not json`)))
}

// TestGiveUpAndResume: an order that needs attention only because its retry
// budget was spent goes on once a step succeeds after all; one that needs
// a person does not.
func TestGiveUpAndResume(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var spent order.Order
	spent.GiveUp("gave up after 9 transient failures", now)
	require.True(t, spent.BudgetSpent)
	require.Equal(t, order.StateNeedsAttention, spent.State)
	spent.Resume(order.StatePaymentFailed)
	require.Equal(t, order.StatePaymentFailed, spent.State)
	require.Empty(t, spent.Reason)
	require.False(t, spent.BudgetSpent)

	var permanent order.Order
	permanent.GiveUp("gave up", now)
	permanent.NeedAttention("no customer email", now)
	require.False(t, permanent.BudgetSpent, "a permanent cause needs a person")
	permanent.Resume(order.StatePaymentFailed)
	require.Equal(t, order.StateNeedsAttention, permanent.State)
	require.Equal(t, "no customer email", permanent.Reason)
}
