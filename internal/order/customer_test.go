package order_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

func TestCustomerName(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Ada Lovelace", "Ada Lovelace"},
		{"accents", "Zoë Ünal", "Zoë Ünal"},
		{"white space collapsed", "  Ada \t Lovelace\u00a0 ", "Ada Lovelace"},
		{"line breaks cannot add lines", "Ada\r\nBcc: evil@example.com", "Ada Bcc: evil@example.com"},
		{"NUL and other controls removed", "A\x00d\x1ba\x7f\u0085 L", "Ada L"},
		{"bytes that are not UTF-8 removed", "Ad\xffa", "Ada"},
		{"Hebrew kept", "דוד כהן", "דוד כהן"},
		{"Arabic kept, the override removed", "\u202Eمحمد\u202C علي\u2066x\u2069", "محمد عليx"},
		{"marks kept", "a\u200Fb", "a\u200Fb"},
		{"only controls", "\x00\x01\u202E", ""},
		{"at the cap", strings.Repeat("Ü", order.MaxCustomerName), strings.Repeat("Ü", order.MaxCustomerName)},
		{"over the cap is dropped", strings.Repeat("Ü", order.MaxCustomerName+1), ""},
		{"5,000 Ü", strings.Repeat("Ü", 5000), ""},
		{"100,000 characters", strings.Repeat("a", 100_000), ""},
		{"controls do not count", strings.Repeat("\x00", 5000) + "Ada", "Ada"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, order.CustomerName(tt.in))
		})
	}
}
