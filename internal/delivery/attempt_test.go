package delivery_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/delivery"
)

func TestAttemptOwner(t *testing.T) {
	tests := []struct {
		name string
		a    delivery.Attempt
		want string
	}{
		{"the message", delivery.Attempt{InvocationID: "inv-1", MessageID: "m-1"}, "message:m-1"},
		{"a re-scheduled copy continues its first delivery", delivery.Attempt{InvocationID: "inv-2", MessageID: "m-2", Continues: "message:m-1"}, "message:m-1"},
		{"no message id: the invocation", delivery.Attempt{InvocationID: "inv-1"}, "invocation:inv-1"},
		{"neither: the stage makes one up", delivery.Attempt{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.a.Owner())
		})
	}
}

// TestAttemptRetrying: the order records what the route planned, and a
// held order waits HoldDelay even for a zero Attempt.
func TestAttemptRetrying(t *testing.T) {
	first := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	plan := delivery.DefaultBackoff().Plan(delivery.Retry{N: 3, First: first}, first.Add(time.Minute))
	r := delivery.Attempt{Retry: plan}.Retrying()
	require.Equal(t, plan.At, r.At)
	require.Equal(t, 4, r.Failures)
	require.Equal(t, first, r.First)
	require.False(t, r.Exhausted)

	zero := delivery.Attempt{}.Retrying()
	require.True(t, zero.At.IsZero(), "no plan: a transient failure is recorded as any other")
	require.NotNil(t, zero.HoldDelay)
	require.LessOrEqual(t, zero.HoldDelay(2), 2*delivery.MinHold)
}
