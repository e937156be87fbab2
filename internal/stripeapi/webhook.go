package stripeapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/order"
)

// Tolerance is how far a webhook's signed timestamp may be from now, either
// way, before the delivery is refused as a possible replay.
const Tolerance = 5 * time.Minute

// Webhook verification failures. Each is a reason to answer 400.
var (
	ErrNotSigned       = errors.New("missing Stripe-Signature header")
	ErrBadHeader       = errors.New("malformed Stripe-Signature header")
	ErrNoValidSig      = errors.New("no valid signature for any configured secret")
	ErrStale           = errors.New("signature timestamp outside the 5-minute tolerance")
	ErrMalformedEvent  = errors.New("body is not a Stripe event")
	errNoSecretsConfig = errors.New("no webhook secret configured")
)

// Event is what the pipeline takes from a webhook event: ids and types only.
// Objects are always re-fetched through the API, so an event whose
// api_version differs from stripe-go's is as good as any.
type Event struct {
	ID       string
	Type     string
	Livemode bool
	Created  int64
	// ObjectID and ObjectType are data.object's id and object type.
	ObjectID   string
	ObjectType string
	APIVersion string
	// PaymentIntent is data.object.payment_intent, for a charge or a
	// dispute: "" when the object has none (a charge made without a payment
	// intent, or another object).
	PaymentIntent string
}

// VerifyEvent checks the Stripe-Signature header against each secret (more
// than one while a secret is rolled) on the raw payload bytes, refuses a
// timestamp more than Tolerance from now in either direction, and decodes
// the event's ids and types. The header must carry exactly one t=, and the
// HMAC is computed over exactly that timestamp, so a replay cannot pair a
// fresh t= for the age check with an old one for the signature. The event's
// id must be an evt_ id and every value kept at most order.MaxIDBytes. The
// errors are the Err values above.
func VerifyEvent(payload []byte, header string, secrets []string, now time.Time) (Event, error) {
	if len(secrets) == 0 {
		return Event{}, errNoSecretsConfig
	}
	if header == "" {
		return Event{}, ErrNotSigned
	}
	sig, err := parseSignature(header)
	if err != nil {
		return Event{}, err
	}
	if d := now.Sub(sig.at); d > Tolerance || d < -Tolerance {
		return Event{}, ErrStale
	}
	if !slices.ContainsFunc(secrets, func(s string) bool { return sig.signedWith(payload, s) }) {
		return Event{}, ErrNoValidSig
	}
	return parseEvent(payload)
}

// eventJSON is the part of a webhook event the pipeline reads.
type eventJSON struct {
	ID         string `json:"id"`
	Object     string `json:"object"`
	Type       string `json:"type"`
	Livemode   bool   `json:"livemode"`
	Created    int64  `json:"created"`
	APIVersion string `json:"api_version"`
	Data       struct {
		Object struct {
			ID            string `json:"id"`
			Object        string `json:"object"`
			PaymentIntent string `json:"payment_intent"` // null leaves it ""
		} `json:"object"`
	} `json:"data"`
}

// parseEvent decodes a verified payload's ids and types and checks them as
// VerifyEvent says.
func parseEvent(payload []byte) (Event, error) {
	var raw eventJSON
	if err := json.Unmarshal(payload, &raw); err != nil {
		return Event{}, fmt.Errorf("%w: %s", ErrMalformedEvent, jsonProblem(err))
	}
	if raw.Object != "event" || !strings.HasPrefix(raw.ID, "evt_") || raw.Type == "" {
		return Event{}, fmt.Errorf("%w: want an object \"event\" with an evt_ id and a type", ErrMalformedEvent)
	}
	if !order.ValidEventID(raw.ID) {
		return Event{}, fmt.Errorf("%w: the id is not evt_ and up to %d letters, digits and underscores", ErrMalformedEvent, order.MaxIDBytes)
	}
	obj := raw.Data.Object
	for _, v := range []string{raw.Type, raw.APIVersion, obj.ID, obj.Object, obj.PaymentIntent} {
		if len(v) > order.MaxIDBytes {
			return Event{}, fmt.Errorf("%w: a type, version, object or payment intent id is over %d bytes", ErrMalformedEvent, order.MaxIDBytes)
		}
	}
	return Event{ID: raw.ID, Type: raw.Type, Livemode: raw.Livemode, Created: raw.Created,
		ObjectID: obj.ID, ObjectType: obj.Object, APIVersion: raw.APIVersion, PaymentIntent: obj.PaymentIntent}, nil
}

// jsonProblem says why a payload is not an event without quoting it:
// encoding/json's own messages can quote a character or a number of it.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("invalid JSON near byte %d", syntax.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		return typ.Field + " has the wrong type" // a path of eventJSON's keys
	default:
		return "not a JSON object"
	}
}

// signature is a parsed Stripe-Signature header.
type signature struct {
	// timestamp is t= exactly as sent: Stripe signs these bytes.
	timestamp string
	at        time.Time
	// v1 are the v1= signatures (several while Stripe rolls a secret).
	v1 [][]byte
}

// parseSignature reads a Stripe-Signature header ("t=1495999758,v1=ab12,
// v0=..."): exactly one t= of decimal digits, and the v1= signatures that
// are hex. Other schemes and keys are ignored, as Stripe asks.
func parseSignature(header string) (signature, error) {
	var sig signature
	seen := false
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return signature{}, ErrBadHeader
		}
		switch k {
		case "t":
			if seen {
				return signature{}, fmt.Errorf("%w: more than one t=", ErrBadHeader)
			}
			seen = true
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || strings.Trim(v, "0123456789") != "" {
				return signature{}, ErrBadHeader
			}
			sig.timestamp, sig.at = v, time.Unix(n, 0)
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sig.v1 = append(sig.v1, b)
			}
		}
	}
	if !seen {
		return signature{}, ErrBadHeader
	}
	return sig, nil
}

// signedWith reports whether one of the v1 signatures is the HMAC-SHA256,
// keyed with secret, of the timestamp, a dot and the payload.
func (s signature) signedWith(payload []byte, secret string) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(s.timestamp))
	mac.Write([]byte{'.'})
	mac.Write(payload)
	want := mac.Sum(nil)
	return slices.ContainsFunc(s.v1, func(got []byte) bool { return hmac.Equal(want, got) })
}
