package catalog_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestImportsNoSDK pins that the catalog speaks to Stripe and storage only
// through its interfaces: it imports neither SDK nor the settings; the
// adapters translate their SDK's errors.
func TestImportsNoSDK(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-f", "{{join .Imports \"\\n\"}}", ".").CombinedOutput()
	require.NoError(t, err, string(out))
	imports := strings.Fields(string(out))
	require.Contains(t, imports, "github.com/filedrop/filedrop/internal/stripeapi", "go list listed the imports")
	for _, imp := range imports {
		for _, banned := range []string{"github.com/stripe/", "github.com/Azure/", "github.com/filedrop/filedrop/internal/config"} {
			require.False(t, strings.HasPrefix(imp, banned), "internal/catalog imports %s", imp)
		}
	}
}
