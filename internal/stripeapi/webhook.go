package stripeapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
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
}

// VerifyEvent checks the Stripe-Signature header against each secret (more
// than one while a secret is rolled) on the raw payload bytes, refuses a
// timestamp more than Tolerance from now in either direction, and decodes
// the event's ids and types. The errors are the Err values above.
func VerifyEvent(payload []byte, header string, secrets []string, now time.Time) (Event, error) {
	if len(secrets) == 0 {
		return Event{}, errNoSecretsConfig
	}
	if header == "" {
		return Event{}, ErrNotSigned
	}
	ts, err := signedAt(header)
	if err != nil {
		return Event{}, err
	}
	if d := now.Sub(ts); d > Tolerance || d < -Tolerance {
		return Event{}, ErrStale
	}
	var verr error
	for _, s := range secrets {
		// The age was checked above against our clock; here only the signature.
		verr = webhook.ValidatePayloadIgnoringTolerance(payload, header, s)
		if verr == nil {
			break
		}
	}
	switch {
	case verr == nil:
	case errors.Is(verr, webhook.ErrNotSigned):
		return Event{}, ErrNotSigned
	case errors.Is(verr, webhook.ErrInvalidHeader):
		return Event{}, ErrBadHeader
	default:
		return Event{}, ErrNoValidSig
	}
	var raw struct {
		ID         string `json:"id"`
		Object     string `json:"object"`
		Type       string `json:"type"`
		Livemode   bool   `json:"livemode"`
		Created    int64  `json:"created"`
		APIVersion string `json:"api_version"`
		Data       struct {
			Object struct {
				ID     string `json:"id"`
				Object string `json:"object"`
			} `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrMalformedEvent, err)
	}
	if raw.Object != "event" || !strings.HasPrefix(raw.ID, "evt_") || raw.Type == "" {
		return Event{}, fmt.Errorf("%w: want an object \"event\" with an evt_ id and a type", ErrMalformedEvent)
	}
	return Event{ID: raw.ID, Type: raw.Type, Livemode: raw.Livemode, Created: raw.Created,
		ObjectID: raw.Data.Object.ID, ObjectType: raw.Data.Object.Object, APIVersion: raw.APIVersion}, nil
}

// signedAt reads t= from a Stripe-Signature header.
func signedAt(header string) (time.Time, error) {
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return time.Time{}, ErrBadHeader
		}
		if k == "t" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return time.Time{}, ErrBadHeader
			}
			return time.Unix(n, 0), nil
		}
	}
	return time.Time{}, ErrBadHeader
}
