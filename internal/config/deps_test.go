package config_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNoAdapterImportsConfig pins that the settings reach the adapters only
// through the wiring (internal/app), which maps them onto each adapter's own
// options: no adapter package, nor its tests, depends on this package.
func TestNoAdapterImportsConfig(t *testing.T) {
	const module = "github.com/filedrop/filedrop/internal/"
	adapters := []string{module + "storage/...", module + "stripeapi/...", module + "mail/...", module + "webhooks/...", module + "dataverse/..."}
	args := append([]string{"list", "-f", "{{.ImportPath}}:{{range .Deps}} {{.}}{{end}}{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}"}, adapters...)
	out, err := exec.CommandContext(t.Context(), "go", args...).CombinedOutput()
	require.NoError(t, err, string(out))
	listed := map[string]bool{}
	for line := range strings.Lines(string(out)) {
		pkg, deps, found := strings.Cut(strings.TrimSpace(line), ":")
		require.True(t, found, "go list printed %q", line)
		listed[pkg] = true
		for _, dep := range strings.Fields(deps) {
			require.NotEqual(t, module+"config", dep, "adapter %s depends on internal/config", pkg)
		}
	}
	for _, pkg := range []string{"storage", "storage/blobstore", "storage/ledger", "stripeapi", "mail", "mail/acs", "mail/smtpmail", "mail/outbox", "webhooks", "dataverse", "dataverse/dataversetest"} {
		require.True(t, listed[module+pkg], "go list listed %s", pkg)
	}
}
