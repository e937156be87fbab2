package scripts

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeGoFuzz stands in for go in scripts/fuzz.sh. It lists one fuzz target,
// and answers each fuzzing run with the next outcome of $FAKE_OUTCOMES
// (space-separated), recording the run in $FAKE_LOG. The failures print
// what Go 1.26's go test prints for them.
const fakeGoFuzz = `#!/usr/bin/env bash
case "$*" in
"test -list ^Fuzz ./...") printf 'FuzzThing\nok  \texample.com/thing\t0.010s\n'; exit 0 ;;
"test -run ^\$ -fuzz ^FuzzThing\$ -fuzztime 3s example.com/thing") ;;
*) echo "stand-in go: unexpected call: $*" >&2; exit 64 ;;
esac
echo run >> "$FAKE_LOG"
read -ra outcomes <<< "$FAKE_OUTCOMES"
n=$(wc -l < "$FAKE_LOG")
case "${outcomes[$((n - 1))]:-pass}" in
pass) printf 'fuzz: elapsed: 3s, execs: 100 (33/sec)\nPASS\nok  \texample.com/thing\t3.0s\n' ;;
race) printf -- '--- FAIL: FuzzThing (3.09s)\n    context deadline exceeded\nFAIL\nexit status 1\n'; exit 1 ;;
found) printf -- '--- FAIL: FuzzThing (0.50s)\n    --- FAIL: FuzzThing (0.00s)\n        thing_test.go:9: context deadline exceeded\n\n    Failing input written to testdata/fuzz/FuzzThing/5b2e\nFAIL\n'; exit 1 ;;
seed) printf -- 'failure while testing seed corpus entry: FuzzThing/seed#0\n--- FAIL: FuzzThing (0.00s)\nFAIL\n'; exit 1 ;;
esac
`

func TestFuzzScript(t *testing.T) {
	tests := []struct {
		name     string
		outcomes string
		runs     int
		fails    bool
		again    int // how many times the script says it runs the target again
	}{
		{"passes", "pass", 1, false, 0},
		{"deadline race, then passes", "race pass", 2, false, 1},
		{"deadline race twice, then passes", "race race pass", 3, false, 2},
		{"deadline race three times fails", "race race race pass", 3, true, 2},
		{"a failing input fails at once", "found pass", 1, true, 0},
		{"a failing seed fails at once", "seed pass", 1, true, 0},
		{"a failing input after a race fails", "race found pass", 2, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, bin := t.TempDir(), t.TempDir()
			script, err := os.ReadFile("fuzz.sh")
			require.NoError(t, err)
			require.NoError(t, os.Mkdir(filepath.Join(root, "scripts"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(root, "scripts", "fuzz.sh"), script, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(bin, "go"), []byte(fakeGoFuzz), 0o755))
			log := filepath.Join(root, "runs.log")

			cmd := exec.Command("bash", filepath.Join(root, "scripts", "fuzz.sh"), "3")
			cmd.Env = append(os.Environ(),
				"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
				"FAKE_LOG="+log, "FAKE_OUTCOMES="+tt.outcomes)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err = cmd.Run()

			runs, rerr := os.ReadFile(log)
			require.NoError(t, rerr)
			require.Equal(t, tt.runs, strings.Count(string(runs), "run\n"), "fuzzing runs")
			require.Equal(t, tt.again, strings.Count(stdout.String(), "running it again"), "stdout:\n%s", stdout.String())
			if !tt.fails {
				require.NoError(t, err, "stderr:\n%s", stderr.String())
				require.Contains(t, stdout.String(), "fuzz: all 1 target(s) passed")
				return
			}
			var exit *exec.ExitError
			require.True(t, errors.As(err, &exit), "the script should fail: %v", err)
			require.Equal(t, 1, exit.ExitCode())
			require.Contains(t, stderr.String(), "FuzzThing in example.com/thing")
		})
	}
}
