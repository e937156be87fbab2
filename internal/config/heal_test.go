package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHealSettings(t *testing.T) {
	base := map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true", "EMAIL_SENDER": "shop@example.com",
		"STRIPE_API_KEY": "sk_test_abc", "STRIPE_WEBHOOK_SECRET": "whsec_abc", "EMAIL_OUTBOX_DIR": "/tmp/outbox", "DOWNLOAD_LINKS": "direct"}
	tests := []struct {
		name      string
		env       map[string]string
		want      string // a problem; "" for none
		retry     Retry
		reconcile Reconcile
	}{
		{name: "defaults", retry: Retry{Budget: 24 * time.Hour, Min: time.Second, Max: 15 * time.Minute},
			reconcile: Reconcile{Schedule: "0 */15 * * * *", Window: 72 * time.Hour, Grace: 10 * time.Minute}},
		{name: "compressed for a test", env: map[string]string{"RETRY_BUDGET": "10m", "RETRY_MIN": "1s", "RETRY_MAX": "4s",
			"RECONCILE_SCHEDULE": "*/20 * * * * *", "RECONCILE_WINDOW": "1h", "RECONCILE_GRACE": "30s"},
			retry:     Retry{Budget: 10 * time.Minute, Min: time.Second, Max: 4 * time.Second},
			reconcile: Reconcile{Schedule: "*/20 * * * * *", Window: time.Hour, Grace: 30 * time.Second}},
		{name: "budget not a duration", env: map[string]string{"RETRY_BUDGET": "a day"}, want: "RETRY_BUDGET must be a positive duration"},
		{name: "min under a second", env: map[string]string{"RETRY_MIN": "10ms"}, want: "RETRY_MIN must be at least 1s"},
		{name: "max under min", env: map[string]string{"RETRY_MIN": "10s", "RETRY_MAX": "5s"}, want: "RETRY_MAX must not be shorter than RETRY_MIN"},
		{name: "budget under max", env: map[string]string{"RETRY_BUDGET": "1m"}, want: "RETRY_BUDGET must not be shorter than RETRY_MAX"},
		{name: "five-field cron", env: map[string]string{"RECONCILE_SCHEDULE": "*/15 * * * *"}, want: "RECONCILE_SCHEDULE is not a six-field NCRONTAB schedule"},
		{name: "grace over window", env: map[string]string{"RECONCILE_WINDOW": "1h", "RECONCILE_GRACE": "2h"}, want: "RECONCILE_GRACE must be shorter than RECONCILE_WINDOW"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(func(k string) string {
				if v, ok := tt.env[k]; ok {
					return v
				}
				return base[k]
			})
			if tt.want != "" {
				require.ErrorContains(t, err, tt.want)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.retry, c.Retry)
			require.Equal(t, tt.reconcile, c.Reconcile)
		})
	}
}
