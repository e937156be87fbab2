package config

import (
	"net/url"
	"strings"
	"unicode"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/secret"
)

// Stripe holds the Stripe settings.
type Stripe struct {
	// WebhookSecrets are the endpoint secrets (STRIPE_WEBHOOK_SECRET, a
	// comma-separated list so a secret can be rolled with no downtime).
	WebhookSecrets []secret.Value
	// APIKey is STRIPE_API_KEY: sk_test_, rk_test_, sk_live_ or rk_live_.
	APIKey secret.Value
	// Livemode is true for a live key.
	Livemode bool
	// AllowLive is ALLOW_LIVE_MODE: a live key is refused without it.
	AllowLive bool
	// APIURL is STRIPE_API_URL, another API base such as stripe-mock; empty
	// means Stripe's own.
	APIURL string
}

// placeholders are the values local.settings.json.example puts in settings
// a person has to fill in. Each counts as unset, so that a copy of the
// example runs the demo (handler local without a Stripe key) instead of
// calling Stripe with a key that cannot work.
var placeholders = map[string][]string{
	"STRIPE_API_KEY":        {"sk_test_or_rk_test_key"},
	"STRIPE_WEBHOOK_SECRET": {"whsec_from_stripe_listen_or_the_dashboard"},
}

// Placeholder reports whether value is local.settings.json.example's
// placeholder for setting name, which counts as unset.
func Placeholder(name, value string) bool {
	value = strings.TrimSpace(value)
	for _, p := range placeholders[name] {
		if value == p {
			return true
		}
	}
	return false
}

// DefaultStripeAPIURL is the API base stripe-go uses when STRIPE_API_URL is
// unset (stripe.APIURL).
const DefaultStripeAPIURL = "https://api.stripe.com"

// stripeKeyPrefixes are the prefixes of the keys the program accepts.
var stripeKeyPrefixes = []string{"sk_test_", "rk_test_", "sk_live_", "rk_live_"}

func loadStripe(l *loader) Stripe {
	var s Stripe
	const secretHint = "the endpoint's signing secret (whsec_...; stripe listen prints one, the Dashboard shows the endpoint's)"
	raw := l.required("STRIPE_WEBHOOK_SECRET", secretHint)
	if raw != "" {
		parts := strings.Split(raw, ",")
		for i, part := range parts {
			part = strings.TrimSpace(part)
			switch {
			case part == "":
				l.problem("STRIPE_WEBHOOK_SECRET", "has an empty entry (%d of %d): list whsec_... secrets separated by single commas, with none empty", i+1, len(parts))
			case !strings.HasPrefix(part, "whsec_"):
				l.problem("STRIPE_WEBHOOK_SECRET", "must be whsec_... secrets separated by commas; entry %d of %d does not start with whsec_", i+1, len(parts))
			case part == "whsec_":
				l.problem("STRIPE_WEBHOOK_SECRET", "has an entry (%d of %d) that is only whsec_: put %s", i+1, len(parts), secretHint)
			case strings.ContainsFunc(part, unicode.IsSpace):
				l.problem("STRIPE_WEBHOOK_SECRET", "has an entry (%d of %d) with a space in it; secrets are separated by commas", i+1, len(parts))
			default:
				s.WebhookSecrets = append(s.WebhookSecrets, secret.Value(part))
			}
		}
	}
	const keyHint = "a secret or restricted key (sk_test_..., rk_test_...) with read access to Checkout Sessions and Products, from the Dashboard's API keys page"
	key := l.required("STRIPE_API_KEY", keyHint+" (handler local without one runs the demo)")
	prefix := ""
	for _, p := range stripeKeyPrefixes {
		if strings.HasPrefix(key, p) {
			prefix = p
		}
	}
	switch {
	case key == "":
	case strings.HasPrefix(key, "pk_"):
		l.problem("STRIPE_API_KEY", "is a publishable key (pk_...); use a secret (sk_) or restricted (rk_) key")
	case prefix == "":
		l.problem("STRIPE_API_KEY", "must start with sk_test_, rk_test_, sk_live_ or rk_live_: put %s", keyHint)
	case !stripeKeyBody(strings.TrimPrefix(key, prefix)):
		l.problem("STRIPE_API_KEY", "is not a Stripe key: after %s a real key has only letters and digits. Put %s, or remove the setting to run handler local's demo", prefix, keyHint)
	case strings.Contains(prefix, "_live_"):
		s.Livemode = true
	}
	s.APIKey = secret.Value(key)
	s.AllowLive = l.boolean("ALLOW_LIVE_MODE", false)
	if s.Livemode && !s.AllowLive {
		l.problem("STRIPE_API_KEY", "is a live key; set ALLOW_LIVE_MODE=true to take real payments")
	}
	s.APIURL = l.str("STRIPE_API_URL", "")
	if s.APIURL == "" {
		l.defaulted("STRIPE_API_URL", DefaultStripeAPIURL)
	} else {
		u, err := url.Parse(s.APIURL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			l.problem("STRIPE_API_URL", "must be an http(s) URL such as http://127.0.0.1:12111%s", quoteURL(s.APIURL))
			s.APIURL = ""
		case !cleanURL(s.APIURL):
			l.problem("STRIPE_API_URL", "must have no user, password, query or fragment (the API key authenticates)%s", quoteURL(s.APIURL))
			s.APIURL = ""
		}
	}
	return s
}

// stripeKeyBody reports whether what follows a key's prefix can be a real
// key: Stripe's keys continue with letters and digits only.
func stripeKeyBody(body string) bool {
	if body == "" {
		return false
	}
	for _, r := range body {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// Mode names the key's mode for messages: "live" or "test" (order.Mode).
func (s Stripe) Mode() string { return order.Mode(s.Livemode) }
