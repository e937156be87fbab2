package functions_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestImportsNoInfrastructure pins that the protocol package stays free of
// the storage adapters, the Azure SDK and the wiring: the host emulator,
// which needs storage, lives in package hostemu.
func TestImportsNoInfrastructure(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", "-f", "{{.ImportPath}}", ".").CombinedOutput()
	require.NoError(t, err, string(out))
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/filedrop/filedrop/internal/functions", "go list listed the package itself")
	for _, dep := range deps {
		for _, banned := range []string{
			"github.com/filedrop/filedrop/internal/storage",
			"github.com/filedrop/filedrop/internal/config",
			"github.com/filedrop/filedrop/internal/functions/hostemu",
			"github.com/filedrop/filedrop/internal/app",
			"github.com/Azure/",
		} {
			require.False(t, strings.HasPrefix(dep, banned), "internal/functions depends on %s", dep)
		}
	}
}
