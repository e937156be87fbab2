package stripetest

import (
	"maps"
	"net/http"
	"net/url"
	"regexp"
)

// PaymentIntent is the fixture session's payment intent.
const PaymentIntent = "pi_3OmA0aB2cD3eF4gH0xYz1234"

var (
	chargePath  = regexp.MustCompile(`^/v1/charges/([^/]+)$`)
	disputePath = regexp.MustCompile(`^/v1/disputes/([^/]+)$`)
)

// SetCharge makes GET /v1/charges/{id} answer a test-mode charge of
// paymentIntent for amount, of which amountRefunded is refunded (refunded
// is true when that is all of it). Set it again to record a later refund.
func (s *Server) SetCharge(id, paymentIntent string, amount, amountRefunded int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.charges == nil {
		s.charges = map[string]map[string]any{}
	}
	s.charges[id] = map[string]any{"id": id, "object": "charge", "livemode": false, "currency": "eur", "status": "succeeded",
		"paid": true, "captured": true, "payment_intent": paymentIntent, "amount": amount, "amount_captured": amount,
		"amount_refunded": amountRefunded, "refunded": amountRefunded >= amount}
}

// SetDispute makes GET /v1/disputes/{id} answer a test-mode dispute of the
// charge and paymentIntent with status (needs_response, won, lost, ...).
func (s *Server) SetDispute(id, charge, paymentIntent, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.disputes == nil {
		s.disputes = map[string]map[string]any{}
	}
	s.disputes[id] = map[string]any{"id": id, "object": "dispute", "livemode": false, "currency": "eur", "amount": 1000,
		"charge": charge, "payment_intent": paymentIntent, "status": status, "reason": "fraudulent"}
}

// servePayment answers GET /v1/charges/{id} and /v1/disputes/{id}, and
// reports whether the path was one of them; s.mu is held.
func (s *Server) servePayment(w http.ResponseWriter, path string) bool {
	var obj map[string]any
	var kind, id string
	switch {
	case chargePath.MatchString(path):
		kind, id = "charge", chargePath.FindStringSubmatch(path)[1]
		obj = s.charges[id]
	case disputePath.MatchString(path):
		kind, id = "dispute", disputePath.FindStringSubmatch(path)[1]
		obj = s.disputes[id]
	default:
		return false
	}
	if obj == nil {
		s.answer(w, http.StatusNotFound, stripeError("invalid_request_error", "resource_missing", "No such "+kind+": '"+id+"'", "id"))
		return true
	}
	s.answer(w, http.StatusOK, obj)
	return true
}

// serveListByPayment answers GET /v1/checkout/sessions?payment_intent=...:
// the fixture session and the added ones whose payment intent it is; s.mu
// is held.
func (s *Server) serveListByPayment(w http.ResponseWriter, q url.Values) {
	pi := q.Get("payment_intent")
	var data []any
	for _, sess := range append([]map[string]any{s.session}, s.listed...) {
		if sess["payment_intent"] == pi {
			out := maps.Clone(sess)
			delete(out, "line_items")
			data = append(data, out)
		}
	}
	if data == nil {
		data = []any{}
	}
	s.answer(w, http.StatusOK, map[string]any{"object": "list", "data": data, "has_more": false, "url": listPath})
}
