package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every secret: "whsec_" and the base64 of the key.
const SecretPrefix = "whsec_"

// The bounds of a secret's key, in bytes: "At least 24 bytes (192 bits,
// 512 maximum)" (Standard Webhooks 1.0.0, Signature scheme).
const (
	MinSecretBytes = 24
	MaxSecretBytes = 64
)

// ParseSecret returns the key of a whsec_ secret: the standard base64 (with
// padding) after the prefix, of MinSecretBytes to MaxSecretBytes. Its errors
// never quote the secret.
func ParseSecret(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, errors.New("the secret does not start with " + SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, errors.New("the secret is not whsec_ followed by standard base64")
	}
	if len(key) < MinSecretBytes || len(key) > MaxSecretBytes {
		return nil, fmt.Errorf("the secret's key is %d bytes; it must be %d to %d random bytes", len(key), MinSecretBytes, MaxSecretBytes)
	}
	return key, nil
}

// Signer signs webhooks with one or more secrets. It is safe for concurrent
// use.
type Signer struct {
	keys [][]byte
}

// NewSigner returns a Signer for the secrets, newest first. While a secret
// is rotated, configure both: a receiver that knows either accepts.
func NewSigner(secrets []string) (*Signer, error) {
	if len(secrets) == 0 {
		return nil, errors.New("no secret")
	}
	s := &Signer{}
	for i, secret := range secrets {
		key, err := ParseSecret(secret)
		if err != nil {
			return nil, fmt.Errorf("secret %d of %d: %w", i+1, len(secrets), err)
		}
		s.keys = append(s.keys, key)
	}
	return s, nil
}

// Sign returns the webhook-signature header of a webhook with id, sent at
// t with body: "v1," and the standard base64 of HMAC-SHA256 over
// "{id}.{unix seconds}.{body}", one per secret, separated by spaces. The
// body must be the exact bytes sent.
func (s *Signer) Sign(id string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	sigs := make([]string, 0, len(s.keys))
	for _, key := range s.keys {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id))
		mac.Write([]byte{'.'})
		mac.Write([]byte(ts))
		mac.Write([]byte{'.'})
		mac.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return strings.Join(sigs, " ")
}
