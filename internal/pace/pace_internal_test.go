package pace

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSlotsAreBounded: keys that never come back are forgotten.
func TestSlotsAreBounded(t *testing.T) {
	p := New(Limits{PerMinute: 60})
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for i := range maxSlots + 100 {
		p.Reserve(fmt.Sprint("k", i), now.Add(time.Duration(i)*time.Second))
	}
	require.LessOrEqual(t, len(p.slots), maxSlots)
	require.LessOrEqual(t, len(p.sent), maxSlots)
}
