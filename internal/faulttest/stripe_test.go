package faulttest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// stripeKey is the API key the fixture server accepts.
const stripeKey = "sk_test_51FiledropFaultFixture"

// stripeAPIVersion is the Stripe-Version stripe-go v76 sends.
const stripeAPIVersion = "2023-10-16"

// originalName is the blob of product n: products with an odd number name
// their original in the metadata, the others rely on the default,
// <product id>.jpg.
func originalName(n int) string {
	if n%2 == 1 {
		return fmt.Sprintf("fault-original-%d.jpg", n)
	}
	return productID(n) + ".jpg"
}

func productID(n int) string { return fmt.Sprintf("prod_fault%d", n) }

// originalBytes is the content of product n's original.
func originalBytes(n int) []byte {
	return fmt.Appendf(nil, "original of %s, a photograph that the fault test sells\n", productID(n))
}

// stripeFake answers GET /v1/checkout/sessions/{id} for the sessions of a
// plan, deterministically per id, and fails a share of the requests with a
// 500 or a 429 as Stripe sometimes does. It checks each request the way
// stripe-go sends it (GET, the key, Stripe-Version, both expands).
type stripeFake struct {
	URL string

	t       testing.TB
	plan    *plan
	fail500 float64
	fail429 float64
	mu      sync.Mutex
	rng     *rand.Rand
	paid    map[string]bool // delayed sessions whose payment has succeeded
	// trap holds a fetch that is about to succeed: ProcessOrder is then
	// mid-invocation, holding the order's lease.
	trap     trap
	gets     int
	injected int // 500s and 429s answered on purpose
	// refunds serves the charges and sessions that refunds look up.
	refunds *refundFake
	// epoch is when the traffic began: a session is created at epoch plus
	// its start, and listed from then on. downFrom and downUntil (from
	// epoch) are an outage: every request fails, as during an incident.
	epoch               time.Time
	downFrom, downUntil time.Duration
	lists, down         int
}

var (
	stripeSessionPath = regexp.MustCompile(`^/v1/checkout/sessions/([A-Za-z0-9_]+)$`)
	stripeExpandKey   = regexp.MustCompile(`^expand\[\d*\]$`)
)

func startStripe(t testing.TB, p *plan, fail500, fail429 float64, seed uint64) *stripeFake {
	s := &stripeFake{t: t, plan: p, fail500: fail500, fail429: fail429,
		rng: rand.New(rand.NewPCG(seed, 0x5717e)), paid: map[string]bool{}, refunds: newRefundFake(p)}
	srv := httptest.NewServer(http.HandlerFunc(s.serve)) // 127.0.0.1
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// pay lets a delayed session's payment succeed.
func (s *stripeFake) pay(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paid[id] = true
}

func (s *stripeFake) counts() (gets, injected int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets, s.injected
}

// begin sets the epoch: the traffic starts now.
func (s *stripeFake) begin(epoch time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch = epoch
}

// isDown reports whether the outage is on now, and counts the request.
func (s *stripeFake) isDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.epoch.IsZero() || s.downUntil <= 0 {
		return false
	}
	at := time.Since(s.epoch)
	if at >= s.downFrom && at < s.downUntil {
		s.down++
		return true
	}
	return false
}

func (s *stripeFake) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Stripe-Version", stripeAPIVersion)
	if s.isDown() {
		writeJSON(w, http.StatusServiceUnavailable, stripeError("api_error", "", "fault test: Stripe is down"))
		return
	}
	if s.servePayment(w, r) { // charges, and sessions listed by payment intent
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == "/v1/checkout/sessions" {
		s.list(w, r)
		return
	}
	m := stripeSessionPath.FindStringSubmatch(r.URL.Path)
	var expand []string
	for k, v := range r.URL.Query() {
		if stripeExpandKey.MatchString(k) {
			expand = append(expand, v...)
		}
	}
	switch {
	case r.Method != http.MethodGet || m == nil:
		s.refuse(w, http.StatusNotFound, fmt.Sprintf("unexpected %s %s", r.Method, r.URL.Path))
		return
	case r.Header.Get("Authorization") != "Bearer "+stripeKey:
		s.refuse(w, http.StatusUnauthorized, "wrong API key")
		return
	case r.Header.Get("Stripe-Version") != stripeAPIVersion:
		s.refuse(w, http.StatusBadRequest, "Stripe-Version "+r.Header.Get("Stripe-Version"))
		return
	case !slices.Contains(expand, "line_items") || !slices.Contains(expand, "line_items.data.price.product"):
		s.refuse(w, http.StatusBadRequest, fmt.Sprintf("expand %v", expand))
		return
	}
	sess := s.plan.byID[m[1]]
	if sess == nil {
		s.refuse(w, http.StatusNotFound, "no session "+m[1])
		return
	}
	s.mu.Lock()
	s.gets++
	roll := s.rng.Float64()
	paid := sess.kind == kindPaid && (!sess.delayed || s.paid[sess.id])
	if roll < s.fail500+s.fail429 {
		s.injected++
	}
	s.mu.Unlock()
	switch {
	case roll < s.fail500:
		writeJSON(w, http.StatusInternalServerError, stripeError("api_error", "", "fault test: a transient failure"))
		return
	case roll < s.fail500+s.fail429:
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusTooManyRequests, stripeError("invalid_request_error", "rate_limit", "fault test: too many requests"))
		return
	}
	if paid {
		s.refunds.holdForRefund(sess)
	}
	s.trap.spring("ProcessOrder fetching " + sess.id)
	writeJSON(w, http.StatusOK, sessionJSON(sess, paid))
}

// list answers GET /v1/checkout/sessions as the scheduled Reconcile asks
// it (created[gte], limit, starting_after): the sessions created so far,
// newest first, without line items.
func (s *stripeFake) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Header.Get("Authorization") != "Bearer "+stripeKey {
		s.refuse(w, http.StatusUnauthorized, "wrong API key")
		return
	}
	gte, _ := strconv.ParseInt(q.Get("created[gte]"), 10, 64)
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit < 1 || limit > 100 {
		limit = 10
	}
	s.mu.Lock()
	s.lists++
	type listed struct {
		sess    *session
		created time.Time
		paid    bool
	}
	var all []listed
	for _, sess := range s.plan.sessions {
		created := s.epoch.Add(sess.start)
		if s.epoch.IsZero() || created.After(time.Now()) || created.Unix() < gte {
			continue
		}
		all = append(all, listed{sess, created, sess.kind == kindPaid && (!sess.delayed || s.paid[sess.id])})
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b listed) int { return b.created.Compare(a.created) })
	if after := q.Get("starting_after"); after != "" {
		for i, l := range all {
			if l.sess.id == after {
				all = all[i+1:]
				break
			}
		}
	}
	more := len(all) > limit
	all = all[:min(limit, len(all))]
	data := make([]any, 0, len(all))
	for _, l := range all {
		obj := sessionJSON(l.sess, l.paid)
		delete(obj, "line_items")
		obj["created"] = l.created.Unix()
		data = append(data, obj)
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "has_more": more, "url": "/v1/checkout/sessions"})
}

// refuse answers a request the pipeline should never send, and fails the test.
func (s *stripeFake) refuse(w http.ResponseWriter, status int, problem string) {
	s.t.Errorf("stripe fixture: bad request: %s", problem)
	writeJSON(w, status, stripeError("invalid_request_error", "", "fault test: "+problem))
}

// sessionJSON is the session as the API answers it with line_items and
// line_items.data.price.product expanded.
func sessionJSON(s *session, paid bool) map[string]any {
	status := "unpaid"
	if paid {
		status = "paid"
	}
	items := make([]any, 0, len(s.products))
	for i, n := range s.products {
		meta := map[string]any{}
		if n%2 == 1 {
			meta["original"] = originalName(n)
		}
		items = append(items, map[string]any{
			"id": fmt.Sprintf("li_%s_%d", s.id[len("cs_test_"):], i), "object": "item",
			"description": fmt.Sprintf("Photograph no. %d", n), "quantity": 1, "currency": "eur",
			"amount_total": 1500, "amount_subtotal": 1500,
			"price": map[string]any{"id": fmt.Sprintf("price_fault%d", n), "object": "price", "currency": "eur",
				"unit_amount": 1500, "type": "one_time", "livemode": false,
				"product": map[string]any{"id": productID(n), "object": "product", "name": fmt.Sprintf("Photograph no. %d", n),
					"active": true, "livemode": false, "metadata": meta}},
		})
	}
	return map[string]any{
		"id": s.id, "object": "checkout.session", "livemode": false, "mode": "payment",
		"status": "complete", "payment_status": status, "currency": "eur", "amount_total": 1500 * len(s.products),
		"customer_email": nil, "locale": "auto", "payment_intent": paymentIntent(s.id),
		"customer_details": map[string]any{"email": s.email, "name": "Fault Test Customer"},
		"line_items": map[string]any{"object": "list", "data": items, "has_more": false,
			"url": "/v1/checkout/sessions/" + s.id + "/line_items"},
	}
}

func stripeError(typ, code, msg string) map[string]any {
	e := map[string]any{"type": typ, "message": msg}
	if code != "" {
		e["code"] = code
	}
	return map[string]any{"error": e}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
