package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// load is a level of 1000 requests in a second, each taking lat, whose
// handler used cpu per request.
func load(lat, cpu time.Duration) level {
	l := make([]time.Duration, 1000)
	for i := range l {
		l[i] = lat
	}
	return level{result: newResult(1000, 0, time.Second, l, ""), CPU: usage{of: map[string]time.Duration{"handler": 1000 * cpu}, wall: time.Second}}
}

// TestGuardShowsTheMediansSideBySide: each variant's column holds the
// median of its rounds, marked against the target, whichever round was
// an outlier.
func TestGuardShowsTheMediansSideBySide(t *testing.T) {
	ms := time.Millisecond
	us := time.Microsecond
	r := &report{
		opts: options{variants: []variant{{label: "before"}, {label: "after"}}, concurrency: []int{16}, rounds: 3, requests: 1000, coldStarts: 3},
		webhook: webhookRounds{
			ceiling: [][]level{{load(ms, 0), load(ms, 0), load(ms, 0)}},
			webhook: [][][]level{
				{{load(2*ms, 300*us), load(9*ms, 900*us), load(3*ms, 400*us)}},
				{{load(2*ms, 460*us), load(2*ms, 500*us), load(3*ms, 100*us)}},
			},
			peakRSS: []int64{40e6, 30e6},
		},
		starts: []startUp{
			{ready: []time.Duration{10 * ms, 900 * ms, 20 * ms}, rss: []int64{17e6, 18e6, 90e6}},
			{ready: []time.Duration{60 * ms, 55 * ms, 5 * ms}, rss: []int64{31e6, 31e6, 1e6}},
		},
	}
	var b strings.Builder
	r.guard(func(format string, args ...any) { fmt.Fprintf(&b, format, args...) })
	rows := map[string][]string{}
	for line := range strings.SplitSeq(b.String(), "\n") {
		if cells := strings.Split(strings.Trim(line, "| "), " | "); len(cells) >= 3 {
			rows[cells[0]] = cells[1:]
		}
	}
	require.Equal(t, []string{"0.40 ms ✓", "0.46 ms ✗", "≤ 0.45 ms"}, rows["CPU per webhook at 16"], b.String())
	require.Equal(t, []string{"1000", "1000"}, rows["req/s at 16"])
	require.Equal(t, []string{"3.00", "2.00"}, rows["p50 (ms) at 16"])
	require.Equal(t, []string{"18.0 MB ✓", "31.0 MB ✗", "< 30 MB"}, rows["idle RSS after start"])
	require.Equal(t, []string{"20.0 ms ✓", "55.0 ms ✗", "< 50 ms"}, rows["ready after exec"])
}
