package app

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop"
	"github.com/filedrop/filedrop/internal/config"
	"github.com/filedrop/filedrop/internal/functions"
)

// TestHandlerRefusesATooShortFunctionTimeout: the route timeout, the stages'
// steps and the lease come from one budget; a host.json functionTimeout that
// leaves a mail send less than one attempt of the transport is refused at
// start-up, with the functionTimeout that would do.
func TestHandlerRefusesATooShortFunctionTimeout(t *testing.T) {
	transports := map[string]map[string]string{
		"outbox": {"EMAIL_OUTBOX_DIR": t.TempDir()},
		"acs":    {"ACS_CONNECTION_STRING": "endpoint=https://shop.communication.azure.com/;accesskey=c2VjcmV0"},
		"smtp":   {"SMTP_URL": "smtp://user:pass@127.0.0.1:2525"},
	}
	tests := []struct {
		transport       string
		functionTimeout time.Duration
		wantErr         string
	}{
		{transport: "acs", functionTimeout: 5 * time.Minute},
		{transport: "smtp", functionTimeout: 5 * time.Minute},
		{transport: "outbox", functionTimeout: 5 * time.Minute},
		{transport: "acs", functionTimeout: 0},
		{transport: "acs", functionTimeout: 10 * time.Minute},
		{transport: "outbox", functionTimeout: time.Minute},
		{transport: "acs", functionTimeout: time.Minute,
			wantErr: "host.json functionTimeout 00:01:00 is too short: inconsistent time budget: a step may take 28s but needs at least 40s (one attempt through MAIL_TRANSPORT=acs may take 40s); set functionTimeout to at least 00:01:15"},
		{transport: "smtp", functionTimeout: time.Minute,
			wantErr: "needs at least 1m0s (one attempt through MAIL_TRANSPORT=smtp may take 1m0s); set functionTimeout to at least 00:01:40"},
		{transport: "acs", functionTimeout: 30 * time.Second, wantErr: "set functionTimeout to at least 00:01:15"},
		{transport: "outbox", functionTimeout: 20 * time.Second,
			wantErr: "host.json functionTimeout 00:00:20 is too short: inconsistent time budget: a step may take -4s but needs at least 1s; set functionTimeout to at least 00:00:27"},
	}
	for _, tt := range tests {
		t.Run(tt.transport+" "+timeSpan(tt.functionTimeout), func(t *testing.T) {
			settings := map[string]string{
				"AzureWebJobsStorage":   "UseDevelopmentStorage=true",
				"STRIPE_WEBHOOK_SECRET": "whsec_app_test",
				"STRIPE_API_KEY":        "sk_test_123",
				"EMAIL_SENDER":          "shop@example.com",
				"PUBLIC_BASE_URL":       "https://shop.example",
				"ORDER_LINK_SECRET":     "test-order-link-secret-0123456789abcdef",
			}
			for k, v := range transports[tt.transport] {
				settings[k] = v
			}
			get := func(k string) string { return settings[k] }
			cfg, err := config.Load(get)
			require.NoError(t, err)
			fns, err := functions.LoadApp(filedrop.AppFiles, get)
			require.NoError(t, err)
			fns.FunctionTimeout = tt.functionTimeout
			p, err := New(cfg, fns, slog.New(slog.DiscardHandler))
			require.NoError(t, err)

			_, err = p.Handler(io.Discard)

			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce, "the command line exits with its settings code")
		})
	}
}
