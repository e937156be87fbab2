package config

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/secret/secrettest"
)

// mark is part of every credential in these tests; no output may hold it.
const mark = "S3cr3tXY"

// configFormats prints c and each of its parts every way secrettest.Prints
// does.
func configFormats(c Config) []string {
	var out []string
	for _, v := range []any{c, &c, c.Stripe, c.Stripe.APIKey, c.Stripe.WebhookSecrets, c.Storage, c.Links, c.Mail, c.Mail.ACS, c.Mail.SMTP,
		c.Mail.SMTP.Password, c.Mail.ACS.AccessKey, c.Storage.AccountKey, c.Ledger} {
		out = append(out, secrettest.Prints(v)...)
	}
	return out
}

// TestConfigNeverLogsSecrets logs every settings struct, loaded with a
// credential in each setting that can hold one, with both slog handlers and
// every fmt verb.
func TestConfigNeverLogsSecrets(t *testing.T) {
	common := map[string]string{
		"STRIPE_WEBHOOK_SECRET": "whsec_" + mark + ",whsec_2" + mark,
		"STRIPE_API_KEY":        "rk_test_" + mark,
		"AzureWebJobsStorage":   "DefaultEndpointsProtocol=https;AccountName=shop;AccountKey=" + mark + ";EndpointSuffix=core.windows.net",
		"EMAIL_SENDER":          "shop@example.com",
		"PUBLIC_BASE_URL":       "https://shop.example",
		"ORDER_LINK_SECRET":     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + mark + ",bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" + mark,
	}
	for name, extra := range map[string]map[string]string{
		"smtp": {"SMTP_URL": "smtps://user:" + mark + "@smtp.example.com"},
		"acs":  {"ACS_CONNECTION_STRING": "endpoint=https://r.communication.azure.com/;accesskey=" + mark},
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range common {
				env[k] = v
			}
			for k, v := range extra {
				env[k] = v
			}
			c, err := Load(func(k string) string { return env[k] })
			require.NoError(t, err)
			require.Contains(t, c.Storage.AccountKey.Reveal()+c.Mail.SMTP.Password.Reveal()+c.Mail.ACS.AccessKey.Reveal(), mark, "the test loaded its secrets")
			require.Contains(t, c.Download.Secrets()[1], mark)
			for _, out := range configFormats(c) {
				require.NotContains(t, out, mark)
			}
		})
	}
}
