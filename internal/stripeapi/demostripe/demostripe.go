// Package demostripe is the Stripe of the demo (handler local with no
// Stripe key): in front of stripe-mock, which answers every other request
// from the project's fixtures, it serves the demo order's charge and its
// disputes with state, so that a refund or a dispute, and the dispute's
// outcome, can be watched end to end on the order page. stripe-mock cannot:
// it is stateless, and answers any id with the one fixture of its type.
//
// Like Stripe's API, with the same shapes (the fields filedrop reads):
//
//	GET  /v1/charges/{id}     the demo charge, refunded as far as refunds went
//	GET  /v1/disputes/{id}    a dispute opened here, with its status
//	POST /v1/refunds          refund the demo charge (charge=..., amount= optional: the rest)
//
// and the demo's own, because Stripe opens and decides a dispute through
// the card network, with no API call:
//
//	POST /demo/disputes/{id}  open or decide a dispute of the demo charge (charge=..., status=...)
//
// Every other request, and a charge or dispute that is not the demo's, is
// forwarded to stripe-mock as it came. Requests need a test-mode secret key,
// as stripe-mock's do.
package demostripe

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Charge is the demo order's charge as the demo starts.
type Charge struct {
	ID            string
	PaymentIntent string
	// Amount is in the currency's smallest unit.
	Amount   int64
	Currency string
	Created  time.Time
}

// Statuses are the dispute statuses POST /demo/disputes/{id} accepts:
// Stripe's.
var Statuses = []string{"warning_needs_response", "warning_under_review", "warning_closed", "needs_response", "under_review", "won", "lost"}

// Server is the demo's Stripe. It is safe for concurrent use.
type Server struct {
	charge   Charge
	upstream http.Handler
	now      func() time.Time

	mu       sync.Mutex
	refunded int64
	refunds  int
	disputes map[string]dispute
}

type dispute struct {
	status  string
	created time.Time
}

// New returns the demo's Stripe for charge, forwarding the rest to
// stripe-mock at upstream (its base URL).
func New(upstream string, charge Charge, now func() time.Time) (*Server, error) {
	u, err := url.Parse(upstream)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("demo Stripe: stripe-mock's URL %q is not an http URL", upstream)
	}
	return &Server{charge: charge, upstream: httputil.NewSingleHostReverseProxy(u), now: now, disputes: map[string]dispute{}}, nil
}

// ServeHTTP answers one request; see the package documentation.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer sk_test_") {
		answer(w, http.StatusUnauthorized, stripeError("invalid_request_error", "", "the demo Stripe takes a test-mode secret key (sk_test_...)", ""))
		return
	}
	id, rest := "", strings.TrimPrefix(r.URL.Path, "/")
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "v1/charges/"):
		if id = strings.TrimPrefix(rest, "v1/charges/"); id == s.charge.ID {
			s.mu.Lock()
			defer s.mu.Unlock()
			answer(w, http.StatusOK, s.chargeJSON())
			return
		}
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "v1/disputes/"):
		id = strings.TrimPrefix(rest, "v1/disputes/")
		s.mu.Lock()
		d, ok := s.disputes[id]
		s.mu.Unlock()
		if ok {
			answer(w, http.StatusOK, s.disputeJSON(id, d))
			return
		}
	case r.Method == http.MethodPost && rest == "v1/refunds":
		s.refund(w, r)
		return
	case r.Method == http.MethodPost && strings.HasPrefix(rest, "demo/disputes/"):
		s.setDispute(w, r, strings.TrimPrefix(rest, "demo/disputes/"))
		return
	}
	s.upstream.ServeHTTP(w, r)
}

// refund refunds amount of the demo charge, the rest of it by default.
func (s *Server) refund(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		answer(w, http.StatusBadRequest, stripeError("invalid_request_error", "", "the body is not a form: "+err.Error(), ""))
		return
	}
	if c := r.PostForm.Get("charge"); c != s.charge.ID {
		answer(w, http.StatusNotFound, missing("charge", c, "charge"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	left := s.charge.Amount - s.refunded
	amount := left
	if v := r.PostForm.Get("amount"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			answer(w, http.StatusBadRequest, stripeError("invalid_request_error", "parameter_invalid_integer", "amount must be a positive integer", "amount"))
			return
		}
		amount = n
	}
	switch {
	case left == 0:
		answer(w, http.StatusBadRequest, stripeError("invalid_request_error", "charge_already_refunded",
			fmt.Sprintf("Charge %s has already been refunded.", s.charge.ID), ""))
		return
	case amount > left:
		answer(w, http.StatusBadRequest, stripeError("invalid_request_error", "amount_too_large",
			fmt.Sprintf("Refund amount (%d) is greater than the unrefunded amount on the charge (%d).", amount, left), "amount"))
		return
	}
	s.refunded += amount
	s.refunds++
	answer(w, http.StatusOK, map[string]any{"id": fmt.Sprintf("re_demo_%d", s.refunds), "object": "refund", "amount": amount,
		"charge": s.charge.ID, "payment_intent": s.charge.PaymentIntent, "currency": s.charge.Currency, "status": "succeeded",
		"created": s.now().Unix()})
}

// setDispute opens the dispute id of the demo charge, or gives it status.
func (s *Server) setDispute(w http.ResponseWriter, r *http.Request, id string) {
	if err := r.ParseForm(); err != nil {
		answer(w, http.StatusBadRequest, stripeError("invalid_request_error", "", "the body is not a form: "+err.Error(), ""))
		return
	}
	status := r.PostForm.Get("status")
	switch {
	case !strings.HasPrefix(id, "dp_") || strings.ContainsAny(id, "/?#") || len(id) > 255:
		answer(w, http.StatusBadRequest, stripeError("invalid_request_error", "", "a dispute id is dp_ and letters, digits or underscores", "id"))
		return
	case r.PostForm.Get("charge") != s.charge.ID:
		answer(w, http.StatusNotFound, missing("charge", r.PostForm.Get("charge"), "charge"))
		return
	case !slices.Contains(Statuses, status):
		answer(w, http.StatusBadRequest, stripeError("invalid_request_error", "", fmt.Sprintf("status must be one of %s", strings.Join(Statuses, ", ")), "status"))
		return
	}
	s.mu.Lock()
	d, ok := s.disputes[id]
	if !ok {
		d.created = s.now()
	}
	d.status = status
	s.disputes[id] = d
	s.mu.Unlock()
	answer(w, http.StatusOK, s.disputeJSON(id, d))
}

// chargeJSON is the demo charge as Stripe shows it; s.mu is held.
func (s *Server) chargeJSON() map[string]any {
	c := s.charge
	return map[string]any{"id": c.ID, "object": "charge", "livemode": false, "amount": c.Amount, "amount_captured": c.Amount,
		"amount_refunded": s.refunded, "refunded": s.refunded >= c.Amount, "captured": true, "paid": true, "status": "succeeded",
		"currency": c.Currency, "created": c.Created.Unix(), "payment_intent": c.PaymentIntent, "disputed": len(s.disputes) > 0}
}

func (s *Server) disputeJSON(id string, d dispute) map[string]any {
	c := s.charge
	return map[string]any{"id": id, "object": "dispute", "livemode": false, "amount": c.Amount, "currency": c.Currency,
		"charge": c.ID, "payment_intent": c.PaymentIntent, "status": d.status, "reason": "fraudulent", "created": d.created.Unix()}
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_demo")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func missing(kind, id, param string) map[string]any {
	return stripeError("invalid_request_error", "resource_missing", fmt.Sprintf("No such %s: '%s' (the demo has one: see handler simulate --help)", kind, id), param)
}

func stripeError(typ, code, msg, param string) map[string]any {
	e := map[string]any{"type": typ, "message": msg}
	if code != "" {
		e["code"] = code
	}
	if param != "" {
		e["param"] = param
	}
	return map[string]any{"error": e}
}
