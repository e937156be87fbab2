package app

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/config"
	"github.com/filedrop/filedrop/internal/secret"
	"github.com/filedrop/filedrop/internal/storage"
	"github.com/filedrop/filedrop/internal/storage/blobstore"
)

// sameFields requires that every field of the settings struct from has a
// field of the same name and value in the adapter's options to; a secret is
// compared by what it reveals.
func sameFields(t *testing.T, from, to any) {
	t.Helper()
	f, o := reflect.ValueOf(from), reflect.ValueOf(to)
	for i := range f.NumField() {
		name := f.Type().Field(i).Name
		got := o.FieldByName(name)
		require.True(t, got.IsValid(), "%s has no field %s: map it, or say here why not", o.Type(), name)
		want, have := f.Field(i).Interface(), got.Interface()
		if s, ok := want.(secret.Value); ok {
			want, have = s.Reveal(), have.(secret.Value).Reveal()
		}
		require.Equal(t, want, have, "%s.%s", o.Type(), name)
	}
}

func TestStorageOptionsKeepEverySetting(t *testing.T) {
	keyed, problem := config.ParseConnectionString("DefaultEndpointsProtocol=https;AccountName=shop;AccountKey=a2V5;EndpointSuffix=core.windows.net")
	require.Empty(t, problem)
	tests := []struct {
		name string
		st   config.Storage
	}{
		{"account key", keyed},
		{"azurite", func() config.Storage { s, _ := config.ParseConnectionString(config.DevelopmentStorage); return s }()},
		{"user-assigned identity", config.Storage{AccountName: "shop", Identity: true, ClientID: "1234", ManagedIdentity: true,
			BlobURL: "https://shop.blob.core.windows.net", QueueURL: "https://shop.queue.core.windows.net", TableURL: "https://shop.table.core.windows.net"}},
		{"default credential", config.Storage{AccountName: "shop", Identity: true, BlobURL: "https://b", QueueURL: "https://q", TableURL: "https://t"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sameFields(t, tt.st, storageOptions(tt.st))
		})
	}
}

// TestStorageAccountNeverLogsTheKey: an account built from a connection
// string, through the wiring, never logs its key.
func TestStorageAccountNeverLogsTheKey(t *testing.T) {
	const key = "S3cr3tXYa2V5" // base64
	st, problem := config.ParseConnectionString("AccountName=shop;AccountKey=" + key)
	require.Empty(t, problem)
	acct, err := storage.NewAccount(storageOptions(st))
	require.NoError(t, err)
	require.Equal(t, key, acct.AccountKey.Reveal())
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("account", "account", acct, "storage", st)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("account", "account", acct, "storage", st)
	for _, out := range []string{text.String(), js.String(), fmt.Sprintf("%v %+v %#v", acct, acct, acct)} {
		require.NotContains(t, out, key)
	}
	require.Contains(t, js.String(), `"AccountKey":"…"`)
}

func TestOriginalsOptionsKeepEverySetting(t *testing.T) {
	l := config.Links{Container: "originals", TTL: 48 * time.Hour, BaseURL: "https://downloads.example.com/o"}
	sameFields(t, l, originalsOptions(l))
}

// The adapters keep their own copies of what the settings also know: they
// must agree.
func TestAdaptersAgreeWithTheSettings(t *testing.T) {
	require.Equal(t, config.MaxDelegatedLinkTTL, blobstore.MaxDelegatedLinkTTL)
	require.Equal(t, config.StorageConnection, blobstore.ConnectionSetting)
}

func TestNewStripeKeepsTheMode(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tt := range []struct {
		s    config.Stripe
		live bool
	}{
		{config.Stripe{APIKey: "sk_test_123"}, false},
		{config.Stripe{APIKey: "sk_live_123", Livemode: true, AllowLive: true}, true},
	} {
		require.Equal(t, tt.live, newStripe(tt.s, quiet).Livemode(), tt.s.APIKey.String())
	}
}
