package mail_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/mail"
)

// TestCheckBareAddress: one bare address is taken; a name, angle
// brackets, spaces, control characters, a missing @ and an address over
// MaxAddressLength are refused with words that say which.
func TestCheckBareAddress(t *testing.T) {
	long := strings.Repeat("a", mail.MaxAddressLength-len("@example.com")+1) + "@example.com"
	tests := []struct {
		in, want string // want: part of the error, "" for none
	}{
		{"ada@example.com", ""},
		{"Ada <ada@example.com>", "must be a bare address"},
		{"<ada@example.com>", "must be a bare address"},
		{" ada@example.com", "must be a bare address"},
		{"ada@example.com\n", "not an email address"},
		{"ada@exa\x01mple.com", "not an email address"},
		{"ada.example.com", "not an email address"},
		{"", "not an email address"},
		{long, "more than an address may be"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			err := mail.CheckBareAddress(tt.in)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
		})
	}
}
