package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/config"
	"github.com/filedrop/filedrop/internal/testenv"
)

// TestMissingSettingsHintLocal: a command that takes --local, run without
// it and without settings that handler local's defaults would supply, ends
// its error with one line saying to add --local; nowhere else.
func TestMissingSettingsHintLocal(t *testing.T) {
	const hint = "On this machine, add --local to use handler local's defaults"
	tests := []struct {
		name     string
		args     []string
		settings map[string]string
		hint     bool
	}{
		{name: "orders list without settings", args: []string{"orders", "list"}, hint: true},
		{name: "poison list without settings", args: []string{"poison", "list"}, hint: true},
		{name: "setup without settings", args: []string{"setup"}, hint: true},
		{name: "config without settings", args: []string{"config"}, hint: true},
		{name: "a wrong setting --local does not cure", args: []string{"orders", "list"}, settings: map[string]string{"STRIPE_API_KEY": "pk_test_1"}},
		{name: "already --local", args: []string{"orders", "list", "--local"}, settings: map[string]string{"STRIPE_API_KEY": "pk_test_1"}},
		{name: "serve has no --local", args: []string{"serve"}, settings: map[string]string{"FUNCTIONS_CUSTOMHANDLER_PORT": "0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := Run(context.Background(), Env{Args: tt.args, Getenv: func(k string) string { return tt.settings[k] },
				Stdout: &stdout, Stderr: &stderr, Dir: t.TempDir()})
			require.Equal(t, ExitConfig, exitCode(err), "err: %v", err)
			msg := err.Error()
			if !tt.hint {
				require.NotContains(t, msg, "--local")
				return
			}
			require.Contains(t, msg, "is required")
			lines := strings.Split(strings.TrimSpace(msg), "\n")
			require.True(t, strings.HasPrefix(lines[len(lines)-1], hint), "the last line is the hint:\n%s", msg)
			require.Equal(t, 1, strings.Count(msg, hint), "one hint")
		})
	}
}

func TestStripeMode(t *testing.T) {
	tests := []struct {
		name string
		s    config.Stripe
		want string
	}{
		{"demo", config.Stripe{APIKey: DemoStripeKey, APIURL: DemoStripeURL},
			"demo mode (stripe-mock at " + DemoStripeURL + ", demo/stripe-fixtures.json: session " + DemoSession + ")"},
		{"test", config.Stripe{APIKey: "sk_test_123"}, "test"},
		{"a test key against stripe-mock", config.Stripe{APIKey: "sk_test_123", APIURL: DemoStripeURL}, "test"},
		{"live", config.Stripe{APIKey: "sk_live_123", Livemode: true}, "live"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, stripeMode(tt.s))
		})
	}
}

// TestLocalSaysDemoMode: handler local without a Stripe key says it runs
// the demo, not "Stripe mode: test".
func TestLocalSaysDemoMode(t *testing.T) {
	az := testenv.StartAzurite(t)
	p := start(t, map[string]string{"AzureWebJobsStorage": az.ConnectionString, "EMAIL_OUTBOX_DIR": t.TempDir()},
		"local", "--port", "0", "--functions", "CheckoutComplete")
	require.Eventually(t, func() bool { return strings.Contains(p.stdout.String(), "Press Ctrl-C") }, 20*time.Second, 50*time.Millisecond,
		"local starts; stderr: %s", p.stderr)
	require.Contains(t, p.stdout.String(), "Stripe mode: demo mode (stripe-mock at "+DemoStripeURL)
	require.NotContains(t, p.stdout.String(), "Stripe mode: test")
}

// TestLocalSecretIsOneSecret: commands starting at once on a fresh run
// folder agree on one ORDER_LINK_SECRET, and later ones read it back.
func TestLocalSecretIsOneSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", LocalSecretFile)
	const n = 8
	got := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = localSecret(path) })
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, got[0], got[i], "one secret for every command")
	}
	require.GreaterOrEqual(t, len(got[0]), 32)
	again, err := localSecret(path)
	require.NoError(t, err)
	require.Equal(t, got[0], again)
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file is left behind")
}
