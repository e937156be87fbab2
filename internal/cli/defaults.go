package cli

import (
	"path/filepath"

	"github.com/filedrop/filedrop/internal/config"
)

// Demo settings: what handler local uses when no Stripe key is configured.
// scripts/run.sh then starts stripe-mock on DemoStripeURL with the project's
// fixtures (demo/stripe-fixtures.json), so the whole pipeline runs with no
// account anywhere.
const (
	DemoStripeURL     = "http://127.0.0.1:12111"
	DemoStripeKey     = "sk_test_filedropdemo" // stripe-mock wants letters and digits after sk_test_
	DemoWebhookSecret = "whsec_filedrop_local_demo"
	DemoSession       = "cs_test_demo_harbour"
)

// localDefaults are handler local's embedded defaults, used for settings
// that neither the environment nor local.settings.json set: Azurite for
// storage, the outbox for mail (unless another transport is configured) and,
// without a Stripe key, the demo Stripe (stripe-mock).
func localDefaults(dir string, get func(string) string) map[string]string {
	d := map[string]string{
		"AzureWebJobsStorage": "UseDevelopmentStorage=true",
		"EMAIL_SENDER":        "shop@filedrop.localhost",
		"SHOP_NAME":           "filedrop demo shop",
	}
	if get("ACS_CONNECTION_STRING") == "" && get("ACS_ENDPOINT") == "" && get("SMTP_URL") == "" {
		run := get("RUN_DIR") // scripts/run.sh's folder of run-time files
		if run == "" {
			run = filepath.Join(dir, ".run")
		}
		d["EMAIL_OUTBOX_DIR"] = filepath.Join(run, "outbox")
	}
	if DemoMode(get) {
		d["STRIPE_API_KEY"] = DemoStripeKey
		d["STRIPE_API_URL"] = DemoStripeURL
		d["STRIPE_WEBHOOK_SECRET"] = DemoWebhookSecret
	}
	return d
}

// DemoMode reports whether no Stripe key is configured, so that a local run
// uses the demo Stripe.
func DemoMode(get func(string) string) bool { return get("STRIPE_API_KEY") == "" }

// stripeMode names the Stripe the settings talk to, for people: the demo
// (stripe-mock with the project's fixtures) when they are handler local's
// demo settings, else the key's mode, "test" or "live".
func stripeMode(s config.Stripe) string {
	if s.APIKey.Reveal() == DemoStripeKey && s.APIURL == DemoStripeURL {
		return "demo mode (stripe-mock at " + DemoStripeURL + ", demo/stripe-fixtures.json: session " + DemoSession + ")"
	}
	return s.Mode()
}
