package orderlink_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/orderlink"
)

const (
	secretA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	secretB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	session = "cs_test_a1B2c3"
)

func signer(t *testing.T, secrets ...string) *orderlink.Signer {
	t.Helper()
	s, err := orderlink.New("https://shop.example/", secrets)
	require.NoError(t, err)
	return s
}

func TestURLRoundTrips(t *testing.T) {
	s := signer(t, secretA)
	u := s.URL(session)
	require.True(t, strings.HasPrefix(u, "https://shop.example/api/download/cs_test_a1B2c3."), u)
	ref := strings.TrimPrefix(u, "https://shop.example/api/download/")
	id, err := s.Parse(ref)
	require.NoError(t, err)
	require.Equal(t, session, id)
	require.Equal(t, "cs_test_a1B2c3.REDACTED", orderlink.Redact(ref))
}

func TestParseRefuses(t *testing.T) {
	s := signer(t, secretA)
	good := s.Ref(session)
	token := good[len(session)+1:]
	flip := []byte(token)
	flip[3] ^= 1
	if flip[3] == '.' {
		flip[3] = 'x'
	}
	tests := map[string]string{
		"tampered token":       session + "." + string(flip),
		"truncated token":      good[:len(good)-1],
		"over-long token":      good + "A",
		"other session":        "cs_test_other." + token,
		"other secret":         signer(t, secretB).Ref(session),
		"no token":             session,
		"empty":                "",
		"not a session":        "pi_123." + token,
		"not base64":           session + "." + strings.Repeat("!", len(token)),
		"two dots":             good + ".x",
		"very long":            strings.Repeat("a", 10000),
		"session with a slash": "cs_test_a/b." + token,
	}
	for name, ref := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := s.Parse(ref)
			require.ErrorIs(t, err, orderlink.ErrInvalid)
		})
	}
}

func TestRotation(t *testing.T) {
	old := signer(t, secretA)
	rotated := signer(t, secretB, secretA)
	id, err := rotated.Parse(old.Ref(session))
	require.NoError(t, err, "a link signed with the old secret still works")
	require.Equal(t, session, id)
	require.NotEqual(t, old.Ref(session), rotated.Ref(session), "new links are signed with the first secret")
	_, err = old.Parse(rotated.Ref(session))
	require.ErrorIs(t, err, orderlink.ErrInvalid, "the old secret alone does not accept the new")
	retired := signer(t, secretB)
	_, err = retired.Parse(old.Ref(session))
	require.ErrorIs(t, err, orderlink.ErrInvalid, "once the old secret is removed, its links stop working")
}

func TestNewRefusesShortSecrets(t *testing.T) {
	_, err := orderlink.New("https://shop.example", []string{"short"})
	require.Error(t, err)
	_, err = orderlink.New("https://shop.example", nil)
	require.Error(t, err)
}

// The token's last character carries 4 unused bits: a lenient decoder would
// accept 16 spellings of one token.
func TestParseAcceptsOneSpellingPerToken(t *testing.T) {
	s := signer(t, secretA)
	ref := s.Ref(session)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var accepted []string
	for _, c := range alphabet {
		alt := ref[:len(ref)-1] + string(c)
		if _, err := s.Parse(alt); err == nil {
			accepted = append(accepted, alt)
		}
	}
	require.Equal(t, []string{ref}, accepted, "only the link as signed is accepted")
}
