package config

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestExamplePlaceholdersCountAsUnset: local.settings.json.example's
// placeholders count as unset, so that a copy of it runs the demo instead
// of calling Stripe with a key that cannot work.
func TestExamplePlaceholdersCountAsUnset(t *testing.T) {
	values, err := LocalSettings(filepath.Join("..", "..", "local.settings.json.example"))
	require.NoError(t, err)
	for name, v := range values {
		if strings.HasPrefix(v, "sk_") || strings.HasPrefix(v, "rk_") || strings.HasPrefix(v, "whsec_") {
			require.True(t, Placeholder(name, v), "%s in the example is a placeholder Load would accept", name)
		}
	}
	get := Layered(func(string) string { return "" }, values)
	require.Empty(t, get("STRIPE_API_KEY"), "demo mode: no key")
	require.Empty(t, get("STRIPE_WEBHOOK_SECRET"))
	require.Equal(t, "custom", get("FUNCTIONS_WORKER_RUNTIME"))

	// Also when read directly, and from the environment.
	c, err := Load(func(k string) string { return values[k] })
	require.Error(t, err)
	require.Contains(t, err.Error(), "STRIPE_API_KEY is required")
	require.Contains(t, err.Error(), "STRIPE_WEBHOOK_SECRET is required")
	require.Empty(t, c.Stripe.APIKey)
	require.Empty(t, c.Stripe.WebhookSecrets)
	require.Empty(t, Layered(func(k string) string { return values[k] }, nil)("STRIPE_API_KEY"))

	// The layer below applies, as handler local's demo defaults do.
	demo := Layered(get, map[string]string{"STRIPE_API_KEY": "sk_test_filedropdemo", "STRIPE_WEBHOOK_SECRET": "whsec_filedrop_local_demo",
		"PUBLIC_BASE_URL": "http://127.0.0.1:7071", "ORDER_LINK_SECRET": strings.Repeat("s", 32)})
	c, err = Load(demo)
	require.NoError(t, err, "the example with the demo's Stripe settings is valid")
	require.Equal(t, "sk_test_filedropdemo", c.Stripe.APIKey.Reveal())
}

// TestDefaults pins the defaults handler config shows for unset settings.
func TestDefaults(t *testing.T) {
	env := map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true", "EMAIL_SENDER": "Shop <shop@example.com>", "LOG_LEVEL": "debug"}
	require.Equal(t, map[string]string{
		"ALLOW_LIVE_MODE":           "false",
		"STRIPE_API_URL":            "https://api.stripe.com",
		"ORIGINALS_CONTAINER":       "originals",
		"DOWNLOAD_LINK_TTL":         "720h",
		"DOWNLOAD_BASE_URL":         "http://127.0.0.1:10000/devstoreaccount1/originals",
		"DOWNLOAD_LINKS":            "page",
		"DOWNLOAD_WINDOW":           "720h",
		"DOWNLOAD_LIMIT":            "10",
		"DOWNLOAD_SAS_TTL":          "10m",
		"SHOP_ACCENT_COLOR":         "#1a56db",
		"SHOP_NAME":                 "Our shop",
		"LEDGER_TABLE":              "orders",
		"LOG_FORMAT":                "text",
		"RETRY_BUDGET":              "24h",
		"RETRY_MIN":                 "1s",
		"RETRY_MAX":                 "15m",
		"RECONCILE_SCHEDULE":        "0 */15 * * * *",
		"RECONCILE_WINDOW":          "72h",
		"RECONCILE_GRACE":           "10m",
		"MAIL_RATE_LIMIT":           "0",
		"ORDER_EVENTS_INCLUDE_LINK": "false",
	}, Defaults(func(k string) string { return env[k] }))

	env = map[string]string{"AzureWebJobsStorage__accountName": "shop", "EMAIL_REPLY_TO": "help@example.com", "ORIGINALS_CONTAINER": "files"}
	d := Defaults(func(k string) string { return env[k] })
	require.Equal(t, "168h", d["DOWNLOAD_LINK_TTL"], "identity-based storage")
	require.Equal(t, "https://shop.blob.core.windows.net/files", d["DOWNLOAD_BASE_URL"])
	require.Equal(t, "help@example.com", d["SUPPORT_EMAIL"])
	require.NotContains(t, d, "ORIGINALS_CONTAINER", "set, so no default")
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[string]string{"720h": "720h", "90m": "1h30m", "90s": "1m30s", "10m": "10m", "1h0m1s": "1h0m1s", "2s": "2s"} {
		l := &loader{get: func(string) string { return d }}
		require.Equal(t, want, FormatDuration(l.duration("X", 0)), d)
	}
}
