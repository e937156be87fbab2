package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLoadLinks(t *testing.T) {
	keyed := Storage{AccountName: "acct", AccountKey: "a2V5", BlobURL: "https://acct.blob.core.windows.net"}
	identity := Storage{AccountName: "acct", Identity: true, BlobURL: "https://acct.blob.core.windows.net"}
	tests := []struct {
		name    string
		env     map[string]string
		st      Storage
		want    Links
		problem string // a substring of the only problem; "" for none
	}{
		{name: "defaults", st: keyed,
			want: Links{Container: "originals", TTL: 720 * time.Hour}},
		{name: "identity default is the key's lifetime", st: identity,
			want: Links{Container: "originals", TTL: 168 * time.Hour}},
		{name: "all set", st: keyed,
			env:  map[string]string{"ORIGINALS_CONTAINER": "photo-originals-2", "DOWNLOAD_LINK_TTL": "48h", "DOWNLOAD_BASE_URL": "https://dl.example.com/o/"},
			want: Links{Container: "photo-originals-2", TTL: 48 * time.Hour, BaseURL: "https://dl.example.com/o"}},
		{name: "identity at the limit", st: identity,
			env:  map[string]string{"DOWNLOAD_LINK_TTL": "168h"},
			want: Links{Container: "originals", TTL: 168 * time.Hour}},
		{name: "identity over the limit", st: identity,
			env: map[string]string{"DOWNLOAD_LINK_TTL": "169h"}, problem: "DOWNLOAD_LINK_TTL must be at most 168h with an identity-based"},
		{name: "key mode allows long links", st: keyed,
			env:  map[string]string{"DOWNLOAD_LINK_TTL": "2160h"},
			want: Links{Container: "originals", TTL: 2160 * time.Hour}},
		{name: "ttl not a duration", st: keyed, env: map[string]string{"DOWNLOAD_LINK_TTL": "30 days"}, problem: "DOWNLOAD_LINK_TTL must be a positive duration"},
		{name: "ttl negative", st: keyed, env: map[string]string{"DOWNLOAD_LINK_TTL": "-1h"}, problem: "DOWNLOAD_LINK_TTL must be a positive duration"},
		{name: "ttl too short", st: keyed, env: map[string]string{"DOWNLOAD_LINK_TTL": "30s"}, problem: "DOWNLOAD_LINK_TTL must be at least 1m0s"},
		{name: "ttl over a year", st: keyed, env: map[string]string{"DOWNLOAD_LINK_TTL": "9000h"}, problem: "DOWNLOAD_LINK_TTL must be at most 8760h"},
		{name: "container upper case", st: keyed, env: map[string]string{"ORIGINALS_CONTAINER": "Originals"}, problem: "ORIGINALS_CONTAINER must be a container name"},
		{name: "container too short", st: keyed, env: map[string]string{"ORIGINALS_CONTAINER": "ab"}, problem: "ORIGINALS_CONTAINER must be a container name"},
		{name: "container too long", st: keyed, env: map[string]string{"ORIGINALS_CONTAINER": strings.Repeat("a", 64)}, problem: "ORIGINALS_CONTAINER"},
		{name: "container double hyphen", st: keyed, env: map[string]string{"ORIGINALS_CONTAINER": "my--photos"}, problem: "ORIGINALS_CONTAINER"},
		{name: "container leading hyphen", st: keyed, env: map[string]string{"ORIGINALS_CONTAINER": "-photos"}, problem: "ORIGINALS_CONTAINER"},
		{name: "container trailing hyphen", st: keyed, env: map[string]string{"ORIGINALS_CONTAINER": "photos-"}, problem: "ORIGINALS_CONTAINER"},
		{name: "container underscore", st: keyed, env: map[string]string{"ORIGINALS_CONTAINER": "my_photos"}, problem: "ORIGINALS_CONTAINER"},
		{name: "container special $web", st: keyed, env: map[string]string{"ORIGINALS_CONTAINER": "$web"}, problem: "ORIGINALS_CONTAINER"},
		{name: "base url http", st: keyed, env: map[string]string{"DOWNLOAD_BASE_URL": "http://dl.example.com"}, problem: "DOWNLOAD_BASE_URL must be an https URL"},
		{name: "base url http localhost", st: keyed,
			env:  map[string]string{"DOWNLOAD_BASE_URL": "http://localhost:10000/devstoreaccount1/originals"},
			want: Links{Container: "originals", TTL: 720 * time.Hour, BaseURL: "http://localhost:10000/devstoreaccount1/originals"}},
		{name: "base url http loopback ip", st: keyed,
			env:  map[string]string{"DOWNLOAD_BASE_URL": "http://127.0.0.1:10000/devstoreaccount1/originals"},
			want: Links{Container: "originals", TTL: 720 * time.Hour, BaseURL: "http://127.0.0.1:10000/devstoreaccount1/originals"}},
		{name: "base url relative", st: keyed, env: map[string]string{"DOWNLOAD_BASE_URL": "dl.example.com/originals"}, problem: "DOWNLOAD_BASE_URL must be an absolute URL"},
		{name: "base url with query", st: keyed, env: map[string]string{"DOWNLOAD_BASE_URL": "https://dl.example.com/?x=1"}, problem: "DOWNLOAD_BASE_URL must have no user, query or fragment"},
		{name: "base url with user", st: keyed, env: map[string]string{"DOWNLOAD_BASE_URL": "https://me:pw@dl.example.com"}, problem: "DOWNLOAD_BASE_URL must have no user"},
		{name: "base url ftp", st: keyed, env: map[string]string{"DOWNLOAD_BASE_URL": "ftp://dl.example.com"}, problem: "DOWNLOAD_BASE_URL must be an https URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &loader{get: func(k string) string { return tt.env[k] }}
			got := loadLinks(l, tt.st)
			if tt.problem == "" {
				require.Empty(t, l.errs)
				require.Equal(t, tt.want, got)
				return
			}
			require.Len(t, l.errs, 1)
			require.Contains(t, l.errs[0].Error(), tt.problem)
		})
	}
}

func TestLoadReportsLinkProblems(t *testing.T) {
	env := map[string]string{
		"STRIPE_WEBHOOK_SECRET":            "whsec_x",
		"STRIPE_API_KEY":                   "sk_test_x",
		"AzureWebJobsStorage__accountName": "acct",
		"DOWNLOAD_LINK_TTL":                "720h",
	}
	_, err := Load(func(k string) string { return env[k] })
	var cerr *Error
	require.True(t, errors.As(err, &cerr), "got %v", err)
	require.Contains(t, err.Error(), "DOWNLOAD_LINK_TTL must be at most 168h")
}
