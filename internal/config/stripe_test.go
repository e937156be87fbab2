package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/secret"
)

func load(settings map[string]string) func(string) string {
	return func(k string) string { return settings[k] }
}

func TestLoadStripe(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]string
		want     Stripe
		problems []string // substrings, one per expected problem
	}{
		{name: "test key", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_a", "STRIPE_API_KEY": "sk_test_1"},
			want: Stripe{WebhookSecrets: []secret.Value{"whsec_a"}, APIKey: "sk_test_1"}},
		{name: "restricted test key", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_a", "STRIPE_API_KEY": "rk_test_1"},
			want: Stripe{WebhookSecrets: []secret.Value{"whsec_a"}, APIKey: "rk_test_1"}},
		{name: "rotated secrets with spaces", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": " whsec_new , whsec_old ", "STRIPE_API_KEY": "sk_test_1"},
			want: Stripe{WebhookSecrets: []secret.Value{"whsec_new", "whsec_old"}, APIKey: "sk_test_1"}},
		{name: "real-shaped key", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_a", "STRIPE_API_KEY": "rk_test_51HxYz09AbCdEfGhIjKlMnOpQrStUvWxYz"},
			want: Stripe{WebhookSecrets: []secret.Value{"whsec_a"}, APIKey: "rk_test_51HxYz09AbCdEfGhIjKlMnOpQrStUvWxYz"}},
		{name: "live key allowed", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_a", "STRIPE_API_KEY": "rk_live_1", "ALLOW_LIVE_MODE": "true"},
			want: Stripe{WebhookSecrets: []secret.Value{"whsec_a"}, APIKey: "rk_live_1", Livemode: true, AllowLive: true}},
		{name: "API URL", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_a", "STRIPE_API_KEY": "sk_test_1", "STRIPE_API_URL": "http://127.0.0.1:12111"},
			want: Stripe{WebhookSecrets: []secret.Value{"whsec_a"}, APIKey: "sk_test_1", APIURL: "http://127.0.0.1:12111"}},
		{name: "nothing set", settings: map[string]string{},
			problems: []string{"STRIPE_WEBHOOK_SECRET is required", "STRIPE_API_KEY is required"}},
		{name: "live key refused", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_a", "STRIPE_API_KEY": "sk_live_1"},
			problems: []string{"STRIPE_API_KEY is a live key; set ALLOW_LIVE_MODE=true"}},
		{name: "publishable key", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_a", "STRIPE_API_KEY": "pk_test_1"},
			problems: []string{"publishable key"}},
		{name: "unknown key", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_a", "STRIPE_API_KEY": "sk_1"},
			problems: []string{"must start with sk_test_, rk_test_, sk_live_ or rk_live_"}},
		{name: "secret without whsec_", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_a,secret", "STRIPE_API_KEY": "sk_test_1"},
			problems: []string{"entry 2 of 2 does not start with whsec_"}},
		// Secrets that are only separators, or only the prefix, would start
		// a handler that answers 400 to every webhook.
		{name: "secret of separators only", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": " , ,", "STRIPE_API_KEY": "sk_test_1"},
			problems: []string{"STRIPE_WEBHOOK_SECRET has an empty entry (1 of 3)", "empty entry (2 of 3)", "empty entry (3 of 3)"}},
		{name: "bare whsec_", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_", "STRIPE_API_KEY": "sk_test_1"},
			problems: []string{"STRIPE_WEBHOOK_SECRET has an entry (1 of 1) that is only whsec_: put the endpoint's signing secret"}},
		{name: "bare whsec_ beside a real one", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_a, whsec_ ", "STRIPE_API_KEY": "sk_test_1"},
			problems: []string{"entry (2 of 2) that is only whsec_"}},
		{name: "empty entry between secrets", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_a,,whsec_b", "STRIPE_API_KEY": "sk_test_1"},
			problems: []string{"empty entry (2 of 3)"}},
		{name: "trailing comma", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_a,", "STRIPE_API_KEY": "sk_test_1"},
			problems: []string{"empty entry (2 of 2)"}},
		{name: "secrets separated by a space", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_a whsec_b", "STRIPE_API_KEY": "sk_test_1"},
			problems: []string{"with a space in it"}},
		// A key that cannot be Stripe's is refused, whatever its prefix.
		{name: "key with underscores after the prefix", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_a", "STRIPE_API_KEY": "sk_test_your_key_here"},
			problems: []string{"STRIPE_API_KEY is not a Stripe key: after sk_test_ a real key has only letters and digits. Put a secret or restricted key"}},
		{name: "bare prefix", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_a", "STRIPE_API_KEY": "rk_test_"},
			problems: []string{"STRIPE_API_KEY is not a Stripe key"}},
		{name: "live key of the wrong shape", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_a", "STRIPE_API_KEY": "sk_live_<paste>", "ALLOW_LIVE_MODE": "true"},
			problems: []string{"STRIPE_API_KEY is not a Stripe key: after sk_live_"}},
		{name: "example's placeholders count as unset", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_from_stripe_listen_or_the_dashboard", "STRIPE_API_KEY": "sk_test_or_rk_test_key"},
			problems: []string{"STRIPE_WEBHOOK_SECRET is required", "STRIPE_API_KEY is required"}},
		{name: "bad boolean", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_a", "STRIPE_API_KEY": "sk_test_1", "ALLOW_LIVE_MODE": "yes please"},
			problems: []string{`ALLOW_LIVE_MODE must be true or false, not "yes please"`}},
		{name: "bad API URL", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_a", "STRIPE_API_KEY": "sk_test_1", "STRIPE_API_URL": "127.0.0.1:12111"},
			problems: []string{"STRIPE_API_URL must be an http(s) URL"}},
		{name: "API URL with a password", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_a", "STRIPE_API_KEY": "sk_test_1", "STRIPE_API_URL": "https://u:hunter2@api.example.com"},
			problems: []string{`STRIPE_API_URL must have no user, password, query or fragment (the API key authenticates), not "https://u:****@api.example.com"`}},
		{name: "API URL with a password that does not parse", settings: map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_a", "STRIPE_API_KEY": "sk_test_1", "STRIPE_API_URL": "https://u:hun/ter2@api.example.com"},
			problems: []string{"STRIPE_API_URL must be an http(s) URL such as http://127.0.0.1:12111"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := &loader{get: load(tc.settings)}
			got := loadStripe(l)
			require.Len(t, l.errs, len(tc.problems), "%v", l.errs)
			for i, p := range tc.problems {
				require.Contains(t, l.errs[i].Error(), p)
			}
			if len(tc.problems) == 0 {
				require.Equal(t, tc.want, got)
			}
			for _, e := range l.errs { // no problem quotes a key, secret or password
				require.NotContains(t, e.Error(), tc.settings["STRIPE_API_KEY"]+"\"")
				require.NotContains(t, e.Error(), "whsec_a")
				require.NotContains(t, e.Error(), "ter2")
			}
		})
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := Stripe{APIKey: "sk_live_verysecret", WebhookSecrets: []secret.Value{"whsec_verysecret"}}
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s.APIKey)} {
		require.NotContains(t, out, "verysecret")
	}
	require.Equal(t, "sk_live_…", s.APIKey.String())
	require.Equal(t, "sk_live_verysecret", s.APIKey.Reveal())
}

func TestLoadStorage(t *testing.T) {
	const key = "c2VjcmV0a2V5" // base64
	tests := []struct {
		name     string
		settings map[string]string
		want     Storage
		problem  string
	}{
		{name: "development storage", settings: map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true"},
			want: Storage{AccountName: "devstoreaccount1", AccountKey: secret.Value(strings.Split(strings.Split(DevelopmentStorage, "AccountKey=")[1], ";")[0]),
				BlobURL: "http://127.0.0.1:10000/devstoreaccount1", QueueURL: "http://127.0.0.1:10001/devstoreaccount1", TableURL: "http://127.0.0.1:10002/devstoreaccount1"}},
		{name: "account connection string", settings: map[string]string{"AzureWebJobsStorage": "DefaultEndpointsProtocol=https;AccountName=shop;AccountKey=" + key + ";EndpointSuffix=core.windows.net"},
			want: Storage{AccountName: "shop", AccountKey: key, BlobURL: "https://shop.blob.core.windows.net", QueueURL: "https://shop.queue.core.windows.net", TableURL: "https://shop.table.core.windows.net"}},
		{name: "identity by account name", settings: map[string]string{"AzureWebJobsStorage__accountName": "shop", "AzureWebJobsStorage__credential": "managedidentity", "AzureWebJobsStorage__clientId": "cid"},
			want: Storage{AccountName: "shop", Identity: true, ManagedIdentity: true, ClientID: "cid",
				BlobURL: "https://shop.blob.core.windows.net", QueueURL: "https://shop.queue.core.windows.net", TableURL: "https://shop.table.core.windows.net"}},
		{name: "identity by service URIs", settings: map[string]string{"AzureWebJobsStorage__blobServiceUri": "https://shop.blob.core.windows.net/",
			"AzureWebJobsStorage__queueServiceUri": "https://shop.queue.core.windows.net", "AzureWebJobsStorage__tableServiceUri": "https://shop.table.core.windows.net"},
			want: Storage{AccountName: "shop", Identity: true, BlobURL: "https://shop.blob.core.windows.net", QueueURL: "https://shop.queue.core.windows.net", TableURL: "https://shop.table.core.windows.net"}},
		{name: "connection string wins over identity settings", settings: map[string]string{"AzureWebJobsStorage": "AccountName=a;AccountKey=" + key, "AzureWebJobsStorage__accountName": "b"},
			want: Storage{AccountName: "a", AccountKey: key, BlobURL: "https://a.blob.core.windows.net", QueueURL: "https://a.queue.core.windows.net", TableURL: "https://a.table.core.windows.net"}},
		{name: "unset", settings: map[string]string{}, problem: "AzureWebJobsStorage is required"},
		{name: "SAS connection string", settings: map[string]string{"AzureWebJobsStorage": "BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=x"}, problem: "must name AccountName and AccountKey"},
		{name: "not a connection string", settings: map[string]string{"AzureWebJobsStorage": "hello"}, problem: "is not a connection string"},
		{name: "key not base64", settings: map[string]string{"AzureWebJobsStorage": "AccountName=a;AccountKey=not base64!"}, problem: "not base64"},
		{name: "one service URI missing", settings: map[string]string{"AzureWebJobsStorage__blobServiceUri": "https://a.blob.core.windows.net"}, problem: "__queueServiceUri is required"},
		{name: "http service URI", settings: map[string]string{"AzureWebJobsStorage__blobServiceUri": "http://a", "AzureWebJobsStorage__queueServiceUri": "https://a.queue.core.windows.net", "AzureWebJobsStorage__tableServiceUri": "https://a.table.core.windows.net"}, problem: "must be an https URL"},
		{name: "unknown credential", settings: map[string]string{"AzureWebJobsStorage__accountName": "a", "AzureWebJobsStorage__credential": "password"}, problem: "must be managedidentity"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := &loader{get: load(tc.settings)}
			got := loadStorage(l)
			if tc.problem != "" {
				require.NotEmpty(t, l.errs)
				require.Contains(t, l.errs[0].Error(), tc.problem)
				require.NotContains(t, fmt.Sprint(l.errs), key, "the key is never quoted")
				return
			}
			require.Empty(t, l.errs)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestLoadJoinsEveryProblem(t *testing.T) {
	_, err := Load(load(map[string]string{"LOG_LEVEL": "loud", "DOWNLOAD_LINK_TTL": "forever"}))
	var ce *Error
	require.ErrorAs(t, err, &ce)
	msg := err.Error()
	for _, want := range []string{"STRIPE_WEBHOOK_SECRET", "STRIPE_API_KEY", "AzureWebJobsStorage", "EMAIL_SENDER", "LOG_LEVEL", "DOWNLOAD_LINK_TTL"} {
		require.Contains(t, msg, want)
	}
}

func TestLocalSettings(t *testing.T) {
	dir := t.TempDir()
	vals, err := LocalSettings(dir + "/missing.json")
	require.NoError(t, err)
	require.Empty(t, vals)

	get := Layered(load(map[string]string{"A": "env"}), map[string]string{"A": "file", "B": "file"})
	require.Equal(t, "env", get("A"), "the environment wins")
	require.Equal(t, "file", get("B"))
}
