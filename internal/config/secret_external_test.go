package config_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/config"
	"github.com/filedrop/filedrop/internal/storage"
)

// Issue 11 #3: logging a storage.Account with LOG_FORMAT=json printed the
// account key.
func TestStorageAccountNeverLogsTheKey(t *testing.T) {
	const key = "S3cr3tXYa2V5" // base64
	cfg, problem := config.ParseConnectionString("AccountName=shop;AccountKey=" + key)
	require.Empty(t, problem)
	acct, err := storage.NewAccount(cfg)
	require.NoError(t, err)
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("account", "account", acct, "storage", cfg)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("account", "account", acct, "storage", cfg)
	for _, out := range []string{text.String(), js.String(), fmt.Sprintf("%v %+v %#v", acct, acct, acct)} {
		require.NotContains(t, out, key)
	}
	require.Contains(t, js.String(), `"AccountKey":"…"`)
}
