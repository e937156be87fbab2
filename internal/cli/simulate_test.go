package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSimulate: in demo mode (no STRIPE_API_KEY) simulate sends only the
// fixture's session, because stripe-mock would answer any other id with
// that fixture; with a key, any session goes.
func TestSimulate(t *testing.T) {
	var sent atomic.Int32
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		sent.Add(1)
		_, _ = w.Write([]byte(`{"received":true}`))
	}))
	defer endpoint.Close()
	keyed := map[string]string{"STRIPE_API_KEY": "sk_test_123", "STRIPE_WEBHOOK_SECRET": testSecret}
	tests := []struct {
		name       string
		settings   map[string]string
		args       []string
		code       int
		sends      bool
		stdout     []string
		stderr     []string
		errText    []string
		notStdouts []string
	}{
		{name: "demo: the fixture's session", args: []string{"--session", DemoSession}, sends: true,
			stdout: []string{"for " + DemoSession + " (demo mode: the demo Stripe, stripe-mock, serves it from demo/stripe-fixtures.json) -> 200 OK"}},
		{name: "demo: the fixture's session is the default", sends: true, stdout: []string{"for " + DemoSession + " (demo mode"}},
		{name: "demo: another session is refused", args: []string{"--session", "cs_test_mine"}, code: ExitUsage,
			errText: []string{"demo mode (no STRIPE_API_KEY set)", "has one Checkout Session, " + DemoSession, "would answer cs_test_mine with it",
				"use --session " + DemoSession, "set STRIPE_API_KEY"}},
		{name: "a key: any session", settings: keyed, args: []string{"--session", "cs_test_mine"}, sends: true,
			stdout: []string{"for cs_test_mine -> 200 OK"}, notStdouts: []string{"demo"}},
		{name: "a key: the session is required", settings: keyed, code: ExitUsage, errText: []string{"--session must be a Checkout Session id"}},
		{name: "a stray argument", args: []string{"cs_test_mine"}, code: ExitUsage, errText: []string{"takes no arguments", "--session"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := sent.Load()
			args := append([]string{"simulate", "checkout", "--url", endpoint.URL}, tt.args...)
			var stdout, stderr bytes.Buffer
			err := Run(context.Background(), Env{Args: args, Getenv: func(k string) string { return tt.settings[k] },
				Stdout: &stdout, Stderr: &stderr, Dir: t.TempDir()})
			require.Equal(t, tt.code, exitCode(err), "err: %v", err)
			for _, w := range tt.errText {
				require.ErrorContains(t, err, w)
			}
			for _, w := range tt.stdout {
				require.Contains(t, stdout.String(), w)
			}
			for _, w := range tt.notStdouts {
				require.NotContains(t, stdout.String(), w)
			}
			require.Equal(t, tt.sends, sent.Load() > before, "sent a webhook")
		})
	}
}

// TestSimulateHelp: simulate --help and simulate checkout --help describe
// every flag and the demo's one session, and exit 0.
func TestSimulateHelp(t *testing.T) {
	for _, args := range [][]string{{"simulate", "--help"}, {"simulate", "-h"}, {"simulate", "checkout", "--help"}} {
		var stdout, stderr bytes.Buffer
		err := Run(context.Background(), Env{Args: args, Getenv: func(string) string { return "" }, Stdout: &stdout, Stderr: &stderr, Dir: t.TempDir()})
		require.NoError(t, err, args)
		help := stdout.String() + stderr.String()
		for _, w := range []string{"-session", "Checkout Session id", "-url", "webhook endpoint", "-type", "async_payment_failed",
			"-event-id", "-livemode", "In demo mode", DemoSession} {
			require.Contains(t, help, w, args)
		}
	}
}

// TestDemoSessionIsTheFixture pins DemoSession to the session of the
// fixtures scripts/run.sh gives stripe-mock.
func TestDemoSessionIsTheFixture(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "demo", "stripe-fixtures.json"))
	require.NoError(t, err)
	var fx struct {
		Resources map[string]struct {
			ID string `json:"id"`
		} `json:"resources"`
	}
	require.NoError(t, json.Unmarshal(data, &fx))
	require.Equal(t, DemoSession, fx.Resources["checkout.session"].ID)
	require.True(t, strings.HasPrefix(DemoSession, "cs_test_"))
}
