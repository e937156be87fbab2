package cli

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/app"
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
	// The demo order's payment intent, charge and dispute, as the fixtures
	// have them; handler local's demo Stripe keeps the charge's refunds and
	// the dispute's status (see demoStripe).
	DemoPaymentIntent = "pi_demo_harbour"
	DemoCharge        = "ch_demo_harbour"
	DemoDispute       = "dp_demo_harbour"
	// DemoStripePath is where handler local serves the demo Stripe in demo
	// mode, on its own port: stripe-mock's answers, and the demo order's
	// charge and disputes with state.
	DemoStripePath = "/demo/stripe"
)

// demoStripe is the demo Stripe handler local serves in demo mode: under
// DemoStripePath, with the demo order's charge as the fixtures have it
// (15.00 EUR, paid 90 s after the session was created).
func demoStripe() app.DemoStripe {
	return app.DemoStripe{Path: DemoStripePath, Charge: DemoCharge, PaymentIntent: DemoPaymentIntent, Amount: 1500, Currency: "eur",
		Created: time.Unix(1763900090, 0).UTC()}
}

// The files scripts/run.sh and scripts/azurite.sh write to the run folder:
// the ports Azurite listens on and stripe-mock's URL, which handler local's
// defaults use, so that the --local commands reach what the script started
// wherever it started it.
const (
	azuritePortsFile  = "azurite.ports"
	stripeMockURLFile = "stripe-mock.url"
	// eventsURLFile holds the URL of the order events receiver
	// scripts/run.sh started (handler events receive).
	eventsURLFile = "events.url"
)

// localDefaults are handler local's embedded defaults, used for settings
// that neither the environment nor local.settings.json set: Azurite for
// storage, the outbox for mail (unless another transport is configured) and,
// without a Stripe key, the demo Stripe (stripe-mock).
func localDefaults(dir string, get func(string) string) map[string]string {
	run := get("RUN_DIR") // scripts/run.sh's folder of run-time files
	if run == "" {
		run = filepath.Join(dir, ".run")
	}
	d := map[string]string{
		"AzureWebJobsStorage": localStorage(run),
		"EMAIL_SENDER":        "shop@filedrop.localhost",
		"SHOP_NAME":           "filedrop demo shop",
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
	// The order events: scripts/run.sh starts a receiver (handler events
	// receive) and writes its URL to the run folder, unless the settings
	// name receivers of their own; the webhooks are signed with a secret
	// made on the first run and kept there.
	if b, err := os.ReadFile(filepath.Join(run, eventsURLFile)); err == nil && get("ORDER_EVENTS_URL") == "" {
		if u := strings.TrimSpace(string(b)); strings.HasPrefix(u, "http://127.0.0.1:") {
			d["ORDER_EVENTS_URL"] = u
			if get("ORDER_EVENTS_SECRET") == "" {
				if secret, err := localEventsSecret(run); err == nil {
					d["ORDER_EVENTS_SECRET"] = secret
				}
			}
		}
	}
	if DemoMode(get) {
		d["STRIPE_API_KEY"] = DemoStripeKey
		d["STRIPE_API_URL"] = DemoStripeURL
		if b, err := os.ReadFile(filepath.Join(run, stripeMockURLFile)); err == nil && strings.HasPrefix(string(b), "http://127.0.0.1:") {
			d["STRIPE_API_URL"] = strings.TrimSpace(string(b))
		}
		d["STRIPE_WEBHOOK_SECRET"] = DemoWebhookSecret
	}
	return d
}

// localStorage is Azurite's connection string: on the ports
// scripts/azurite.sh wrote to the run folder (it may have moved them), else
// on its default ports.
func localStorage(run string) string {
	b, err := os.ReadFile(filepath.Join(run, azuritePortsFile))
	if err != nil {
		return "UseDevelopmentStorage=true"
	}
	ports := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		if n, err := strconv.Atoi(v); err == nil && n > 0 && n < 65536 {
			ports[k] = n
		}
	}
	blob, queue, table := ports["AZURITE_BLOB_PORT"], ports["AZURITE_QUEUE_PORT"], ports["AZURITE_TABLE_PORT"]
	if blob == 0 || queue == 0 || table == 0 {
		return "UseDevelopmentStorage=true"
	}
	return config.DevelopmentStorageOn(blob, queue, table)
}

// DemoMode reports whether no Stripe key is configured, so that a local run
// uses the demo Stripe.
func DemoMode(get func(string) string) bool { return get("STRIPE_API_KEY") == "" }

// LocalSecretFile is the file in the run folder that holds handler local's
// ORDER_LINK_SECRET; LocalEventsSecretFile its ORDER_EVENTS_SECRET.
const (
	LocalSecretFile       = "order-link-secret"
	LocalEventsSecretFile = "order-events-secret"
)

// localSecret reads the secret in path, making it (32 random bytes,
// base64url, readable by the owner only) when the file does not exist.
func localSecret(path string) (string, error) {
	return localSecretMade(path, base64.RawURLEncoding.EncodeToString)
}

// localEventsSecret is handler local's ORDER_EVENTS_SECRET, kept in the run
// folder: whsec_ and the standard base64 of 32 random bytes, the Standard
// Webhooks form.
func localEventsSecret(run string) (string, error) {
	return localSecretMade(filepath.Join(run, LocalEventsSecretFile), func(key []byte) string {
		return "whsec_" + base64.StdEncoding.EncodeToString(key)
	})
}

// localSecretMade reads the secret in path, making it from 32 random bytes
// with form (readable by the owner only) when the file does not exist. The
// file appears whole or not at all (written aside, then linked into place),
// so two commands starting at once agree on one secret.
func localSecretMade(path string, form func(key []byte) string) (string, error) {
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
		secret := form(key)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return "", err
		}
		tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
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
// (stripe-mock with the project's fixtures, wherever it runs) when demo,
// that is when no Stripe key is configured and handler local's demo
// settings stand in, else the key's mode, "test" or "live".
func stripeMode(s config.Stripe, demo bool) string {
	if demo {
		return "demo mode (stripe-mock at " + s.APIURL + ", demo/stripe-fixtures.json: session " + DemoSession +
			"; simulate refund and simulate dispute change its charge)"
	}
	return s.Mode()
}
