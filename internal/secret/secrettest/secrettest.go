// Package secrettest prints a value every way a log line, a panic or an
// encoder would, for the tests that pin that a secret never shows.
package secrettest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
)

// Prints returns v as the fmt verbs, both slog handlers (as an attribute,
// through slog.Any, in a group and in With) and encoding/json print it.
func Prints(v any) []string {
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
		logger.Info("value", "value", v, slog.Any("any", v), slog.Group("g", "nested", v))
		logger.With("with", v).Info("with")
		out = append(out, b.String())
	}
	b, err := json.Marshal(v)
	out = append(out, string(b), fmt.Sprint(err))
	b, err = json.Marshal(map[string]any{"v": v})
	out = append(out, string(b), fmt.Sprint(err))
	return out
}
