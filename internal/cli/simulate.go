package cli

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/filedrop/filedrop/internal/app"
	"github.com/filedrop/filedrop/internal/order"
)

// simulateUsage lists the simulations.
const simulateUsage = "usage: handler simulate checkout|refund|dispute|delivery [flags] (handler simulate <what> --help for the flags)"

// defaultWebhook is handler local's webhook endpoint on its default port.
const defaultWebhook = "http://127.0.0.1:7071/api/CheckoutComplete"

// runSimulate sends a correctly signed webhook to a running
// CheckoutComplete, signed with the configured secret: a Checkout event
// for a session, or, in demo mode, a refund or dispute of the demo order
// after the demo Stripe recorded it.
func runSimulate(ctx context.Context, env Env, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		args = []string{"checkout", "--help"}
	}
	if len(args) == 0 {
		return usageErr(simulateUsage)
	}
	switch args[0] {
	case "checkout":
		return simulateCheckout(ctx, env, args[1:])
	case "refund":
		return simulateRefund(ctx, env, args[1:])
	case "dispute":
		return simulateDispute(ctx, env, args[1:])
	case "delivery":
		return simulateDelivery(ctx, env, args[1:])
	}
	return usageErr(simulateUsage)
}

// simulateCheckout sends a checkout.session.* event. In demo mode (no
// STRIPE_API_KEY) it sends only the demo session: stripe-mock answers every
// session id with its fixture, so any other id would be fulfilled as if it
// were the demo's.
func simulateCheckout(ctx context.Context, env Env, args []string) error {
	fs := flags(env, "simulate checkout", "simulate checkout --session <id> [--url "+defaultWebhook+"] [--type completed]\n\n"+
		"Sends a signed checkout.session.* webhook, signed with the configured\nSTRIPE_WEBHOOK_SECRET, so the local pipeline can be driven without the Stripe CLI.\n"+
		"In demo mode (no STRIPE_API_KEY: the demo Stripe, stripe-mock) the only session is\n"+DemoSession+" (demo/stripe-fixtures.json), the default; stripe-mock would answer\nany other id with that fixture, so other ids are refused.\n"+
		"simulate refund and simulate dispute [--status won|lost] then close and reopen\nthe demo order's page (see their --help).\n\nFlags:")
	session := fs.String("session", "", "Checkout Session id (cs_test_...); in demo mode "+DemoSession)
	target := fs.String("url", defaultWebhook, "webhook endpoint")
	typ := fs.String("type", "completed", "event: completed, async_payment_succeeded or async_payment_failed")
	eventID := fs.String("event-id", "", "event id (default: a new evt_simulated_...)")
	live := fs.Bool("livemode", false, "mark the event as a live-mode event")
	if done, err := parse(fs, args); done {
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
	if !order.Handles(eventType) || order.AboutPayment(eventType) {
		return usageErr("--type must be completed, async_payment_succeeded or async_payment_failed, not %q", *typ)
	}
	secret, err := webhookSecret(env)
	if err != nil {
		return err
	}
	id := eventIDOr(*eventID)
	body, header, err := app.SignedEvent(id, eventType, *session, *live, secret, time.Now())
	if err != nil {
		return err
	}
	mode := ""
	if demo {
		mode = " (demo mode: the demo Stripe, stripe-mock, serves it from demo/stripe-fixtures.json)"
	}
	return sendWebhook(ctx, env, *target, body, header, fmt.Sprintf("%s %s for %s%s", eventType, id, *session, mode))
}

// simulateRefund refunds the demo order's charge in the demo Stripe and
// sends its charge.refunded event: ProcessOrder reads the refund from the
// demo Stripe and closes the order page.
func simulateRefund(ctx context.Context, env Env, args []string) error {
	fs := flags(env, "simulate refund", "simulate refund [--amount N] [--url "+defaultWebhook+"]\n\n"+
		"Demo mode only (no STRIPE_API_KEY): refunds the demo order's charge ("+DemoCharge+") in the\n"+
		"demo Stripe that handler local serves, then sends the signed charge.refunded webhook.\n"+
		"ProcessOrder reads the charge back: a full refund closes the order page (a partial\none is recorded and access stays); handler grant reopens it.\n"+
		"With a Stripe key, refund the payment in the Dashboard or run stripe trigger charge.refunded.\n\nFlags:")
	target := fs.String("url", defaultWebhook, "webhook endpoint of handler local (the demo Stripe is served beside it)")
	amount := fs.Int64("amount", 0, "refund this much, in cents (default: the rest of the charge)")
	eventID := fs.String("event-id", "", "event id (default: a new evt_simulated_...)")
	if done, err := parse(fs, args); done {
		return err
	}
	if fs.NArg() > 0 || *amount < 0 {
		return usageErr("simulate refund takes no arguments and a positive --amount")
	}
	form := url.Values{"charge": {DemoCharge}}
	if *amount > 0 {
		form.Set("amount", fmt.Sprint(*amount))
	}
	return simulatePayment(ctx, env, *target, "/v1/refunds", form, order.EventChargeRefunded, DemoCharge, *eventID,
		"the demo Stripe refunded the demo charge")
}

// simulateDispute opens or decides a dispute of the demo order's charge in
// the demo Stripe and sends its charge.dispute.created or .closed event.
func simulateDispute(ctx context.Context, env Env, args []string) error {
	fs := flags(env, "simulate dispute", "simulate dispute [--status needs_response|won|lost] [--url "+defaultWebhook+"]\n\n"+
		"Demo mode only (no STRIPE_API_KEY): gives the demo order's dispute ("+DemoDispute+") the\n"+
		"status in the demo Stripe that handler local serves, then sends the signed\n"+
		"charge.dispute.created webhook (an open status) or charge.dispute.closed (won, lost,\n"+
		"warning_closed). ProcessOrder reads the dispute back: open suspends the order page,\n"+
		"won reopens it, lost keeps it closed.\n"+
		"With a Stripe key, pay with one of Stripe's test cards for disputes instead.\n\nFlags:")
	target := fs.String("url", defaultWebhook, "webhook endpoint of handler local (the demo Stripe is served beside it)")
	status := fs.String("status", "needs_response", "the dispute's status: "+strings.Join(app.DemoDisputeStatuses(), ", "))
	eventID := fs.String("event-id", "", "event id (default: a new evt_simulated_...)")
	if done, err := parse(fs, args); done {
		return err
	}
	if fs.NArg() > 0 || !slices.Contains(app.DemoDisputeStatuses(), *status) {
		return usageErr("--status must be one of %s, not %q", strings.Join(app.DemoDisputeStatuses(), ", "), *status)
	}
	eventType := order.EventDisputeCreated
	switch *status {
	case order.DisputeWon, order.DisputeLost, order.DisputeWarningClosed:
		eventType = order.EventDisputeClosed
	}
	return simulatePayment(ctx, env, *target, "/demo/disputes/"+DemoDispute, url.Values{"charge": {DemoCharge}, "status": {*status}},
		eventType, DemoDispute, *eventID, "the demo Stripe's dispute is "+*status)
}

// simulatePayment posts form to path of the demo Stripe beside the webhook
// target, then sends the signed eventType event for objectID of the demo
// payment intent. It refuses outside demo mode.
func simulatePayment(ctx context.Context, env Env, target, path string, form url.Values, eventType, objectID, eventID, done string) error {
	own, err := settingsGetter(env, false)
	if err != nil {
		return err
	}
	if !DemoMode(own) {
		return usageErr("simulate %s works in demo mode only (no STRIPE_API_KEY): ProcessOrder reads refunds and disputes from Stripe, "+
			"so with your key make them in Stripe (the Dashboard, or stripe trigger %s) and Stripe sends the webhook", order.EventObject(eventType), eventType)
	}
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return usageErr("--url must be handler local's webhook URL, such as %s", defaultWebhook)
	}
	secret, err := webhookSecret(env)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	stripeURL := u.Scheme + "://" + u.Host + DemoStripePath + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, stripeURL, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+DemoStripeKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reach the demo Stripe at %s (is handler local running in demo mode?): %w", stripeURL, err)
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		_ = json.Unmarshal(answer, &e)
		return fmt.Errorf("the demo Stripe refused: %s %s", resp.Status, cmp.Or(e.Error.Message, string(bytes.TrimSpace(answer))))
	}
	id := eventIDOr(eventID)
	body, header, err := app.SignedPaymentEvent(id, eventType, objectID, DemoPaymentIntent, false, secret, time.Now())
	if err != nil {
		return err
	}
	return sendWebhook(ctx, env, target, body, header, fmt.Sprintf("%s %s for %s (demo mode: %s)", eventType, id, objectID, done))
}

// webhookSecret is the first STRIPE_WEBHOOK_SECRET, which simulate signs
// with.
func webhookSecret(env Env) (string, error) {
	get, err := settingsGetter(env, true)
	if err != nil {
		return "", err
	}
	secret, _, _ := strings.Cut(get("STRIPE_WEBHOOK_SECRET"), ",")
	if secret = strings.TrimSpace(secret); !strings.HasPrefix(secret, "whsec_") {
		return "", &ExitError{Code: ExitConfig, Err: fmt.Errorf("STRIPE_WEBHOOK_SECRET is not a whsec_ secret; simulate signs with it")}
	}
	return secret, nil
}

// eventIDOr is id, or a new evt_simulated_... when it is empty.
func eventIDOr(id string) string {
	if id != "" {
		return id
	}
	return "evt_simulated_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:24]
}

// sendWebhook POSTs the signed event to target and prints what it sent
// (what) with the endpoint's answer.
func sendWebhook(ctx context.Context, env Env, target string, body []byte, header, what string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return usageErr("--url: %v", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Stripe-Signature", header)
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks) filedrop-simulate")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("send webhook to %s (is handler local running?): %w", target, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	fmt.Fprintf(env.Stdout, "sent %s -> %s %s\n", what, resp.Status, bytes.TrimSpace(answer))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the endpoint answered %s", resp.Status)
	}
	return nil
}
