package app_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/filedrop/filedrop"

// imports lists what each package of the module imports (its own files,
// not its tests'), from go list.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"/...").CombinedOutput()
	require.NoError(t, err, string(out))
	pkgs := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		require.NotEmpty(t, fields)
		pkgs[strings.TrimPrefix(fields[0], module+"/")] = fields[1:]
	}
	return pkgs
}

// adapters are the packages that speak to an outside system, and the SDKs
// they wrap.
var adapters = []string{
	module + "/internal/storage", module + "/internal/stripeapi", module + "/internal/mail", module + "/internal/webhooks",
	module + "/internal/dataverse", module + "/internal/orderlink", module + "/internal/pace", module + "/internal/functions/hostemu",
	"github.com/Azure/", "github.com/stripe/",
}

// stages are the functions' packages.
var stages = []string{"internal/checkoutcomplete", "internal/processorder", "internal/sendlink", "internal/download", "internal/reconcile",
	"internal/deliveryreport", "internal/orderevents"}

// TestLayering pins the arrows of docs/architecture.md that the
// packages' own tests (TestNoAdapterImportsConfig,
// TestImportsNoInfrastructure, TestImportsNoSDK) do not: the domain imports
// nothing of ours; the command line goes through app and reaches no
// adapter; the stages import no SDK and none of the wiring; the host
// mechanics sit on the domain alone and the masking type on nothing; and
// only the command line imports app.
func TestLayering(t *testing.T) {
	pkgs := imports(t)
	wiring := []string{module + "/internal/app", module + "/internal/cli", module + "/internal/config"}
	tests := []struct {
		name   string
		pkgs   []string
		banned []string
		needs  []string
	}{
		{"the command line imports app but no adapter and no stage", []string{"internal/cli"},
			append(append([]string{}, adapters...), prefixed(stages)...), []string{module + "/internal/app"}},
		{"the stages import no SDK and none of the wiring", stages,
			append([]string{"github.com/Azure/", "github.com/stripe/"}, wiring...), nil},
		{"the operator's work imports no SDK and none of the wiring", []string{"internal/operator", "internal/catalog"},
			append([]string{"github.com/Azure/", "github.com/stripe/"}, wiring...), nil},
		{"the host mechanics import of ours only the domain", []string{"internal/delivery"},
			[]string{module + "/internal/app", module + "/internal/cli", module + "/internal/config", module + "/internal/functions",
				module + "/internal/storage", module + "/internal/stripeapi", "net/http", "github.com/Azure/"}, []string{module + "/internal/order"}},
		{"the domain imports nothing of ours, and no Azure, Stripe or HTTP package", []string{"internal/order"},
			[]string{module + "/", "github.com/Azure/", "github.com/stripe/", "net/http"}, nil},
		{"the masking type is a leaf", []string{"internal/secret"}, []string{module + "/"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, pkg := range tt.pkgs {
				imps, ok := pkgs[pkg]
				require.True(t, ok, "go list listed %s", pkg)
				for _, imp := range imps {
					for _, banned := range tt.banned {
						require.False(t, strings.HasPrefix(imp, banned), "%s imports %s", pkg, imp)
					}
				}
				for _, need := range tt.needs {
					require.Contains(t, imps, need, "%s imports %s", pkg, need)
				}
			}
		})
	}
	t.Run("only the command line imports app", func(t *testing.T) {
		for pkg, imps := range pkgs {
			if pkg != "internal/cli" {
				require.NotContains(t, imps, module+"/internal/app", "%s imports internal/app", pkg)
			}
		}
	})
}

func prefixed(pkgs []string) []string {
	out := make([]string, len(pkgs))
	for i, p := range pkgs {
		out[i] = module + "/" + p
	}
	return out
}
