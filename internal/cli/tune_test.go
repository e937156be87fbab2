package cli

import (
	"log/slog"
	"math"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTuneGCLeavesTheOperatorsChoice(t *testing.T) {
	for _, tc := range []struct {
		name      string
		env       map[string]string
		wantTuned bool
	}{
		{"nothing set", map[string]string{}, true},
		{"GOGC set", map[string]string{"GOGC": "150"}, false},
		{"GOGC off", map[string]string{"GOGC": "off"}, false},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "1GiB"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			percent := debug.SetGCPercent(100)
			limit := debug.SetMemoryLimit(math.MaxInt64)
			t.Cleanup(func() {
				debug.SetGCPercent(percent)
				debug.SetMemoryLimit(limit)
			})
			require.Equal(t, tc.wantTuned, tuneGC(func(k string) string { return tc.env[k] }, slog.New(slog.DiscardHandler)))
			wantPercent, wantLimit := 100, int64(math.MaxInt64)
			if tc.wantTuned {
				wantPercent, wantLimit = gcPercent, gcMemoryLimit
			}
			require.Equal(t, wantPercent, debug.SetGCPercent(100))
			require.Equal(t, wantLimit, debug.SetMemoryLimit(-1))
		})
	}
}

func TestTuneProcsLeavesTheOperatorsChoice(t *testing.T) {
	for _, tc := range []struct {
		name      string
		env       map[string]string
		wantTuned bool
	}{
		{"nothing set", map[string]string{}, true},
		{"GOMAXPROCS set", map[string]string{"GOMAXPROCS": "4"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			procs := runtime.GOMAXPROCS(3)
			t.Cleanup(func() { runtime.GOMAXPROCS(procs) })
			require.Equal(t, tc.wantTuned, tuneProcs(func(k string) string { return tc.env[k] }, slog.New(slog.DiscardHandler)))
			want := 3
			if tc.wantTuned {
				want = servingProcs
			}
			require.Equal(t, want, runtime.GOMAXPROCS(0))
		})
	}
}
