package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lv is a level of n requests at concurrency c over elapsed, every one
// taking lat except the slowest 2 %, which take slow, with process of
// CPU at cores.
func lv(c, n int, elapsed, lat, slow time.Duration, process string, cores float64) level {
	l := make([]time.Duration, n)
	for i := range l {
		l[i] = lat
		if i >= n-n/50 {
			l[i] = slow
		}
	}
	return level{Concurrency: c, result: newResult(n, 0, elapsed, l, ""), CPU: usage{process: cores}}
}

// TestTargetsPoolTheRounds: the targets are read from every request of
// every round (the pooled levels), and each round's own ratios are listed
// beside them.
func TestTargetsPoolTheRounds(t *testing.T) {
	ms := time.Millisecond
	// Round 1: the webhook's tail is 4 × the ceiling's, and it is at 90 %
	// of its rate; round 2: its tail is a quarter of the ceiling's, at
	// 100 %. Pooled, both sides have the same tails.
	rounds := []pair{
		{ceiling: lv(16, 1000, time.Second, ms, 10*ms, "bench", 0.25), webhook: lv(16, 1000, time.Second*10/9, ms, 40*ms, "handler", 0.36)},
		{ceiling: lv(16, 1000, time.Second, ms, 40*ms, "bench", 0.25), webhook: lv(16, 1000, time.Second, ms, 10*ms, "handler", 0.40)},
	}
	r := &report{rounds: [][]pair{rounds},
		enqueue: []level{merge([]level{rounds[0].ceiling, rounds[1].ceiling})},
		webhook: []webhookRun{{Name: "serve", Levels: []level{merge([]level{rounds[0].webhook, rounds[1].webhook})}}}}
	var b strings.Builder
	r.targets(func(format string, args ...any) { fmt.Fprintf(&b, format, args...) })
	var row string
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "| 16 |") {
			row = line
		}
	}
	require.NotEmpty(t, row, b.String())
	cells := strings.Split(strings.Trim(row, "| "), " | ")
	require.Len(t, cells, 7, row)
	// CPU: 0.36 × 10/9 s + 0.40 s over 2000 webhooks = 0.40 ms; the SDK's
	// 0.25 ms.
	assert.Equal(t, "0.40 ms ✓", cells[1])
	assert.Equal(t, "0.25 ms", cells[2])
	assert.Equal(t, "0.15 ms ✗", cells[3])
	// 2000 webhooks in 2.11 s against 2000 messages in 2 s.
	assert.Equal(t, "95 % ✓", cells[4])
	// The pooled p99 is 10 ms on both sides; the rounds' own were 4 and
	// 0.25.
	assert.Equal(t, "1.00 ✓", cells[5])
	assert.Equal(t, "90 %, 4.00; 100 %, 0.25", cells[6])
}
