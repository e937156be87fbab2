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
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
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

// TestDemoSessionIsTheFixture pins DemoSession and the demo order's
// payment intent, charge and dispute to the fixtures scripts/run.sh gives
// stripe-mock, and the demo Stripe's charge (demoStripe) to the fixtures'.
func TestDemoSessionIsTheFixture(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "demo", "stripe-fixtures.json"))
	require.NoError(t, err)
	var fx struct {
		Resources map[string]struct {
			ID            string `json:"id"`
			PaymentIntent string `json:"payment_intent"`
			LatestCharge  string `json:"latest_charge"`
			Charge        string `json:"charge"`
			Amount        int64  `json:"amount"`
			Currency      string `json:"currency"`
			Created       int64  `json:"created"`
		} `json:"resources"`
	}
	require.NoError(t, json.Unmarshal(data, &fx))
	r := fx.Resources
	require.Equal(t, DemoSession, r["checkout.session"].ID)
	require.True(t, strings.HasPrefix(DemoSession, "cs_test_"))
	require.Equal(t, DemoPaymentIntent, r["checkout.session"].PaymentIntent)
	require.Equal(t, DemoPaymentIntent, r["payment_intent"].ID)
	require.Equal(t, DemoCharge, r["payment_intent"].LatestCharge)
	c := demoStripe()
	require.Equal(t, []any{c.Charge, c.PaymentIntent, c.Amount, c.Currency, c.Created.Unix()},
		[]any{r["charge"].ID, r["charge"].PaymentIntent, r["charge"].Amount, r["charge"].Currency, r["charge"].Created})
	require.Equal(t, []any{DemoDispute, DemoCharge, DemoPaymentIntent}, []any{r["dispute"].ID, r["dispute"].Charge, r["dispute"].PaymentIntent})
}

// TestSimulateRefundAndDispute: in demo mode, simulate refund and simulate
// dispute change the demo Stripe beside the webhook, then send the signed
// event that makes ProcessOrder read it; with a key they are refused.
func TestSimulateRefundAndDispute(t *testing.T) {
	upstream := httptest.NewServer(http.NotFoundHandler()) // stripe-mock: not asked here
	defer upstream.Close()
	ds, err := demoStripe().Handler(upstream.URL, time.Now)
	require.NoError(t, err)
	var mu sync.Mutex
	var events []map[string]any
	mux := http.NewServeMux()
	mux.Handle(DemoStripePath+"/", http.StripPrefix(DemoStripePath, ds))
	mux.HandleFunc("/api/CheckoutComplete", func(w http.ResponseWriter, r *http.Request) {
		var ev map[string]any
		_ = json.NewDecoder(r.Body).Decode(&ev)
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
		_, _ = w.Write([]byte(`{"queued":true}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	webhook := srv.URL + "/api/CheckoutComplete"
	keyed := map[string]string{"STRIPE_API_KEY": "sk_test_123", "STRIPE_WEBHOOK_SECRET": testSecret}

	tests := []struct {
		name     string
		settings map[string]string
		args     []string
		code     int
		text     string // in stdout, or in the error
		event    string // the event type sent
		object   string
	}{
		{name: "refund", args: []string{"refund"}, text: "charge.refunded", event: order.EventChargeRefunded, object: DemoCharge},
		{name: "a second refund is refused by the demo Stripe", args: []string{"refund"}, code: ExitFailure, text: "has already been refunded"},
		{name: "dispute opened", args: []string{"dispute"}, text: "dispute is needs_response", event: order.EventDisputeCreated, object: DemoDispute},
		{name: "dispute won", args: []string{"dispute", "--status", "won"}, event: order.EventDisputeClosed, object: DemoDispute},
		{name: "dispute lost", args: []string{"dispute", "--status", "lost"}, event: order.EventDisputeClosed, object: DemoDispute},
		{name: "an unknown status", args: []string{"dispute", "--status", "closed"}, code: ExitUsage, text: "--status must be one of"},
		{name: "with a key: refused", settings: keyed, args: []string{"refund"}, code: ExitUsage, text: "works in demo mode only"},
		{name: "with a key: dispute refused", settings: keyed, args: []string{"dispute", "--status", "won"}, code: ExitUsage, text: "stripe trigger charge.dispute.closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			before := len(events)
			mu.Unlock()
			args := append([]string{"simulate"}, append(tt.args, "--url", webhook)...)
			var stdout, stderr bytes.Buffer
			err := Run(context.Background(), Env{Args: args, Getenv: func(k string) string { return tt.settings[k] },
				Stdout: &stdout, Stderr: &stderr, Dir: t.TempDir()})
			require.Equal(t, tt.code, exitCode(err), "err: %v", err)
			if err != nil {
				require.ErrorContains(t, err, tt.text)
			} else {
				require.Contains(t, stdout.String(), tt.text)
			}
			mu.Lock()
			defer mu.Unlock()
			if tt.event == "" {
				require.Len(t, events, before, "no webhook sent")
				return
			}
			require.Len(t, events, before+1)
			ev := events[before]
			require.Equal(t, tt.event, ev["type"])
			obj := ev["data"].(map[string]any)["object"].(map[string]any)
			require.Equal(t, tt.object, obj["id"])
			require.Equal(t, DemoPaymentIntent, obj["payment_intent"])
		})
	}
}
