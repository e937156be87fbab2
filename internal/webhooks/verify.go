package webhooks

import (
	"crypto/hmac"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Tolerance is how far a webhook-timestamp may be from the receiver's
// clock: the Standard Webhooks libraries' five minutes, against replays.
const Tolerance = 5 * time.Minute

// ErrUnverified reports a webhook whose signature does not verify, or
// whose headers are missing or stale.
var ErrUnverified = errors.New("the webhook does not verify")

// Verify checks a received webhook as the Standard Webhooks libraries do:
// the three headers present, the timestamp within Tolerance of now, and
// one "v1," signature of the header's (space-separated) that s computes
// over "{id}.{timestamp}.{body}" with one of its secrets. body must be the
// raw bytes received. It returns the webhook-id, or an error wrapping
// ErrUnverified that quotes no secret.
func (s *Signer) Verify(h http.Header, body []byte, now time.Time) (string, error) {
	id, ts, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || ts == "" || sigs == "" {
		return "", fmt.Errorf("%w: missing %s, %s or %s", ErrUnverified, HeaderID, HeaderTimestamp, HeaderSignature)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", fmt.Errorf("%w: %s is not Unix seconds", ErrUnverified, HeaderTimestamp)
	}
	at := time.Unix(sec, 0)
	if d := now.Sub(at); d > Tolerance || d < -Tolerance {
		return "", fmt.Errorf("%w: %s is %s from now, more than %s", ErrUnverified, HeaderTimestamp, d.Round(time.Second), Tolerance)
	}
	for _, want := range strings.Fields(s.Sign(id, at, body)) {
		for _, got := range strings.Fields(sigs) {
			if hmac.Equal([]byte(got), []byte(want)) {
				return id, nil
			}
		}
	}
	return "", fmt.Errorf("%w: no signature verifies with %s", ErrUnverified, SecretSetting)
}
