// Package orderlink makes and checks the stable link of an order page:
// <base>/api/download/<session id>.<token>, where the token is a truncated
// HMAC-SHA256 of the session id. Only the holder of a secret can make a
// token, so a link names one order and cannot be guessed or altered; it is
// checked in constant time before anything else looks the order up.
//
// Several secrets may be configured (ORDER_LINK_SECRET, comma-separated):
// links are signed with the first and accepted with any, so a secret can be
// rotated without breaking the links already mailed.
package orderlink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/filedrop/filedrop/internal/order"
)

// Path is the path of every order page below the app's base URL; the
// Download function's route (function.json: download/{*rest}) under the
// host's api prefix.
const Path = "/api/download/"

// TokenBytes is how much of the HMAC a token keeps: 128 bits, far beyond
// guessing, in 22 characters of base64url.
const TokenBytes = 16

// tokenLen is the length of an encoded token.
var tokenLen = base64.RawURLEncoding.EncodedLen(TokenBytes)

// MinSecretBytes is the shortest secret accepted.
const MinSecretBytes = 32

// ErrInvalid reports a link that is malformed or whose token no configured
// secret made. It says nothing more, on purpose.
var ErrInvalid = errors.New("invalid order link")

// Signer makes and checks order links. It is safe for concurrent use.
type Signer struct {
	base    string
	secrets [][]byte
}

// New returns a Signer for links below base (the app's public URL, no
// trailing slash), signing with secrets[0] and accepting any of secrets.
func New(base string, secrets []string) (*Signer, error) {
	if len(secrets) == 0 {
		return nil, errors.New("orderlink: no secret")
	}
	s := &Signer{base: strings.TrimSuffix(base, "/")}
	for _, sec := range secrets {
		if len(sec) < MinSecretBytes {
			return nil, errors.New("orderlink: a secret is shorter than 32 bytes")
		}
		s.secrets = append(s.secrets, []byte(sec))
	}
	return s, nil
}

// Token returns the token of sessionID, made with the first secret.
func (s *Signer) Token(sessionID string) string {
	return base64.RawURLEncoding.EncodeToString(mac(s.secrets[0], sessionID))
}

// URL returns the order page's link for sessionID.
func (s *Signer) URL(sessionID string) string {
	return s.base + Path + s.Ref(sessionID)
}

// Ref returns the last path segment of the order page: <session id>.<token>.
func (s *Signer) Ref(sessionID string) string {
	return sessionID + "." + s.Token(sessionID)
}

// Parse checks ref, the <session id>.<token> of a link, and returns the
// session id. Any failure is ErrInvalid.
func (s *Signer) Parse(ref string) (string, error) {
	id, token, ok := strings.Cut(ref, ".")
	if !ok || len(token) != tokenLen || !order.ValidSessionID(id) {
		return "", ErrInvalid
	}
	// Strict: the last character's unused low bits must be zero, so that
	// each token has exactly one spelling.
	got, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(got) != TokenBytes {
		return "", ErrInvalid
	}
	match := false
	for _, sec := range s.secrets {
		if hmac.Equal(got, mac(sec, id)) { // every secret is tried: no early exit
			match = true
		}
	}
	if !match {
		return "", ErrInvalid
	}
	return id, nil
}

func mac(secret []byte, sessionID string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("filedrop order link v1\x00"))
	h.Write([]byte(sessionID))
	return h.Sum(nil)[:TokenBytes]
}

// Redact returns ref with its token masked, for logs.
func Redact(ref string) string {
	id, _, ok := strings.Cut(ref, ".")
	if !ok || !order.ValidSessionID(id) {
		return "<invalid>"
	}
	return id + ".REDACTED"
}
