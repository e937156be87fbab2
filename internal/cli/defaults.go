package cli

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

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
	run := get("RUN_DIR") // scripts/run.sh's folder of run-time files
	if run == "" {
		run = filepath.Join(dir, ".run")
	}
	if get("ACS_CONNECTION_STRING") == "" && get("ACS_ENDPOINT") == "" && get("SMTP_URL") == "" {
		d["EMAIL_OUTBOX_DIR"] = filepath.Join(run, "outbox")
	}
	// The order page: handler local serves it on its own port (runLocal
	// puts the real one in when it differs), signed with a secret made on
	// the first run and kept in the run folder.
	d["PUBLIC_BASE_URL"] = "http://127.0.0.1:7071"
	if get("ORDER_LINK_SECRET") == "" {
		if secret, err := localSecret(filepath.Join(run, LocalSecretFile)); err == nil {
			d["ORDER_LINK_SECRET"] = secret
		}
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

// LocalSecretFile is the file in the run folder that holds handler local's
// ORDER_LINK_SECRET.
const LocalSecretFile = "order-link-secret"

// localSecret reads the secret in path, making it (32 random bytes,
// base64url, readable by the owner only) when the file does not exist. The
// file appears whole or not at all (written aside, then linked into place),
// so two commands starting at once agree on one secret.
func localSecret(path string) (string, error) {
	for range 3 {
		b, err := os.ReadFile(path)
		if err == nil && len(strings.TrimSpace(string(b))) >= 32 {
			return strings.TrimSpace(string(b)), nil
		}
		if err == nil {
			return "", fmt.Errorf("%s holds no usable secret: delete it and a new one is made", path)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return "", err
		}
		secret := base64.RawURLEncoding.EncodeToString(key)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return "", err
		}
		tmp, err := os.CreateTemp(filepath.Dir(path), ".order-link-secret-*")
		if err != nil {
			return "", err
		}
		_, werr := tmp.WriteString(secret + "\n")
		cerr := tmp.Close()
		if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), 0o600)); err != nil {
			os.Remove(tmp.Name())
			return "", err
		}
		err = os.Link(tmp.Name(), path) // fails if another command made it first
		os.Remove(tmp.Name())
		if err == nil {
			return secret, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("could not read or make %s", path)
}

// stripeMode names the Stripe the settings talk to, for people: the demo
// (stripe-mock with the project's fixtures) when they are handler local's
// demo settings, else the key's mode, "test" or "live".
func stripeMode(s config.Stripe) string {
	if s.APIKey.Reveal() == DemoStripeKey && s.APIURL == DemoStripeURL {
		return "demo mode (stripe-mock at " + DemoStripeURL + ", demo/stripe-fixtures.json: session " + DemoSession + ")"
	}
	return s.Mode()
}
