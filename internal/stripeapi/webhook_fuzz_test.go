package stripeapi_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// FuzzVerifyEvent checks the property that makes the replay window hold:
// an accepted delivery's header has exactly one t=, that timestamp is
// within Tolerance of now, and one of its v1= values is the HMAC-SHA256 of
// that t= as sent, a dot and the payload, with one of the secrets (computed
// here with crypto/hmac, not with the code under test). It also checks that
// VerifyEvent never panics and refuses only with its own errors.
//
// In header, "{t}" becomes signedAt in decimal, "{sig}" the v1 value of the
// payload signed at signedAt with the current secret and "{old}" with the
// previous one, so that the fuzzer can shuffle valid signatures among
// other t= and v1= values.
func FuzzVerifyEvent(f *testing.F) {
	secrets := []string{whSecret, whOldSecret}
	f.Fuzz(func(t *testing.T, payload []byte, header string, signedAt int64) {
		ts := strconv.FormatInt(signedAt, 10)
		header = strings.NewReplacer(
			"{t}", ts,
			"{sig}", hmacHex(whSecret, ts, payload),
			"{old}", hmacHex(whOldSecret, ts, payload),
		).Replace(header)

		ev, err := stripeapi.VerifyEvent(payload, header, secrets, whNow)
		if err != nil {
			require.True(t, errors.Is(err, stripeapi.ErrNotSigned) || errors.Is(err, stripeapi.ErrBadHeader) ||
				errors.Is(err, stripeapi.ErrNoValidSig) || errors.Is(err, stripeapi.ErrStale) ||
				errors.Is(err, stripeapi.ErrMalformedEvent), "unexpected error %v", err)
			return
		}

		var stamps, sigs []string
		for part := range strings.SplitSeq(header, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch k {
			case "t":
				stamps = append(stamps, v)
			case "v1":
				sigs = append(sigs, strings.ToLower(v))
			}
		}
		require.Len(t, stamps, 1, "accepted with other than one t=: %q", header)
		n, perr := strconv.ParseInt(stamps[0], 10, 64)
		require.NoError(t, perr)
		age := whNow.Sub(time.Unix(n, 0))
		require.LessOrEqual(t, age, stripeapi.Tolerance, "accepted a stale timestamp: %q", header)
		require.GreaterOrEqual(t, age, -stripeapi.Tolerance, "accepted a future timestamp: %q", header)
		signed := false
		for _, s := range secrets {
			for _, sig := range sigs {
				signed = signed || hmac.Equal([]byte(sig), []byte(hmacHex(s, stamps[0], payload)))
			}
		}
		require.True(t, signed, "accepted without an HMAC over the checked timestamp: %q", header)

		var raw struct {
			ID string `json:"id"`
		}
		require.NoError(t, json.Unmarshal(payload, &raw))
		require.Equal(t, raw.ID, ev.ID)
		require.True(t, order.ValidEventID(ev.ID), "%q", ev.ID)
		require.LessOrEqual(t, len(ev.ObjectID), order.MaxIDBytes)
	})
}

// hmacHex is Stripe's v1 signature of payload signed at the timestamp ts.
func hmacHex(secret, ts string, payload []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(payload)
	return hex.EncodeToString(mac.Sum(nil))
}
