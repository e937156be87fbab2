package storage_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/secret"
	"github.com/filedrop/filedrop/internal/secret/secrettest"
	"github.com/filedrop/filedrop/internal/storage"
)

// mark is part of every key in these tests; no output may hold it.
const mark = "S3cr3tXY"

// TestAccountNeverLogsTheKey logs an account built with a key every way a
// log line or an encoder would: the key never shows.
func TestAccountNeverLogsTheKey(t *testing.T) {
	const key = mark + "a2V5" // base64
	acct, err := storage.NewAccount(storage.Options{AccountName: "shop", AccountKey: secret.Value(key),
		BlobURL: "https://shop.blob.core.windows.net", QueueURL: "https://shop.queue.core.windows.net", TableURL: "https://shop.table.core.windows.net"})
	require.NoError(t, err)
	require.Equal(t, key, acct.AccountKey.Reveal(), "the account signs with the key")
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("account", "account", acct, "options", acct.Options)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("account", "account", acct, "options", acct.Options)
	outs := append([]string{text.String(), js.String(), fmt.Sprintf("%v %+v %#v", acct, acct, acct)}, secrettest.Prints(acct)...)
	for _, out := range append(outs, secrettest.Prints(acct.Options)...) {
		require.NotContains(t, out, mark)
	}
	require.Contains(t, js.String(), `"AccountKey":"…"`)
}
