package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// runSimulate sends a correctly signed Checkout webhook to a running
// CheckoutComplete, signed with the configured secret. In demo mode (no
// STRIPE_API_KEY) it sends only the demo session: stripe-mock answers every
// session id with its fixture, so any other id would be fulfilled as if it
// were the demo's.
func runSimulate(ctx context.Context, env Env, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		args = []string{"checkout", "--help"}
	}
	if len(args) == 0 || args[0] != "checkout" {
		return usageErr("usage: handler simulate checkout --session <id> [--url URL] (handler simulate --help for the flags)")
	}
	fs := flags(env, "simulate checkout", "simulate checkout --session <id> [--url http://127.0.0.1:7071/api/CheckoutComplete] [--type completed]\n\n"+
		"Sends a signed checkout.session.* webhook, signed with the configured\nSTRIPE_WEBHOOK_SECRET, so the local pipeline can be driven without the Stripe CLI.\n"+
		"In demo mode (no STRIPE_API_KEY: the demo Stripe, stripe-mock) the only session is\n"+DemoSession+" (demo/stripe-fixtures.json), the default; stripe-mock would answer\nany other id with that fixture, so other ids are refused.\n\nFlags:")
	session := fs.String("session", "", "Checkout Session id (cs_test_...); in demo mode "+DemoSession)
	target := fs.String("url", "http://127.0.0.1:7071/api/CheckoutComplete", "webhook endpoint")
	typ := fs.String("type", "completed", "event: completed, async_payment_succeeded or async_payment_failed")
	eventID := fs.String("event-id", "", "event id (default: a new evt_simulated_...)")
	live := fs.Bool("livemode", false, "mark the event as a live-mode event")
	if done, err := parse(fs, args[1:]); done {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("simulate checkout takes no arguments, got %q (the session goes in --session)", fs.Args())
	}
	own, err := settingsGetter(env, false)
	if err != nil {
		return err
	}
	demo := DemoMode(own)
	if demo && *session == "" {
		*session = DemoSession
	}
	if !order.ValidSessionID(*session) {
		return usageErr("--session must be a Checkout Session id such as cs_test_a1b2, not %q", *session)
	}
	if demo && *session != DemoSession {
		return usageErr("demo mode (no STRIPE_API_KEY set): the demo Stripe (stripe-mock) has one Checkout Session, %s (demo/stripe-fixtures.json), "+
			"and would answer %s with it; use --session %s, or set STRIPE_API_KEY to a test key to simulate sessions of your account",
			DemoSession, *session, DemoSession)
	}
	eventType := "checkout.session." + strings.TrimPrefix(*typ, "checkout.session.")
	if !order.Handles(eventType) {
		return usageErr("--type must be completed, async_payment_succeeded or async_payment_failed, not %q", *typ)
	}
	get, err := settingsGetter(env, true)
	if err != nil {
		return err
	}
	secret, _, _ := strings.Cut(get("STRIPE_WEBHOOK_SECRET"), ",")
	if !strings.HasPrefix(strings.TrimSpace(secret), "whsec_") {
		return &ExitError{Code: ExitConfig, Err: fmt.Errorf("STRIPE_WEBHOOK_SECRET is not a whsec_ secret; simulate signs with it")}
	}
	if *eventID == "" {
		*eventID = "evt_simulated_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:24]
	}
	body, header, err := stripeapi.SimulatedEvent(*eventID, eventType, *session, *live, strings.TrimSpace(secret), time.Now())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, *target, bytes.NewReader(body))
	if err != nil {
		return usageErr("--url: %v", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Stripe-Signature", header)
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks) filedrop-simulate")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("send webhook to %s (is handler local running?): %w", *target, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	mode := ""
	if demo {
		mode = " (demo mode: the demo Stripe, stripe-mock, serves it from demo/stripe-fixtures.json)"
	}
	fmt.Fprintf(env.Stdout, "sent %s %s for %s%s -> %s %s\n", eventType, *eventID, *session, mode, resp.Status, bytes.TrimSpace(answer))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the endpoint answered %s", resp.Status)
	}
	return nil
}
