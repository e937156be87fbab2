package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// secretMark is part of every credential these tests configure; no output
// may contain it.
const secretMark = "S3cr3tXY"

// runConfigCmd runs handler config with args over settings (as the
// environment) and, when file is not empty, a local.settings.json holding
// it.
func runConfigCmd(t *testing.T, settings map[string]string, file []byte, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	dir := t.TempDir()
	if file != nil {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "local.settings.json"), file, 0o600))
	}
	var out, errOut bytes.Buffer
	err = Run(context.Background(), Env{Args: append([]string{"config"}, args...), Getenv: func(k string) string { return settings[k] },
		Stdout: &out, Stderr: &errOut, Dir: dir})
	return out.String(), errOut.String(), err
}

func configExitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *ExitError
	require.ErrorAs(t, err, &ee)
	return ee.Code
}

// TestConfigNeverPrintsSecrets: handler config prints no secret in clear,
// not even one it cannot parse: not in the table, in --json or through
// --get.
func TestConfigNeverPrintsSecrets(t *testing.T) {
	tests := []struct {
		name, setting, value string
	}{
		{"SMTP password with %", "SMTP_URL", "smtp://user:pa%" + secretMark + "@smtp.example.com:587"},
		{"SMTP password with #", "SMTP_URL", "smtp://user:12#" + secretMark + "@smtp.example.com:587"},
		{"SMTP password with /", "SMTP_URL", "smtp://user:12/" + secretMark + "@smtp.example.com:587"},
		{"SMTP password with ?", "SMTP_URL", "smtp://user:12?" + secretMark + "@smtp.example.com:587"},
		{"SMTP password with a space", "SMTP_URL", "smtp://user:a " + secretMark + "@smtp.example.com:587"},
		{"SMTP password that parses", "SMTP_URL", "smtp://user:" + secretMark + "@smtp.example.com:587"},
		{"SMTP token as user name", "SMTP_URL", "smtps://" + secretMark + "@smtp.example.com"},
		{"SMTP password in the query", "SMTP_URL", "smtp://smtp.example.com?password=" + secretMark},
		{"storage SAS", "AzureWebJobsStorage", "BlobEndpoint=https://a.blob.core.windows.net/;QueueEndpoint=https://a.queue.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=bq&sig=" + secretMark},
		{"storage account key and SAS", "AzureWebJobsStorage", "AccountName=a;AccountKey=" + secretMark + ";SharedAccessSignature=sv=2022-11-02&sig=" + secretMark},
		{"storage account key", "AzureWebJobsStorage", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=" + secretMark + ";EndpointSuffix=core.windows.net"},
		{"storage key with an unparsable part", "AzureWebJobsStorage", "AccountName=a;AccountKey " + secretMark},
		{"storage endpoint with a password", "AzureWebJobsStorage", "AccountName=a;AccountKey=" + secretMark + ";BlobEndpoint=https://u:" + secretMark + "@a.blob.core.windows.net"},
		{"storage service URI with a SAS", "AzureWebJobsStorage__blobServiceUri", "https://a.blob.core.windows.net/?sv=1&sig=" + secretMark},
		{"ACS access key", "ACS_CONNECTION_STRING", "endpoint=https://r.communication.azure.com/;accesskey=" + secretMark},
		{"ACS access key, separated wrongly", "ACS_CONNECTION_STRING", "endpoint=https://r.communication.azure.com/,accesskey=" + secretMark},
		{"ACS endpoint with a password", "ACS_ENDPOINT", "https://u:" + secretMark + "@r.communication.azure.com"},
		{"Stripe API URL with a password", "STRIPE_API_URL", "https://u:" + secretMark + "@api.example.com"},
		{"Stripe API URL with a password that does not parse", "STRIPE_API_URL", "https://u:1/" + secretMark + "@api.example.com"},
		{"download base URL with a password", "DOWNLOAD_BASE_URL", "https://u:" + secretMark + "@cdn.example.com/originals"},
		{"download base URL with a password that does not parse", "DOWNLOAD_BASE_URL", "https://u:a b" + secretMark + "@cdn.example.com/originals"},
		{"Stripe key", "STRIPE_API_KEY", "sk_test_" + secretMark},
		{"Stripe key of the wrong shape", "STRIPE_API_KEY", "sk_test_" + secretMark + "_x"},
		{"webhook secrets", "STRIPE_WEBHOOK_SECRET", "whsec_" + secretMark + ", whsec_2" + secretMark},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			settings := map[string]string{"STRIPE_API_KEY": "sk_test_1", "STRIPE_WEBHOOK_SECRET": "whsec_1", "EMAIL_SENDER": "shop@example.com",
				"AzureWebJobsStorage": "UseDevelopmentStorage=true", "EMAIL_OUTBOX_DIR": t.TempDir(),
				"PUBLIC_BASE_URL": "https://shop.example", "ORDER_LINK_SECRET": testOrderLinkSecret}
			if tc.setting == "ACS_CONNECTION_STRING" || tc.setting == "ACS_ENDPOINT" || tc.setting == "SMTP_URL" {
				delete(settings, "EMAIL_OUTBOX_DIR")
			}
			if tc.setting == "AzureWebJobsStorage__blobServiceUri" {
				delete(settings, "AzureWebJobsStorage")
			}
			settings[tc.setting] = tc.value
			for _, args := range [][]string{nil, {"--json"}, {"--local"}, {"--local", "--json"}} {
				stdout, stderr, err := runConfigCmd(t, settings, nil, args...)
				all := stdout + stderr
				if err != nil {
					all += err.Error()
				}
				if len(args) == 0 {
					require.Contains(t, stdout, tc.setting)
				}
				require.NotContains(t, all, secretMark, args)
			}
			stdout, stderr, err := runConfigCmd(t, settings, nil, "--get", tc.setting)
			require.Equal(t, ExitUsage, configExitCode(t, err), "--get refuses a value that is or can hold a secret")
			require.ErrorContains(t, err, "does not print secrets")
			require.NotContains(t, stdout+stderr+err.Error(), secretMark)
		})
	}
}

func TestConfigGet(t *testing.T) {
	settings := map[string]string{"EMAIL_OUTBOX_DIR": "/tmp/outbox", "STRIPE_API_URL": "http://127.0.0.1:12111",
		"DOWNLOAD_BASE_URL": "https://cdn.example.com/originals", "MY_API_TOKEN": "t0k3n", "OTHER": "https://u:p@example.com",
		"PLAIN": "hello", "SMTP_URL": "smtp://smtp.example.com:587"}
	tests := []struct {
		name string
		want string // "" when refused
	}{
		{"EMAIL_OUTBOX_DIR", "/tmp/outbox"},
		{"STRIPE_API_URL", "http://127.0.0.1:12111"},
		{"DOWNLOAD_BASE_URL", "https://cdn.example.com/originals"},
		{"PLAIN", "hello"},
		{"SMTP_URL", ""}, // a secret setting even with no password in it
		{"MY_API_TOKEN", ""},
		{"OTHER", ""},
		{"AzureWebJobsStorage", ""},
		{"STRIPE_API_KEY", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, _, err := runConfigCmd(t, settings, nil, "--get", tc.name)
			if tc.want == "" {
				require.Equal(t, ExitUsage, configExitCode(t, err))
				require.Empty(t, stdout)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want+"\n", stdout)
		})
	}
}

// TestConfigShowsBuiltInDefaults: handler config shows the built-in
// default of each unset setting.
func TestConfigShowsBuiltInDefaults(t *testing.T) {
	settings := map[string]string{"STRIPE_API_KEY": "sk_test_1", "STRIPE_WEBHOOK_SECRET": "whsec_1", "EMAIL_SENDER": "shop@example.com",
		"AzureWebJobsStorage": "UseDevelopmentStorage=true", "EMAIL_OUTBOX_DIR": "/tmp/outbox",
		"PUBLIC_BASE_URL": "https://shop.example", "ORDER_LINK_SECRET": testOrderLinkSecret}
	stdout, _, err := runConfigCmd(t, settings, nil)
	require.NoError(t, err)
	for _, want := range []string{
		`ORIGINALS_CONTAINER +unset +originals \(default\)\n`,
		`DOWNLOAD_LINK_TTL +unset +720h \(default\)\n`,
		`DOWNLOAD_BASE_URL +unset +http://127.0.0.1:10000/devstoreaccount1/originals \(default\)\n`,
		`LEDGER_TABLE +unset +orders \(default\)\n`,
		`ALLOW_LIVE_MODE +unset +false \(default\)\n`,
		`STRIPE_API_URL +unset +https://api.stripe.com \(default\)\n`,
		`SHOP_NAME +unset +Our shop \(default\)\n`,
		`SUPPORT_EMAIL +unset +\n`, // no default without EMAIL_REPLY_TO: the sender is no address to write to
		`LOG_LEVEL +unset +info \(default\)\n`,
		`LOG_FORMAT +unset +text \(default\)\n`,
		`EMAIL_OUTBOX_DIR +environment +/tmp/outbox\n`,
	} {
		require.Regexp(t, want, stdout)
	}
	require.Regexp(t, `EMAIL_REPLY_TO +unset +\n`, stdout, "no default: blank")

	stdout, _, err = runConfigCmd(t, settings, nil, "--json")
	require.NoError(t, err)
	var out struct {
		Settings []struct {
			Name, Source, Value string
			Default             bool
		}
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &out))
	got := map[string]string{}
	for _, s := range out.Settings {
		if s.Default {
			got[s.Name] = s.Value
		}
	}
	require.Equal(t, "720h", got["DOWNLOAD_LINK_TTL"])
	require.Equal(t, "originals", got["ORIGINALS_CONTAINER"])
	require.NotContains(t, got, "EMAIL_OUTBOX_DIR")
}

// TestCopiedExampleRunsTheDemo: a copy of local.settings.json.example (its
// placeholders standing for a Stripe key and secret) runs the demo, and
// handler config does not call the placeholders valid.
func TestCopiedExampleRunsTheDemo(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "..", "local.settings.json.example"))
	require.NoError(t, err)
	env := map[string]string{}

	// scripts/run.sh: config --has STRIPE_API_KEY decides demo mode.
	_, _, err = runConfigCmd(t, env, example, "--has", "STRIPE_API_KEY")
	require.Equal(t, ExitFailure, configExitCode(t, err), "the placeholder key counts as unset: demo mode")

	// handler local: the demo's Stripe settings apply and are valid.
	stdout, _, err := runConfigCmd(t, env, example, "--local")
	require.NoError(t, err, stdout)
	require.Contains(t, stdout, "The settings are valid.")
	require.Regexp(t, `STRIPE_API_KEY +local default \(example placeholder ignored\) +sk_test_…`, stdout)
	require.Regexp(t, `STRIPE_API_URL +local default +`+DemoStripeURL, stdout)

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "local.settings.json"), example, 0o600))
	get, err := settingsGetter(Env{Getenv: func(string) string { return "" }, Dir: dir}, true)
	require.NoError(t, err)
	require.Equal(t, DemoStripeKey, get("STRIPE_API_KEY"))
	require.Equal(t, DemoWebhookSecret, get("STRIPE_WEBHOOK_SECRET"), "simulate signs with the secret the demo checks")

	// Outside handler local, the placeholders are unset, not valid.
	_, _, err = runConfigCmd(t, env, example)
	require.Equal(t, ExitConfig, configExitCode(t, err))
	require.ErrorContains(t, err, "STRIPE_API_KEY is required")
	require.ErrorContains(t, err, "STRIPE_WEBHOOK_SECRET is required")

	// A key of the wrong shape is refused with what to put there.
	_, _, err = runConfigCmd(t, map[string]string{"STRIPE_API_KEY": "sk_test_paste_your_key_here"}, example, "--local")
	require.Equal(t, ExitConfig, configExitCode(t, err))
	require.ErrorContains(t, err, "STRIPE_API_KEY is not a Stripe key: after sk_test_ a real key has only letters and digits")
	require.NotContains(t, err.Error(), "paste_your_key_here")

	_, _, err = runConfigCmd(t, map[string]string{"STRIPE_API_KEY": "sk_test_1"}, example, "--has", "STRIPE_API_KEY")
	require.NoError(t, err, "a key that is not the placeholder counts as set")
}

// TestConfigWarnsWithoutASupportAddress: with neither SUPPORT_EMAIL nor
// EMAIL_REPLY_TO the mails would name the sender, often a DoNotReply@
// address, so they name none and handler config says so.
func TestConfigWarnsWithoutASupportAddress(t *testing.T) {
	for _, tt := range []struct {
		name  string
		extra map[string]string
		warns bool
	}{
		{name: "no support address", warns: true},
		{name: "SUPPORT_EMAIL", extra: map[string]string{"SUPPORT_EMAIL": "help@shop.example"}},
		{name: "EMAIL_REPLY_TO", extra: map[string]string{"EMAIL_REPLY_TO": "help@shop.example"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"EMAIL_SENDER": "DoNotReply@shop.example"}
			maps.Copy(env, tt.extra)
			stdout, _, err := runConfigCmd(t, env, nil, "--local")
			require.NoError(t, err, stdout)
			require.Contains(t, stdout, "The settings are valid.")
			require.Equal(t, tt.warns, strings.Contains(stdout, "Warning: SUPPORT_EMAIL and EMAIL_REPLY_TO are unset"), stdout)
			stdout, _, err = runConfigCmd(t, env, nil, "--local", "--json")
			require.NoError(t, err)
			var out struct{ Warnings []string }
			require.NoError(t, json.Unmarshal([]byte(stdout), &out))
			require.Equal(t, tt.warns, len(out.Warnings) == 1, "%v", out.Warnings)
		})
	}
}
