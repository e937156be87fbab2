package storage_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/storage"
)

// mark is part of every key in these tests; no output may hold it.
const mark = "S3cr3tXY"

// formats prints v every way a log line, a panic or an encoder would: the
// fmt verbs, both slog handlers (as an attribute and through slog.Any), and
// encoding/json.
func formats(v any) []string {
	out := []string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
		out = append(out, fmt.Sprintf(verb, v))
	}
	out = append(out, fmt.Sprint(v), fmt.Sprintln(v), fmt.Sprintf("%+v", struct{ Inner any }{v}), fmt.Sprintf("%v", []any{v}))
	for _, h := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var b bytes.Buffer
		logger := slog.New(h(&b))
		logger.Info("account", "value", v, slog.Any("any", v), slog.Group("g", "nested", v))
		logger.With("with", v).Info("with")
		out = append(out, b.String())
	}
	b, err := json.Marshal(v)
	out = append(out, string(b), fmt.Sprint(err))
	b, err = json.Marshal(map[string]any{"v": v})
	out = append(out, string(b), fmt.Sprint(err))
	return out
}

func TestKeyNeverPrintsAnyWay(t *testing.T) {
	for _, tt := range []struct {
		name string
		key  storage.Key
		hint string
	}{
		{"key", storage.NewKey(mark + "a2V5"), "…"},
		{"unset", storage.Key{}, "(unset)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, out := range formats(tt.key) {
				require.NotContains(t, out, mark)
			}
			require.Equal(t, tt.hint, tt.key.String())
			require.Equal(t, `"`+tt.hint+`"`, fmt.Sprintf("%#v", tt.key))
			require.Equal(t, tt.hint, tt.key.LogValue().String())
			b, err := json.Marshal(tt.key)
			require.NoError(t, err)
			require.Equal(t, `"`+tt.hint+`"`, string(b))
			txt, err := tt.key.MarshalText()
			require.NoError(t, err)
			require.Equal(t, tt.hint, string(txt))
		})
	}
	require.Equal(t, mark+"a2V5", storage.NewKey(mark+"a2V5").Reveal())
	require.Equal(t, `"…"`, fmt.Sprintf("%q", storage.NewKey(mark)))
	require.Equal(t, "         …", fmt.Sprintf("%10s", storage.NewKey(mark)))
}

// Issue 11 #3: logging a storage.Account with LOG_FORMAT=json printed the
// account key.
func TestAccountNeverLogsTheKey(t *testing.T) {
	const key = mark + "a2V5" // base64
	acct, err := storage.NewAccount(storage.Options{AccountName: "shop", AccountKey: storage.NewKey(key),
		BlobURL: "https://shop.blob.core.windows.net", QueueURL: "https://shop.queue.core.windows.net", TableURL: "https://shop.table.core.windows.net"})
	require.NoError(t, err)
	require.Equal(t, key, acct.AccountKey.Reveal(), "the account signs with the key")
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("account", "account", acct, "options", acct.Options)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("account", "account", acct, "options", acct.Options)
	outs := append([]string{text.String(), js.String(), fmt.Sprintf("%v %+v %#v", acct, acct, acct)}, formats(acct)...)
	for _, out := range append(outs, formats(acct.Options)...) {
		require.NotContains(t, out, mark)
	}
	require.Contains(t, js.String(), `"AccountKey":"…"`)
}
