package stripeapi

import (
	"encoding/json"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/filedrop/filedrop/internal/order"
)

// SimulatedEvent returns the JSON of a Checkout event for sessionID, shaped
// as Stripe sends it, and a Stripe-Signature header for it signed with
// secret at t. It lets a developer drive the pipeline without the Stripe CLI.
func SimulatedEvent(eventID, eventType, sessionID string, livemode bool, secret string, t time.Time) (body []byte, header string, err error) {
	ev := map[string]any{
		"id":               eventID,
		"object":           "event",
		"api_version":      "2023-10-16",
		"created":          t.Unix(),
		"livemode":         livemode,
		"pending_webhooks": 1,
		"request":          map[string]any{"id": nil, "idempotency_key": nil},
		"type":             eventType,
		"data": map[string]any{"object": map[string]any{
			"id":       sessionID,
			"object":   "checkout.session",
			"livemode": livemode,
			"mode":     "payment",
		}},
	}
	body, err = json.Marshal(ev)
	if err != nil {
		return nil, "", err
	}
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: t})
	return body, signed.Header, nil
}

// SimulatedPaymentEvent is SimulatedEvent for a refund or dispute event:
// its object is the charge or dispute objectID (of the type
// order.EventObject names) of paymentIntent.
func SimulatedPaymentEvent(eventID, eventType, objectID, paymentIntent string, livemode bool, secret string, t time.Time) (body []byte, header string, err error) {
	ev := map[string]any{
		"id":               eventID,
		"object":           "event",
		"api_version":      "2023-10-16",
		"created":          t.Unix(),
		"livemode":         livemode,
		"pending_webhooks": 1,
		"request":          map[string]any{"id": nil, "idempotency_key": nil},
		"type":             eventType,
		"data": map[string]any{"object": map[string]any{
			"id":             objectID,
			"object":         order.EventObject(eventType),
			"livemode":       livemode,
			"payment_intent": paymentIntent,
		}},
	}
	body, err = json.Marshal(ev)
	if err != nil {
		return nil, "", err
	}
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: t})
	return body, signed.Header, nil
}
