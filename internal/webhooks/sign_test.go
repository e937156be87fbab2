package webhooks_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/webhooks"
)

// The published test vector of the Standard Webhooks libraries (Go
// webhook_test.go TestWebhookSign, JS "sign function works", Python
// test_sign_function; docs/standard-webhooks.md).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorPayload   = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	// rotationSecret is the key bytes 0x01..0x20; its signature of the same
	// webhook was computed with Python's hmac and npm standardwebhooks
	// 1.3.0 (not published).
	rotationSecret    = "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
	rotationSignature = "v1,frM35V2Z51bxs4v81I6TpLnscXkhXtKLP/7WPYVyj3A="
)

func TestSignVectors(t *testing.T) {
	at := time.Unix(vectorTimestamp, 0)
	tests := []struct {
		name    string
		secrets []string
		want    string
	}{
		{"the published vector", []string{vectorSecret}, vectorSignature},
		{"the rotation secret alone", []string{rotationSecret}, rotationSignature},
		{"rotation: both, newest first", []string{vectorSecret, rotationSecret}, vectorSignature + " " + rotationSignature},
		{"rotation: the other order", []string{rotationSecret, vectorSecret}, rotationSignature + " " + vectorSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := webhooks.NewSigner(tt.secrets)
			require.NoError(t, err)
			got := s.Sign(vectorID, at, []byte(vectorPayload))
			require.Equal(t, tt.want, got)
			for _, bad := range []string{"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=", "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="} {
				require.NotContains(t, strings.Fields(got), bad, "a negative vector of the libraries' tests")
			}
		})
	}
	s, err := webhooks.NewSigner([]string{vectorSecret})
	require.NoError(t, err)
	require.NotEqual(t, vectorSignature, s.Sign(vectorID, at.Add(time.Second), []byte(vectorPayload)), "the timestamp is signed")
	require.NotEqual(t, vectorSignature, s.Sign(vectorID+"x", at, []byte(vectorPayload)), "the id is signed")
	require.NotEqual(t, vectorSignature, s.Sign(vectorID, at, []byte(`{"test":2432232314}`)), "the body is signed byte for byte")
	require.Equal(t, vectorSignature, s.Sign(vectorID, at.Add(999*time.Millisecond), []byte(vectorPayload)), "whole seconds")
}

func TestParseSecret(t *testing.T) {
	tests := []struct {
		name, secret string
		problem      string // "" when valid
		bytes        int
	}{
		{"the vector", vectorSecret, "", 24},
		{"32 bytes", rotationSecret, "", 32},
		{"64 bytes", "whsec_" + strings.Repeat("AAAA", 21) + "AA==", "", 64},
		{"no prefix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "does not start with whsec_", 0},
		{"Stripe's kind", "whsec_abc", "not whsec_ followed by standard base64", 0},
		{"unpadded", "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA", "standard base64", 0},
		{"URL alphabet", "whsec_" + strings.Repeat("-_-_", 8), "standard base64", 0},
		{"16 bytes", "whsec_AAAAAAAAAAAAAAAAAAAAAA==", "is 16 bytes; it must be 24 to 64", 0},
		{"65 bytes", "whsec_" + strings.Repeat("AAAA", 21) + "AAA=", "is 65 bytes", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := webhooks.ParseSecret(tt.secret)
			if tt.problem == "" {
				require.NoError(t, err)
				require.Len(t, key, tt.bytes)
				return
			}
			require.ErrorContains(t, err, tt.problem)
			require.NotContains(t, err.Error(), strings.TrimPrefix(tt.secret, "whsec_"), "never quoted")
		})
	}
	_, err := webhooks.NewSigner(nil)
	require.ErrorContains(t, err, "no secret")
	_, err = webhooks.NewSigner([]string{vectorSecret, "whsec_x"})
	require.ErrorContains(t, err, "secret 2 of 2")
}

func TestVerify(t *testing.T) {
	at := time.Unix(vectorTimestamp, 0)
	header := func(id, ts, sig string) http.Header {
		h := http.Header{}
		for k, v := range map[string]string{"webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig} {
			if v != "" {
				h.Set(k, v)
			}
		}
		return h
	}
	ts := strconv.Itoa(vectorTimestamp)
	tests := []struct {
		name    string
		secrets []string
		h       http.Header
		body    string
		now     time.Time
		ok      bool
	}{
		{"the published vector", []string{vectorSecret}, header(vectorID, ts, vectorSignature), vectorPayload, at, true},
		{"one of several signatures", []string{vectorSecret}, header(vectorID, ts, "v1,bm90IGl0 "+vectorSignature), vectorPayload, at, true},
		{"the receiver rotates: either secret", []string{rotationSecret, vectorSecret}, header(vectorID, ts, vectorSignature), vectorPayload, at, true},
		{"within the tolerance", []string{vectorSecret}, header(vectorID, ts, vectorSignature), vectorPayload, at.Add(webhooks.Tolerance), true},
		{"stale", []string{vectorSecret}, header(vectorID, ts, vectorSignature), vectorPayload, at.Add(webhooks.Tolerance + time.Second), false},
		{"from the future", []string{vectorSecret}, header(vectorID, ts, vectorSignature), vectorPayload, at.Add(-webhooks.Tolerance - time.Second), false},
		{"a negative vector", []string{vectorSecret}, header(vectorID, ts, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="), vectorPayload, at, false},
		{"the body re-serialised", []string{vectorSecret}, header(vectorID, ts, vectorSignature), `{"test":2432232314}`, at, false},
		{"another id", []string{vectorSecret}, header(vectorID+"x", ts, vectorSignature), vectorPayload, at, false},
		{"another secret", []string{rotationSecret}, header(vectorID, ts, vectorSignature), vectorPayload, at, false},
		{"no signature", []string{vectorSecret}, header(vectorID, ts, ""), vectorPayload, at, false},
		{"a timestamp that is no number", []string{vectorSecret}, header(vectorID, "soon", vectorSignature), vectorPayload, at, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := webhooks.NewSigner(tt.secrets)
			require.NoError(t, err)
			id, err := s.Verify(tt.h, []byte(tt.body), tt.now)
			if tt.ok {
				require.NoError(t, err)
				require.Equal(t, tt.h.Get("webhook-id"), id)
				return
			}
			require.ErrorIs(t, err, webhooks.ErrUnverified)
			for _, secret := range tt.secrets {
				require.NotContains(t, err.Error(), secret)
			}
		})
	}
}
