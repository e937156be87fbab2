package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/secret"
)

func TestLoadDownload(t *testing.T) {
	linkSecret := strings.Repeat("k", 32)
	base := map[string]string{
		"STRIPE_WEBHOOK_SECRET": "whsec_abc", "STRIPE_API_KEY": "sk_test_abc", "AzureWebJobsStorage": "UseDevelopmentStorage=true",
		"EMAIL_SENDER": "shop@example.com", "EMAIL_OUTBOX_DIR": "/tmp/outbox",
		"PUBLIC_BASE_URL": "https://shop.example/", "ORDER_LINK_SECRET": linkSecret + ", old" + linkSecret,
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    func(t *testing.T, d Download)
		problem string
	}{
		{name: "defaults", want: func(t *testing.T, d Download) {
			require.Equal(t, Download{Links: LinksPage, PublicBaseURL: "https://shop.example", LinkSecrets: []secret.Value{secret.Value(linkSecret), secret.Value("old" + linkSecret)},
				Window: 720 * time.Hour, Limit: 10, SASTTL: 10 * time.Minute}, d)
		}},
		{name: "unlimited", env: map[string]string{"DOWNLOAD_LIMIT": "0"}, want: func(t *testing.T, d Download) { require.Zero(t, d.Limit) }},
		{name: "direct needs neither", env: map[string]string{"DOWNLOAD_LINKS": "direct", "PUBLIC_BASE_URL": "", "ORDER_LINK_SECRET": ""},
			want: func(t *testing.T, d Download) { require.False(t, d.Page()) }},
		{name: "page needs a base URL", env: map[string]string{"PUBLIC_BASE_URL": ""}, problem: "PUBLIC_BASE_URL is required"},
		{name: "page needs a secret", env: map[string]string{"ORDER_LINK_SECRET": ""}, problem: "ORDER_LINK_SECRET is required"},
		{name: "short secret", env: map[string]string{"ORDER_LINK_SECRET": linkSecret + ",short"}, problem: "ORDER_LINK_SECRET secret 2 of 2 is 5 characters"},
		{name: "http base URL", env: map[string]string{"PUBLIC_BASE_URL": "http://shop.example"}, problem: "PUBLIC_BASE_URL must be an https URL"},
		{name: "base URL with a query", env: map[string]string{"PUBLIC_BASE_URL": "https://shop.example/?code=x"}, problem: "PUBLIC_BASE_URL must have no user, query or fragment"},
		{name: "negative limit", env: map[string]string{"DOWNLOAD_LIMIT": "-1"}, problem: "DOWNLOAD_LIMIT must be a whole number"},
		{name: "long SAS", env: map[string]string{"DOWNLOAD_SAS_TTL": "48h"}, problem: "DOWNLOAD_SAS_TTL must be at most 24h"},
		{name: "bad window", env: map[string]string{"DOWNLOAD_WINDOW": "a month"}, problem: "DOWNLOAD_WINDOW must be a positive duration"},
		{name: "bad mode", env: map[string]string{"DOWNLOAD_LINKS": "both"}, problem: "DOWNLOAD_LINKS must be one of page, direct"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tt.env {
				env[k] = v
			}
			c, err := Load(func(k string) string { return env[k] })
			if tt.problem != "" {
				require.ErrorContains(t, err, tt.problem)
				require.NotContains(t, err.Error(), linkSecret, "no message quotes a secret")
				return
			}
			require.NoError(t, err)
			tt.want(t, c.Download)
		})
	}
}
