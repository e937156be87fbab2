package cli

import (
	"log/slog"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

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
