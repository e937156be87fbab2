package delivery_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/order"
)

func TestBackoffPlan(t *testing.T) {
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	b := delivery.DefaultBackoff()
	tests := []struct {
		name          string
		r             delivery.Retry
		lo, hi        time.Duration
		wantN         int
		wantExhausted bool
	}{
		{"first failure: about a second", delivery.Retry{}, time.Second, time.Second, 1, false},
		{"fourth: 8 s less a quarter at most", delivery.Retry{N: 3, First: now.Add(-10 * time.Second)}, 6 * time.Second, 8 * time.Second, 4, false},
		{"capped at 15 minutes", delivery.Retry{N: 30, First: now.Add(-5 * time.Hour)}, 15 * time.Minute * 3 / 4, 15 * time.Minute, 31, false},
		{"huge counts do not overflow", delivery.Retry{N: 1 << 30, First: now.Add(-time.Hour)}, 15 * time.Minute * 3 / 4, 15 * time.Minute, 1<<30 + 1, false},
		{"budget spent after 24 h", delivery.Retry{N: 100, First: now.Add(-24 * time.Hour)}, 15 * time.Minute * 3 / 4, 15 * time.Minute, 101, true},
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
	require.NoError(t, delivery.DefaultBackoff().Validate())
	require.ErrorContains(t, delivery.Backoff{Min: time.Millisecond, Max: time.Second, Budget: time.Hour}.Validate(), "under a second")
	require.ErrorContains(t, delivery.Backoff{Min: time.Minute, Max: time.Second, Budget: time.Hour}.Validate(), "shorter than the first")
	require.ErrorContains(t, delivery.Backoff{Min: time.Second, Max: time.Hour, Budget: time.Minute}.Validate(), "budget")
}

func TestRetryInMessages(t *testing.T) {
	first := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	old := []byte(`{"v":1,"event_id":"evt_1","event_type":"checkout.session.completed","session_id":"cs_test_1","created":1}`)

	_, err := order.DecodeProcessJob(old)
	require.NoError(t, err, "a message without retry decodes")
	require.Equal(t, delivery.Retry{}, delivery.RetryOf(old))

	data, err := delivery.WithRetry(old, delivery.Retry{N: 2, First: first})
	require.NoError(t, err)
	require.Contains(t, string(data), `"retry":{"n":2,"first":"2025-03-14T09:00:00Z"}`, "stable names")
	m, err := order.DecodeProcessJob(data)
	require.NoError(t, err, "the job's decoder ignores the retry record")
	require.Equal(t, "evt_1", m.EventID)
	r, err := delivery.ReadRetry(data)
	require.NoError(t, err)
	require.Equal(t, delivery.Retry{N: 2, First: first}, r)

	mail := order.MailJob{Version: 1, Kind: order.MailPaymentFailed, SessionID: "cs_test_1", Generation: 1,
		Customer: order.Customer{Email: "a@example.com"}}
	mb, _ := json.Marshal(mail)
	require.NotContains(t, string(mb), "retry", "a job carries no retry record of its own")
	mb, err = delivery.WithRetry(mb, delivery.Retry{N: 1, First: first, Redrives: 2})
	require.NoError(t, err)
	_, err = order.DecodeMailJob(mb)
	require.NoError(t, err)
	require.Equal(t, delivery.Retry{N: 1, First: first, Redrives: 2}, delivery.RetryOf(mb))

	for _, bad := range []string{`{"retry":{"n":-1}}`, `{"retry":{"holds":-3}}`, `{"retry":"soon"}`, `{"retry":{"n":"1"}}`} {
		_, err = delivery.ReadRetry([]byte(bad))
		require.Error(t, err, bad)
		require.Equal(t, delivery.Retry{}, delivery.RetryOf([]byte(bad)))
	}
	_, err = delivery.ReadRetry([]byte(`{"retry":{"n":-1}}`))
	require.ErrorContains(t, err, "negative")
	for _, none := range []string{`not json`, `null`, `[1]`, `{"retry":null}`} {
		r, err := delivery.ReadRetry([]byte(none))
		require.NoError(t, err, none)
		require.Equal(t, delivery.Retry{}, r, none)
	}
	_, err = delivery.WithRetry([]byte(`not json`), delivery.Retry{N: 1})
	require.Error(t, err)
	_, err = delivery.WithRetry([]byte(`null`), delivery.Retry{N: 1})
	require.Error(t, err)
}

func TestHoldDelay(t *testing.T) {
	tests := []struct {
		holds    int
		min, max time.Duration
	}{
		{0, 750 * time.Millisecond, time.Second},
		{1, 750 * time.Millisecond, time.Second},
		{2, 1500 * time.Millisecond, 2 * time.Second},
		{4, 6 * time.Second, 8 * time.Second},
		{10, 384 * time.Second, 512 * time.Second},
		{11, delivery.MaxHold * 3 / 4, delivery.MaxHold},
		{64, delivery.MaxHold * 3 / 4, delivery.MaxHold},
		{1 << 30, delivery.MaxHold * 3 / 4, delivery.MaxHold},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.holds), func(t *testing.T) {
			for range 50 {
				d := delivery.HoldDelay(tt.holds)
				require.True(t, d >= tt.min && d <= tt.max, "HoldDelay(%d) = %s, want %s..%s", tt.holds, d, tt.min, tt.max)
			}
		})
	}
}
