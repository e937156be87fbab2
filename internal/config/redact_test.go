package config

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRedact(t *testing.T) {
	tests := []struct{ name, value, want string }{
		{"STRIPE_API_KEY", "sk_test_51Habc", "sk_test_…"},
		{"STRIPE_API_KEY", "not a key at all " + mark, "…"},
		{"STRIPE_WEBHOOK_SECRET", "whsec_abc,whsec_def", "whsec_…"},
		{"STRIPE_WEBHOOK_SECRET", " , ," + mark, "…"},
		{"AzureWebJobsStorage", "AccountName=a;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net", "AccountName=a;AccountKey=****;EndpointSuffix=core.windows.net"},
		{"AzureWebJobsStorage", "UseDevelopmentStorage=true", "UseDevelopmentStorage=true"},
		{"AzureWebJobsStorage", "BlobEndpoint=https://a.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&sig=" + mark + "%3D",
			"BlobEndpoint=https://a.blob.core.windows.net/;SharedAccessSignature=****"},
		{"AzureWebJobsStorage", "AccountName=a;Password=" + mark + ";", "AccountName=a;Password=****;"},
		{"AzureWebJobsStorage", "AccountName=a;" + mark, Masked},
		{"AzureWebJobsStorage", "AccountName=a;BlobEndpoint=https://a.blob.core.windows.net/?sv=1&sig=" + mark, "AccountName=a;BlobEndpoint=https://a.blob.core.windows.net/?sv=****&sig=****"},
		{"AzureWebJobsStorage", "AccountName=a;BlobEndpoint=https://u:" + mark + "@a.blob.core.windows.net", "AccountName=a;BlobEndpoint=https://u:****@a.blob.core.windows.net"},
		{"AzureWebJobsStorage", DevelopmentStorage, "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=****;" +
			"BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"},
		{"AzureWebJobsStorage__blobServiceUri", "https://a.blob.core.windows.net/?sig=" + mark, "https://a.blob.core.windows.net/?sig=****"},
		{"ACS_CONNECTION_STRING", "endpoint=https://x.communication.azure.com/;accesskey=c2VjcmV0", "endpoint=https://x.communication.azure.com/;accesskey=****"},
		{"ACS_CONNECTION_STRING", "endpoint=https://x.communication.azure.com/,accesskey=" + mark, "endpoint=****"},
		{"ACS_CONNECTION_STRING", "Endpoint=https://x.communication.azure.com/;AccessKey=" + mark, "Endpoint=https://x.communication.azure.com/;AccessKey=****"},
		{"SMTP_URL", "smtp://user:p%40ss@mail.example.com:587", "smtp://user:****@mail.example.com:587"},
		{"SMTP_URL", "smtps://user%40example.com:" + mark + "@mail.example.com?insecure=true", "smtps://user%40example.com:****@mail.example.com?insecure=true"},
		{"SMTP_URL", "smtp://" + mark + "@mail.example.com", "smtp://****@mail.example.com"},
		{"SMTP_URL", "smtp://mail.example.com?password=" + mark + "&starttls=false", "smtp://mail.example.com?password=****&starttls=false"},
		{"SMTP_URL", "smtp://mail.example.com#" + mark, "smtp://mail.example.com#****"},
		// A raw password that url.Parse cannot read, or reads as something else.
		{"SMTP_URL", "smtp://user:ab%" + mark + "@mail.example.com:587", Masked},
		{"SMTP_URL", "smtp://user:ab#" + mark + "@mail.example.com:587", Masked},
		{"SMTP_URL", "smtp://user:12#" + mark + "@mail.example.com:587", Masked},
		{"SMTP_URL", "smtp://user:ab/" + mark + "@mail.example.com:587", Masked},
		{"SMTP_URL", "smtp://user:12/" + mark + "@mail.example.com:587", Masked},
		{"SMTP_URL", "smtp://user:12?" + mark + "@mail.example.com:587", Masked},
		{"SMTP_URL", "smtp://user:a " + mark + "@mail.example.com:587", Masked},
		{"SMTP_URL", "user:" + mark + "@mail.example.com:587", Masked},
		{"STRIPE_API_URL", "https://u:" + mark + "@api.example.com", "https://u:****@api.example.com"},
		{"STRIPE_API_URL", "http://127.0.0.1:12111", "http://127.0.0.1:12111"},
		{"DOWNLOAD_BASE_URL", "https://cdn.example.com/originals?token=" + mark, "https://cdn.example.com/originals?token=****"},
		{"DOWNLOAD_BASE_URL", "https://u:1/" + mark + "@cdn.example.com/originals", Masked},
		{"ACS_ENDPOINT", "https://r.communication.azure.com", "https://r.communication.azure.com"},
		{"SHOP_NAME", "Photos & Co", "Photos & Co"},
		{"EMAIL_OUTBOX_DIR", "./outbox", "./outbox"},
		// Settings the program does not read: by name, then by value.
		{"MY_API_TOKEN", mark, "…"},
		{"SOME_URL", "https://u:" + mark + "@example.com", Masked},
		{"SOME_CS", "AccountName=a;AccountKey=" + mark, Masked},
		{"FUNCTIONS_WORKER_RUNTIME", "custom", "custom"},
		{"SMTP_URL", "", ""},
	}
	for _, tc := range tests {
		got := Redact(tc.name, tc.value)
		require.Equal(t, tc.want, got, "%s=%s", tc.name, tc.value)
		require.NotContains(t, got, mark)
	}
}

func TestPrintable(t *testing.T) {
	tests := []struct {
		name, value string
		want        bool
	}{
		{"EMAIL_OUTBOX_DIR", "./outbox", true},
		{"LOG_LEVEL", "info", true},
		{"FUNCTIONS_WORKER_RUNTIME", "custom", true},
		{"STRIPE_API_URL", "http://127.0.0.1:12111", true},
		{"STRIPE_API_URL", "", true},
		{"STRIPE_API_URL", "https://u:p@api.example.com", false},
		{"STRIPE_API_URL", "https://u:1/p@api.example.com", false},
		{"DOWNLOAD_BASE_URL", "https://cdn.example.com/x?sig=1", false},
		// Secret by name, whatever the value: even one masking would not change.
		{"STRIPE_API_KEY", "…", false},
		{"STRIPE_WEBHOOK_SECRET", "", false},
		{"SMTP_URL", "smtp://mail.example.com", false},
		{"SMTP_URL", "smtp://user:a b@mail.example.com", false},
		{"AzureWebJobsStorage", "UseDevelopmentStorage=true", false},
		{"ACS_CONNECTION_STRING", "garbage", false},
		{"MY_PASSWORD", "x", false},
		{"OTHER", "https://u:p@example.com", false},
		{"OTHER", "AccountKey=abc", false},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, Printable(tc.name, tc.value), "%s=%s", tc.name, tc.value)
	}
}

// TestEverySettingIsClassified keeps settingKinds complete: a setting Load
// reads that it does not list would be shown by its value alone.
func TestEverySettingIsClassified(t *testing.T) {
	for _, env := range []map[string]string{
		{"AzureWebJobsStorage": "UseDevelopmentStorage=true", "EMAIL_OUTBOX_DIR": "o"},
		{"AzureWebJobsStorage__blobServiceUri": "https://a.blob.core.windows.net", "SMTP_URL": "smtp://h", "ACS_ENDPOINT": "https://r.communication.azure.com"},
	} {
		read := map[string]bool{}
		_, _ = Load(func(k string) string { read[k] = true; return env[k] })
		for k := range read {
			_, ok := settingKinds[k]
			require.True(t, ok, "settingKinds does not list %s", k)
		}
	}
}

// TestProblemsNeverQuoteCredentials walks every message that quotes a URL
// or a connection string with a credential in the value.
func TestProblemsNeverQuoteCredentials(t *testing.T) {
	base := map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_a", "STRIPE_API_KEY": "sk_test_1",
		"AzureWebJobsStorage": "UseDevelopmentStorage=true", "EMAIL_SENDER": "a@shop.example"}
	tests := []struct {
		name     string
		settings map[string]string
		problem  string
	}{
		{"Stripe API URL, another scheme", map[string]string{"STRIPE_API_URL": "ftp://u:" + mark + "@h"}, "STRIPE_API_URL must be an http(s) URL"},
		{"Stripe API URL with a password", map[string]string{"STRIPE_API_URL": "https://u:" + mark + "@h"}, "STRIPE_API_URL must have no user"},
		{"Stripe API URL with a token", map[string]string{"STRIPE_API_URL": "https://h/?token=" + mark}, "STRIPE_API_URL must have no user"},
		{"Stripe API URL, password that does not parse", map[string]string{"STRIPE_API_URL": "https://u:1/" + mark + "@h"}, "STRIPE_API_URL must"},
		{"Stripe key of the wrong shape", map[string]string{"STRIPE_API_KEY": "sk_test_" + mark + "_"}, "STRIPE_API_KEY is not a Stripe key"},
		{"Stripe key of no known kind", map[string]string{"STRIPE_API_KEY": mark}, "STRIPE_API_KEY must start with"},
		{"webhook secret with a space", map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_" + mark + " x"}, "STRIPE_WEBHOOK_SECRET has an entry"},
		{"webhook secret without prefix", map[string]string{"STRIPE_WEBHOOK_SECRET": mark}, "STRIPE_WEBHOOK_SECRET must be whsec_"},
		{"storage endpoint, another scheme", map[string]string{"AzureWebJobsStorage": "AccountName=a;AccountKey=" + mark + ";BlobEndpoint=ftp://u:" + mark + "@h"}, "AzureWebJobsStorage has an endpoint"},
		{"storage endpoint with a SAS", map[string]string{"AzureWebJobsStorage": "AccountName=a;AccountKey=" + mark + ";BlobEndpoint=https://h/?sig=" + mark}, "AzureWebJobsStorage has an endpoint"},
		{"storage SAS", map[string]string{"AzureWebJobsStorage": "BlobEndpoint=https://h;SharedAccessSignature=sv=1&sig=" + mark}, "must name AccountName and AccountKey"},
		{"storage key not base64", map[string]string{"AzureWebJobsStorage": "AccountName=a;AccountKey=" + mark + "!"}, "not base64"},
		{"storage string with a part without =", map[string]string{"AzureWebJobsStorage": "AccountName=a;AccountKey " + mark}, "is not a connection string"},
		{"service URI with a password", map[string]string{"AzureWebJobsStorage": "", "AzureWebJobsStorage__blobServiceUri": "https://u:" + mark + "@h",
			"AzureWebJobsStorage__queueServiceUri": "https://q", "AzureWebJobsStorage__tableServiceUri": "http://t/?sig=" + mark}, "__blobServiceUri must be an https URL"},
		{"download base URL with a password", map[string]string{"DOWNLOAD_BASE_URL": "https://u:" + mark + "@h"}, "DOWNLOAD_BASE_URL must have no user"},
		{"download base URL that does not parse", map[string]string{"DOWNLOAD_BASE_URL": "https://u:a b" + mark + "@h"}, "DOWNLOAD_BASE_URL must be an absolute URL"},
		{"download base URL with a token", map[string]string{"DOWNLOAD_BASE_URL": "https://h/?sig=" + mark}, "DOWNLOAD_BASE_URL must have no user"},
		{"download base URL, http", map[string]string{"DOWNLOAD_BASE_URL": "http://h/" + mark + "=x"}, "DOWNLOAD_BASE_URL must be an https URL"},
		{"ACS endpoint over http", map[string]string{"ACS_CONNECTION_STRING": "endpoint=http://u:" + mark + "@h/;accesskey=" + mark}, "ACS_CONNECTION_STRING must have an https endpoint"},
		{"ACS key not base64", map[string]string{"ACS_CONNECTION_STRING": "endpoint=https://h/;accesskey=" + mark + "!"}, "accesskey that is not base64"},
		{"ACS pairs separated by commas", map[string]string{"ACS_CONNECTION_STRING": "endpoint=https://h/,accesskey=" + mark}, "ACS_CONNECTION_STRING must have an https endpoint"},
		{"ACS not a connection string", map[string]string{"ACS_CONNECTION_STRING": "endpoint=https://h/;" + mark}, "ACS_CONNECTION_STRING is not a connection string"},
		{"ACS endpoint with a token", map[string]string{"ACS_ENDPOINT": "https://h/?token=" + mark}, "ACS_ENDPOINT must have an https endpoint"},
		{"ACS endpoint with a password", map[string]string{"ACS_ENDPOINT": "https://u:" + mark + "@h"}, "ACS_ENDPOINT must have an https endpoint"},
		{"SMTP, another scheme", map[string]string{"SMTP_URL": "http://u:" + mark + "@h?token=" + mark}, "SMTP_URL must start with smtp://"},
		{"SMTP without host", map[string]string{"SMTP_URL": "smtp://u:" + mark + "@:25?token=" + mark}, "SMTP_URL has no host"},
		{"SMTP with a bad port", map[string]string{"SMTP_URL": "smtp://u:" + mark + "@h:99999?x=" + mark}, "SMTP_URL has a port"},
		{"SMTP with a path", map[string]string{"SMTP_URL": "smtp://u:" + mark + "@h/p?x=" + mark}, "SMTP_URL must not have a path"},
		{"SMTP without user", map[string]string{"SMTP_URL": "smtp://:" + mark + "@h?x=" + mark}, "SMTP_URL must have both a user name and a password"},
		{"SMTP with an unknown parameter", map[string]string{"SMTP_URL": "smtp://u:p@h?" + mark + "=1"}, "SMTP_URL has an unknown parameter"},
		{"SMTP password with #", map[string]string{"SMTP_URL": "smtp://u:12#" + mark + "@h"}, "SMTP_URL is not a URL"},
		{"SMTP password with ?", map[string]string{"SMTP_URL": "smtp://u:12?" + mark + "@h"}, "SMTP_URL is not a URL"},
		{"SMTP password with /", map[string]string{"SMTP_URL": "smtp://u:12/" + mark + "@h"}, "SMTP_URL is not a URL"},
		{"SMTP password with %", map[string]string{"SMTP_URL": "smtp://u:1%" + mark + "@h"}, "SMTP_URL is not a URL"},
		{"SMTP password with a space", map[string]string{"SMTP_URL": "smtp://u:1 " + mark + "@h"}, "SMTP_URL is not a URL"},
		{"SMTP starttls", map[string]string{"SMTP_URL": "smtp://u:" + mark + "@h?starttls=maybe"}, "SMTP_URL has starttls"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tc.settings {
				env[k] = v
			}
			c, err := Load(func(k string) string { return env[k] })
			var ce *Error
			require.True(t, errors.As(err, &ce), "%v", err)
			require.Contains(t, err.Error(), tc.problem)
			require.NotContains(t, err.Error(), mark)
			for _, f := range configFormats(c) {
				require.NotContains(t, f, mark, "the config returned beside the error holds no credential in clear")
			}
		})
	}
}

// TestRedactFailsClosedOnOddQueries: a query part that is no name=value
// pair, or whose name looks like a credential, is masked whole; and
// config --get never prints what config masks.
func TestRedactFailsClosedOnOddQueries(t *testing.T) {
	tests := []struct {
		name, setting, value string
		secret               string // must not show
	}{
		{"a bare query part", "STRIPE_API_URL", "http://127.0.0.1:12111/?sk_test_51Hsecret", "sk_test_51Hsecret"},
		{"a key named like a Stripe key", "STRIPE_API_URL", "http://127.0.0.1:12111/?sk_live_x=1", "sk_live_x"},
		{"a bare part beside a pair", "PUBLIC_BASE_URL", "https://shop.example/?a=1&hunter2", "hunter2"},
		{"a path holding pairs", "PUBLIC_BASE_URL", "https://shop.example/x;sig=abc123", "abc123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Redact(tt.setting, tt.value)
			require.NotContains(t, got, tt.secret)
			require.False(t, Printable(tt.setting, tt.value), "config --get must not print %q", tt.value)
		})
	}
	require.True(t, Printable("PUBLIC_BASE_URL", "https://shop.example"), "a clean URL prints")
	require.False(t, Printable("SOME_OTHER_SETTING", "sk_live_51Habc"), "an unknown setting holding a Stripe key does not print")
	require.Equal(t, "smtp://mail.example:587?starttls=false", Redact("SMTP_URL", "smtp://mail.example:587?starttls=false"))
}
