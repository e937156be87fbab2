package config

import (
	"net/url"
	"strings"
)

// Stripe holds the Stripe settings.
type Stripe struct {
	// WebhookSecrets are the endpoint secrets (STRIPE_WEBHOOK_SECRET, a
	// comma-separated list so a secret can be rolled with no downtime).
	WebhookSecrets []Secret
	// APIKey is STRIPE_API_KEY: sk_test_, rk_test_, sk_live_ or rk_live_.
	APIKey Secret
	// Livemode is true for a live key.
	Livemode bool
	// AllowLive is ALLOW_LIVE_MODE: a live key is refused without it.
	AllowLive bool
	// APIURL is STRIPE_API_URL, another API base such as stripe-mock; empty
	// means Stripe's own.
	APIURL string
}

func loadStripe(l *loader) Stripe {
	var s Stripe
	raw := l.required("STRIPE_WEBHOOK_SECRET", "the endpoint's signing secret (whsec_...; stripe listen prints one)")
	for _, part := range strings.Split(raw, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.HasPrefix(part, "whsec_") {
			l.problem("STRIPE_WEBHOOK_SECRET", "must be whsec_... secrets separated by commas; one entry does not start with whsec_")
			continue
		}
		s.WebhookSecrets = append(s.WebhookSecrets, Secret(part))
	}
	key := l.required("STRIPE_API_KEY", "a secret or restricted key (sk_test_..., rk_test_...) with read access to Checkout Sessions and Products")
	switch {
	case key == "":
	case strings.HasPrefix(key, "sk_test_"), strings.HasPrefix(key, "rk_test_"):
	case strings.HasPrefix(key, "sk_live_"), strings.HasPrefix(key, "rk_live_"):
		s.Livemode = true
	case strings.HasPrefix(key, "pk_"):
		l.problem("STRIPE_API_KEY", "is a publishable key (pk_...); use a secret (sk_) or restricted (rk_) key")
	default:
		l.problem("STRIPE_API_KEY", "must start with sk_test_, rk_test_, sk_live_ or rk_live_")
	}
	s.APIKey = Secret(key)
	s.AllowLive = l.boolean("ALLOW_LIVE_MODE", false)
	if s.Livemode && !s.AllowLive {
		l.problem("STRIPE_API_KEY", "is a live key; set ALLOW_LIVE_MODE=true to take real payments")
	}
	s.APIURL = l.str("STRIPE_API_URL", "")
	if s.APIURL != "" {
		if u, err := url.Parse(s.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			l.problem("STRIPE_API_URL", "must be an http(s) URL such as http://127.0.0.1:12111, not %q", s.APIURL)
		}
	}
	return s
}

// Mode names the key's mode for messages: "live" or "test".
func (s Stripe) Mode() string { return modeName(s.Livemode) }

func modeName(live bool) string {
	if live {
		return "live"
	}
	return "test"
}
