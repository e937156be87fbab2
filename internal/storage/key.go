package storage

import (
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
)

// Key is a storage account key. Every way Go prints or encodes it (String,
// GoString, Format for every fmt verb, slog's LogValue, MarshalJSON and
// MarshalText) shows only "…", or "(unset)" for the zero Key; Reveal
// returns the key itself, for the call that signs with it.
type Key struct{ key string }

// NewKey returns key as a Key.
func NewKey(key string) Key { return Key{key: key} }

// Reveal returns the key itself, for the one call that needs it.
func (k Key) Reveal() string { return k.key }

// String returns the hint: "(unset)" or "…".
func (k Key) String() string {
	if k.key == "" {
		return "(unset)"
	}
	return "…"
}

// GoString keeps %#v from printing the key.
func (k Key) GoString() string { return k.String() }

// Format prints the hint for every verb, so %x, %q or %d cannot print the
// key either.
func (k Key) Format(f fmt.State, verb rune) {
	switch verb {
	case 'v', 's', 'q':
		fmt.Fprintf(f, fmt.FormatString(f, verb), k.String())
	default:
		fmt.Fprint(f, k.String())
	}
}

// LogValue logs the hint.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.String()) }

// MarshalJSON encodes the hint, so a logged or encoded Account does not
// carry the key.
func (k Key) MarshalJSON() ([]byte, error) { return json.Marshal(k.String()) }

// MarshalText encodes the hint.
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

var (
	_ fmt.Stringer           = Key{}
	_ fmt.GoStringer         = Key{}
	_ fmt.Formatter          = Key{}
	_ slog.LogValuer         = Key{}
	_ json.Marshaler         = Key{}
	_ encoding.TextMarshaler = Key{}
)
