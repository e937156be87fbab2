package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

// The ids and creation time in the event template, replaced per request.
const (
	templateEventID   = "evt_1QbN8eLkdIwHu7ixZ2m4pT9q"
	templateSessionID = "cs_test_a1kQ9Zf3Lx8TtYp2Rr7WmN4vBc6Hd0Jg5Ks1Ue8Xo3Ai9Ey2Mb"
	templateCreated   = `"created": 1700000000,`
)

// events makes signed checkout.session.completed deliveries from the
// ~3 KB event the Go benchmarks use, as Stripe sends it (pretty-printed).
type events struct {
	template []byte
	secret   string
}

// loadEvents reads the template and checks that it holds what is replaced.
func loadEvents(path, secret string) (events, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return events{}, fmt.Errorf("event template: %w", err)
	}
	for _, s := range []string{templateEventID, templateSessionID, templateCreated} {
		if bytes.Count(b, []byte(s)) != 1 {
			return events{}, fmt.Errorf("event template %s: want %q exactly once", path, s)
		}
	}
	return events{template: b, secret: secret}, nil
}

// signed returns the event for sessionID with eventID, created and signed
// at now, and its Stripe-Signature header.
func (e events) signed(eventID, sessionID string, now time.Time) (body []byte, header string) {
	body = bytes.Replace(e.template, []byte(templateEventID), []byte(eventID), 1)
	body = bytes.Replace(body, []byte(templateSessionID), []byte(sessionID), 1)
	body = bytes.Replace(body, []byte(templateCreated), []byte(`"created": `+strconv.FormatInt(now.Unix(), 10)+","), 1)
	p := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: e.secret, Timestamp: now})
	return body, p.Header
}
