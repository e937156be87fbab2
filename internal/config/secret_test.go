package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

// mark is part of every credential in these tests; no output may hold it.
const mark = "S3cr3tXY"

// formats prints v every way a log line, a panic or an encoder would: the
// fmt verbs, both slog handlers (as an attribute and through slog.Any), and
// encoding/json.
func formats(v any) []string {
	out := []string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
		out = append(out, fmt.Sprintf(verb, v))
	}
	out = append(out, fmt.Sprint(v), fmt.Sprintln(v), fmt.Sprintf("%+v", struct{ Inner any }{v}), fmt.Sprintf("%v", []any{v}))
	for _, h := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var b bytes.Buffer
		logger := slog.New(h(&b))
		logger.Info("settings", "value", v, slog.Any("any", v), slog.Group("g", "nested", v))
		logger.With("with", v).Info("with")
		out = append(out, b.String())
	}
	b, err := json.Marshal(v)
	out = append(out, string(b), fmt.Sprint(err))
	b, err = json.Marshal(map[string]any{"v": v})
	out = append(out, string(b), fmt.Sprint(err))
	return out
}

// configFormats prints c and each of its parts every way formats does.
func configFormats(c Config) []string {
	var out []string
	for _, v := range []any{c, &c, c.Stripe, c.Stripe.APIKey, c.Stripe.WebhookSecrets, c.Storage, c.Links, c.Mail, c.Mail.ACS, c.Mail.SMTP,
		c.Mail.SMTP.Password, c.Mail.ACS.AccessKey, c.Storage.AccountKey, c.Ledger} {
		out = append(out, formats(v)...)
	}
	return out
}

// Issue 11 #3: Secret had no LogValue, so slog's JSON handler printed it.
func TestSecretNeverPrintsAnyWay(t *testing.T) {
	for _, s := range []Secret{"sk_live_" + mark, "whsec_" + mark, mark, "rk_test_" + mark} {
		for _, out := range formats(s) {
			require.NotContains(t, out, mark)
		}
		require.NotContains(t, fmt.Sprintf("%x", s), fmt.Sprintf("%x", mark), "%x does not hex-encode the secret")
		b, err := json.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, `"`+s.String()+`"`, string(b))
		txt, err := s.MarshalText()
		require.NoError(t, err)
		require.Equal(t, s.String(), string(txt))
		require.Equal(t, s.String(), s.LogValue().String())
		require.Equal(t, s.String(), fmt.Sprintf("%#v", s)[1:len(fmt.Sprintf("%#v", s))-1])
		require.Equal(t, mark, s.Reveal()[len(s.Reveal())-len(mark):])
	}
	require.Equal(t, "sk_live_…", Secret("sk_live_"+mark).String())
	require.Equal(t, "(unset)", fmt.Sprint(Secret("")))
	require.Equal(t, `"whsec_…"`, fmt.Sprintf("%q", Secret("whsec_"+mark)))
	require.Equal(t, "    whsec_…", fmt.Sprintf("%11s", Secret("whsec_"+mark)))
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
