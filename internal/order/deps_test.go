package order_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestImportsNothingOfOurs pins that the domain depends on no package of
// this module, and on no Azure, Stripe or HTTP package: every adapter
// translates into its types, never the other way. (Its tests may use
// ordertest.)
func TestImportsNothingOfOurs(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", "-f", "{{.ImportPath}}", ".").CombinedOutput()
	require.NoError(t, err, string(out))
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/filedrop/filedrop/internal/order", "go list listed the package itself")
	for _, dep := range deps {
		if dep == "github.com/filedrop/filedrop/internal/order" {
			continue
		}
		for _, banned := range []string{"github.com/filedrop/", "github.com/Azure/", "github.com/stripe/", "net/http"} {
			require.False(t, strings.HasPrefix(dep, banned), "internal/order depends on %s", dep)
		}
	}
}
