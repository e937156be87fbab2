package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAssignsNoOrderState pins that the command-line package holds no
// order rule: it parses, calls operator or a stage, and prints. A state
// change written here would be a second home for the rules of the domain.
func TestAssignsNoOrderState(t *testing.T) {
	assign := regexp.MustCompile(`\.(State|MailGeneration|SentGeneration|Revoked\w*|AccessUntil)\s*(=[^=]|,[^=]*=[^=])`)
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		for i, line := range strings.Split(string(data), "\n") {
			require.False(t, assign.MatchString(line), "%s:%d assigns order state: %s", f, i+1, strings.TrimSpace(line))
		}
	}
}
