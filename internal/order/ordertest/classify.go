package ordertest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

// RequireClass fails t unless err is classified as want (order.Classify);
// a misconfigured error must also name setting, a throttled one ask for
// the pause after. The adapters' tests check their errors with it.
func RequireClass(t testing.TB, err error, want order.Class, setting string, after time.Duration) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, want, order.Classify(err), "%v", err)
	switch want {
	case order.ClassMisconfigured:
		got, _ := order.MisconfiguredSetting(err)
		require.Equal(t, setting, got, "the setting named")
	case order.ClassThrottled:
		got, _ := order.RetryAfter(err)
		require.Equal(t, after, got, "the pause asked for")
	}
}
