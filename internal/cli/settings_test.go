package cli

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/url"
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
		demo bool
		want string
	}{
		{"demo", config.Stripe{APIKey: DemoStripeKey, APIURL: DemoStripeURL}, true,
			"demo mode (stripe-mock at " + DemoStripeURL + ", demo/stripe-fixtures.json: session " + DemoSession},
		{"demo with stripe-mock on another port", config.Stripe{APIKey: DemoStripeKey, APIURL: "http://127.0.0.1:40111"}, true,
			"demo mode (stripe-mock at http://127.0.0.1:40111, demo/stripe-fixtures.json"},
		{"test", config.Stripe{APIKey: "sk_test_123"}, false, "test"},
		{"a test key against stripe-mock", config.Stripe{APIKey: "sk_test_123", APIURL: DemoStripeURL}, false, "test"},
		{"live", config.Stripe{APIKey: "sk_live_123", Livemode: true}, false, "live"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.True(t, strings.HasPrefix(stripeMode(tt.s, tt.demo), tt.want), stripeMode(tt.s, tt.demo))
		})
	}
}

// TestLocalSaysDemoMode: handler local without a Stripe key says it runs
// the demo, not "Stripe mode: test", wherever stripe-mock runs (scripts/run.sh
// moves it off its default port when that is taken); it lists only the
// functions it runs.
func TestLocalSaysDemoMode(t *testing.T) {
	az := testenv.StartAzurite(t)
	for _, url := range []string{"", "http://127.0.0.1:40111"} {
		t.Run("stripe-mock at "+url, func(t *testing.T) {
			p := start(t, map[string]string{"AzureWebJobsStorage": az.ConnectionString, "EMAIL_OUTBOX_DIR": t.TempDir(), "STRIPE_API_URL": url},
				"local", "--port", "0", "--functions", "Download")
			require.Eventually(t, func() bool { return strings.Contains(p.stdout.String(), "Press Ctrl-C") }, 20*time.Second, 50*time.Millisecond,
				"local starts; stderr: %s", p.stderr)
			out := p.stdout.String()
			require.Contains(t, out, "Stripe mode: demo mode (stripe-mock at "+cmp.Or(url, DemoStripeURL))
			require.NotContains(t, out, "Stripe mode: test")
			require.Contains(t, out, "Download: [GET,POST] http://127.0.0.1:")
			require.NotContains(t, out, "CheckoutComplete", "--functions Download serves no webhook: its route is not listed")
			p.stop(t)
		})
	}
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

// TestLocalCommandsFindMovedAzurite: the --local commands that
// scripts/run.sh prints reach Azurite on the ports scripts/azurite.sh
// wrote to the run folder, whatever they are, with nothing else set.
func TestLocalCommandsFindMovedAzurite(t *testing.T) {
	az := testenv.StartAzurite(t)
	run := t.TempDir()
	port := func(raw string) string {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		return u.Port()
	}
	ports := fmt.Sprintf("AZURITE_BLOB_PORT=%s\nAZURITE_QUEUE_PORT=%s\nAZURITE_TABLE_PORT=%s\n", port(az.BlobURL), port(az.QueueURL), port(az.TableURL))
	require.NoError(t, os.WriteFile(filepath.Join(run, "azurite.ports"), []byte(ports), 0o644))
	settings := map[string]string{"RUN_DIR": run}
	run1 := func(args ...string) error {
		var stdout, stderr bytes.Buffer
		return Run(context.Background(), Env{Args: args, Getenv: func(k string) string { return settings[k] }, Stdout: &stdout, Stderr: &stderr, Dir: t.TempDir()})
	}
	require.NoError(t, run1("setup", "--local"))
	err := run1("orders", "show", "cs_test_nobody", "--local")
	require.Equal(t, ExitNotFound, exitCode(err), "Azurite answered: %v", err)
}
