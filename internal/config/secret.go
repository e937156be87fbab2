package config

import (
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
)

// Secret is a setting that must never be printed. Every way Go prints or
// encodes a value (String, GoString, Format for every fmt verb, slog's
// LogValue, MarshalJSON and MarshalText) shows only a short, safe hint such
// as "sk_test_…"; Reveal returns the secret itself.
type Secret string

// Reveal returns the secret itself, for the one call that needs it.
func (s Secret) Reveal() string { return string(s) }

// secretPrefixes tell the kind of a secret without revealing any of it.
var secretPrefixes = []string{"sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_", "whsec_"}

// String returns the hint: "(unset)", a kind prefix followed by "…", or "…".
func (s Secret) String() string {
	if s == "" {
		return "(unset)"
	}
	for _, prefix := range secretPrefixes {
		if strings.HasPrefix(string(s), prefix) {
			return prefix + "…"
		}
	}
	return "…"
}

// GoString keeps %#v from printing the secret.
func (s Secret) GoString() string { return s.String() }

// Format prints the hint for every verb, so %x, %q or %d cannot print the
// secret either.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'v', 's', 'q':
		fmt.Fprintf(f, fmt.FormatString(f, verb), s.String())
	default:
		fmt.Fprint(f, s.String())
	}
}

// LogValue logs the hint.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON encodes the hint, so a logged or encoded struct holding a
// Secret does not carry it.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalText encodes the hint.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

var (
	_ fmt.Stringer           = Secret("")
	_ fmt.GoStringer         = Secret("")
	_ fmt.Formatter          = Secret("")
	_ slog.LogValuer         = Secret("")
	_ json.Marshaler         = Secret("")
	_ encoding.TextMarshaler = Secret("")
)
