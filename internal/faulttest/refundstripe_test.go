package faulttest

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"sync"
	"time"
)

// maxRefundHold bounds how long the Stripe fake holds the first paid
// fetch of a refundDuring session (well under stripeapi.RequestTimeout).
const maxRefundHold = 10 * time.Second

// maxRefundWait bounds how long the traffic waits for a refund to be due.
const maxRefundWait = 3 * time.Minute

var stripeChargePath = regexp.MustCompile(`^/v1/charges/([A-Za-z0-9_]+)$`)

// refundFake is the Stripe fake's side of refunds: it serves the charges
// of the refunded sessions, refunded in full, and the Checkout Session of a
// payment intent, and it holds a refundDuring session's fulfilment until
// the refund's ProcessOrder looks the session up.
type refundFake struct {
	byCharge, byIntent map[string]*session

	mu sync.Mutex
	// fetched is closed at a refundDuring session's first paid fetch,
	// looked when ProcessOrder lists the sessions of its payment intent.
	fetched, looked map[string]chan struct{}
	// held counts the fetches held until the refund looked the session up,
	// heldOut those released by maxRefundHold.
	held, heldOut   int
	charges, lookup int // GETs of a charge, lists by payment intent
}

func newRefundFake(p *plan) *refundFake {
	f := &refundFake{byCharge: map[string]*session{}, byIntent: map[string]*session{},
		fetched: map[string]chan struct{}{}, looked: map[string]chan struct{}{}}
	for _, s := range p.sessions {
		if s.refund == refundNone {
			continue
		}
		f.byCharge[chargeID(s.id)], f.byIntent[paymentIntent(s.id)] = s, s
		if s.refund == refundDuring {
			f.fetched[s.id], f.looked[s.id] = make(chan struct{}), make(chan struct{})
		}
	}
	return f
}

// refundStats are the refund fake's counts.
type refundStats struct{ held, heldOut, charges, lookup int }

func (f *refundFake) stats() refundStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return refundStats{f.held, f.heldOut, f.charges, f.lookup}
}

// closeOnce closes the channel of id in m, once, and reports whether it
// did; f.mu is held.
func closeOnce(m map[string]chan struct{}, id string) bool {
	c := m[id]
	if c == nil {
		return false
	}
	select {
	case <-c:
		return false
	default:
		close(c)
		return true
	}
}

// holdForRefund holds the first paid fetch of a refundDuring session until
// its refund's ProcessOrder lists the sessions of the payment intent, or
// maxRefundHold passes; the traffic delivers the refund meanwhile.
func (f *refundFake) holdForRefund(sess *session) {
	f.mu.Lock()
	first := closeOnce(f.fetched, sess.id)
	looked := f.looked[sess.id]
	f.mu.Unlock()
	if !first {
		return
	}
	timer := time.NewTimer(maxRefundHold)
	defer timer.Stop()
	select {
	case <-looked:
		f.mu.Lock()
		f.held++
		f.mu.Unlock()
	case <-timer.C:
		f.mu.Lock()
		f.heldOut++
		f.mu.Unlock()
	}
}

// due waits until the refund of s is due (see refundTiming), at most
// maxRefundWait; fulfilled reports whether the ledger lists s's files.
func (f *refundFake) due(ctx context.Context, s *session, fulfilled func(context.Context, string) bool) {
	ctx, cancel := context.WithTimeout(ctx, maxRefundWait)
	defer cancel()
	switch s.refund {
	case refundDuring:
		select {
		case <-f.fetched[s.id]:
		case <-ctx.Done():
		}
	case refundAfter:
		for ctx.Err() == nil && !fulfilled(ctx, s.id) {
			sleepUntil(ctx, time.Now().Add(300*time.Millisecond))
		}
		sleepUntil(ctx, time.Now().Add(s.refundDelay))
	}
}

// servePayment answers GET /v1/charges/{id} and GET
// /v1/checkout/sessions?payment_intent=..., with the same share of 500s
// and 429s as the session fetches, and reports whether r was one of them.
func (s *stripeFake) servePayment(w http.ResponseWriter, r *http.Request) bool {
	f := s.refunds
	charge := stripeChargePath.FindStringSubmatch(r.URL.Path)
	list := r.URL.Path == "/v1/checkout/sessions" && r.URL.Query().Has("payment_intent")
	if charge == nil && !list {
		return false
	}
	switch {
	case r.Method != http.MethodGet:
		s.refuse(w, http.StatusNotFound, fmt.Sprintf("unexpected %s %s", r.Method, r.URL.Path))
		return true
	case r.Header.Get("Authorization") != "Bearer "+stripeKey:
		s.refuse(w, http.StatusUnauthorized, "wrong API key")
		return true
	case r.Header.Get("Stripe-Version") != stripeAPIVersion:
		s.refuse(w, http.StatusBadRequest, "Stripe-Version "+r.Header.Get("Stripe-Version"))
		return true
	}
	var sess *session
	if list {
		sess = f.byIntent[r.URL.Query().Get("payment_intent")]
	} else {
		sess = f.byCharge[charge[1]]
	}
	if sess == nil {
		s.refuse(w, http.StatusNotFound, "no refunded payment for "+r.URL.RequestURI())
		return true
	}
	f.mu.Lock()
	if list {
		f.lookup++
		closeOnce(f.looked, sess.id) // the refund's ProcessOrder has come this far
	} else {
		f.charges++
	}
	f.mu.Unlock()
	s.mu.Lock()
	roll := s.rng.Float64()
	if roll < s.fail500+s.fail429 {
		s.injected++
	}
	s.mu.Unlock()
	switch {
	case roll < s.fail500:
		writeJSON(w, http.StatusInternalServerError, stripeError("api_error", "", "fault test: a transient failure"))
	case roll < s.fail500+s.fail429:
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusTooManyRequests, stripeError("invalid_request_error", "rate_limit", "fault test: too many requests"))
	case list:
		listed := sessionJSON(sess, true)
		delete(listed, "line_items")
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{listed}, "has_more": false, "url": "/v1/checkout/sessions"})
	default:
		writeJSON(w, http.StatusOK, chargeJSON(sess))
	}
	return true
}

// chargeJSON is the charge that paid s, refunded in full.
func chargeJSON(s *session) map[string]any {
	return map[string]any{"id": chargeID(s.id), "object": "charge", "livemode": false, "currency": "eur", "status": "succeeded",
		"paid": true, "captured": true, "payment_intent": paymentIntent(s.id), "amount": s.amount(), "amount_captured": s.amount(),
		"amount_refunded": s.amount(), "refunded": true}
}
