// Package secret is the one type for a value that must never be printed: a
// Stripe key, a webhook secret, a storage account key, a password. Every way
// Go prints or encodes a Value shows only a short, safe hint; Reveal returns
// the value itself for the one call that needs it.
//
// It is a leaf: the settings (internal/config) and the adapters that hold a
// credential (internal/storage) both use it, so a credential keeps its mask
// from the moment it is read to the call that signs with it.
package secret

import (
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
)

// Value is a secret. String, GoString, Format (for every fmt verb), slog's
// LogValue, MarshalJSON and MarshalText all show only the hint: "(unset)"
// for the empty Value, the kind's prefix followed by "…" for a Stripe key or
// webhook secret ("sk_test_…"), and "…" for anything else.
type Value string

// Reveal returns the secret itself, for the one call that needs it.
func (v Value) Reveal() string { return string(v) }

// prefixes tell the kind of a secret without revealing any of it.
var prefixes = []string{"sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_", "whsec_"}

// String returns the hint.
func (v Value) String() string {
	if v == "" {
		return "(unset)"
	}
	for _, prefix := range prefixes {
		if strings.HasPrefix(string(v), prefix) {
			return prefix + "…"
		}
	}
	return "…"
}

// GoString keeps %#v from printing the secret.
func (v Value) GoString() string { return v.String() }

// Format prints the hint for every verb, so %x, %q or %d cannot print the
// secret either.
func (v Value) Format(f fmt.State, verb rune) {
	switch verb {
	case 'v', 's', 'q':
		fmt.Fprintf(f, fmt.FormatString(f, verb), v.String())
	default:
		fmt.Fprint(f, v.String())
	}
}

// LogValue logs the hint.
func (v Value) LogValue() slog.Value { return slog.StringValue(v.String()) }

// MarshalJSON encodes the hint, so a logged or encoded struct holding a
// Value does not carry the secret.
func (v Value) MarshalJSON() ([]byte, error) { return json.Marshal(v.String()) }

// MarshalText encodes the hint.
func (v Value) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

var (
	_ fmt.Stringer           = Value("")
	_ fmt.GoStringer         = Value("")
	_ fmt.Formatter          = Value("")
	_ slog.LogValuer         = Value("")
	_ json.Marshaler         = Value("")
	_ encoding.TextMarshaler = Value("")
)
