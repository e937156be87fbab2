// Package stripetest stands in for the Stripe API's Checkout Session
// endpoints (and the charges and disputes that refunds and disputes name)
// in tests. It serves the project's own paid-session fixture
// (testdata/checkout_session_paid.json, in the API's 2023-10-16 shape) on
// 127.0.0.1, pages its line items, lists the sessions a test adds (newest
// first, a window of them by creation time), and checks every request the
// way the pipeline must call the API: GET, the right path, the expand
// parameters, the Authorization and Stripe-Version headers. A request that
// fails a check fails the test.
//
// It also keeps a catalog as Stripe does (catalog.go): products, prices and
// payment links, created, changed and listed through the API, every write
// with its Idempotency-Key checked and answered again on a repeat; and a
// payment link's url completes a paid Checkout Session for what it sells
// (Buy), which the session endpoints then serve.
//
// stripe-mock proves that requests are valid API calls, but its session is
// always unpaid and it keeps nothing; this server drives the paid path, the
// catalog's state, and the failures (404, 429, 5xx, a lost answer) that
// stripe-mock cannot produce.
package stripetest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Key is the API key the server accepts.
const Key = "sk_test_51FiledropFixtureKey"

// APIVersion is the Stripe-Version every request must carry (stripe-go v76's).
const APIVersion = "2023-10-16"

// SessionID is the id of the fixture session.
const SessionID = "cs_test_b1Q8fX3kLmN2pR7sT9vW4yZ6aC0dE5gH8jK1lM3nP5qR7sT9uV2wX4yZ6a"

//go:embed testdata/checkout_session_paid.json
var paidSession []byte

// Server is a running fixture server.
type Server struct {
	// URL is the API base, for STRIPE_API_URL.
	URL string
	// PageSize is the most line items one answer holds (embedded in the
	// session or listed): small, so that paging is always exercised.
	PageSize int
	// ListPageSize is the most sessions one answer of the list endpoint
	// holds (see AddSessions).
	ListPageSize int

	tb       testing.TB
	mu       sync.Mutex
	session  map[string]any
	listed   []map[string]any
	fail     *failure
	requests []string
	// charges and disputes are served by id (see SetCharge, SetDispute).
	charges, disputes map[string]map[string]any
	// cat is the catalog: products, prices, payment links, and the
	// sessions bought through them (see catalog.go and buy.go).
	cat catalog
}

type failure struct {
	status int
	header http.Header
	body   []byte
}

// NewServer starts a server holding the paid fixture session, with a
// PageSize of 2 and a ListPageSize of 100, and stops it when the test ends.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{PageSize: 2, ListPageSize: 100, tb: tb}
	if err := json.Unmarshal(paidSession, &s.session); err != nil {
		tb.Fatalf("stripetest: fixture: %v", err)
	}
	ts := httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(ts.Close)
	s.URL = ts.URL
	return s
}

// Edit changes the fixture session: fn gets it as decoded JSON, with all of
// its line items under line_items.data.
func (s *Server) Edit(fn func(session map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.session)
}

// Fail makes every following request answer status with a Stripe error of
// the given code and the header; Fail(0, "", nil) serves normally again.
func (s *Server) Fail(status int, code string, header http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 0 {
		s.fail = nil
		return
	}
	body, _ := json.Marshal(map[string]any{"error": map[string]any{
		"type": "api_error", "code": code, "message": fmt.Sprintf("fixture failure %d", status)}})
	s.fail = &failure{status: status, header: header, body: body}
}

// Requests returns the path and query of every request served so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// LineItems returns the session's line items (decoded JSON objects).
func LineItems(session map[string]any) []map[string]any {
	var out []map[string]any
	for _, li := range session["line_items"].(map[string]any)["data"].([]any) {
		out = append(out, li.(map[string]any))
	}
	return out
}

// Product returns a line item's expanded product.
func Product(lineItem map[string]any) map[string]any {
	return lineItem["price"].(map[string]any)["product"].(map[string]any)
}

var (
	sessionPath   = regexp.MustCompile(`^/v1/checkout/sessions/([^/]+)$`)
	lineItemsPath = regexp.MustCompile(`^/v1/checkout/sessions/([^/]+)/line_items$`)
	expandKey     = regexp.MustCompile(`^expand\[\d*\]$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.URL.RequestURI())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", fmt.Sprintf("req_fixture%04d", len(s.requests)))
	w.Header().Set("Stripe-Version", APIVersion)
	if s.cat.down {
		drop(w)
		return
	}
	if strings.HasPrefix(r.URL.Path, buyPrefix) { // a customer on a payment link's page: no API key
		s.serveBuy(w, r)
		return
	}
	if problem := checkHeaders(r); problem != "" {
		s.refuse(w, http.StatusBadRequest, problem)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+Key {
		s.answer(w, http.StatusUnauthorized, stripeError("invalid_request_error", "", "Invalid API Key provided", ""))
		return
	}
	if s.fail != nil {
		for k, v := range s.fail.header {
			w.Header()[k] = v
		}
		w.WriteHeader(s.fail.status)
		_, _ = w.Write(s.fail.body)
		return
	}
	if s.serveCatalog(w, r) {
		return
	}
	if r.Method != http.MethodGet {
		s.refuse(w, http.StatusBadRequest, "method "+r.Method+", want GET")
		return
	}
	q := r.URL.Query()
	var expand []string
	for k, v := range q {
		if expandKey.MatchString(k) {
			expand = append(expand, v...)
		}
	}
	switch {
	case r.URL.Path == listPath && q.Has("payment_intent"):
		s.serveListByPayment(w, q)
	case r.URL.Path == listPath:
		s.serveList(w, q)
	case s.servePayment(w, r.URL.Path):
	case sessionPath.MatchString(r.URL.Path):
		id := sessionPath.FindStringSubmatch(r.URL.Path)[1]
		if !slices.Contains(expand, "line_items") || !slices.Contains(expand, "line_items.data.price.product") {
			s.refuse(w, http.StatusBadRequest, fmt.Sprintf("session fetched with expand %v: want line_items and line_items.data.price.product", expand))
			return
		}
		sess := s.sessionByID(id)
		if sess == nil {
			s.answer(w, http.StatusNotFound, missing(id))
			return
		}
		s.answer(w, http.StatusOK, s.sessionPage(sess, slices.Contains(expand, "payment_intent.latest_charge")))
	case lineItemsPath.MatchString(r.URL.Path):
		id := lineItemsPath.FindStringSubmatch(r.URL.Path)[1]
		if !slices.Contains(expand, "data.price.product") {
			s.refuse(w, http.StatusBadRequest, fmt.Sprintf("line items listed with expand %v: want data.price.product", expand))
			return
		}
		sess := s.sessionByID(id)
		if sess == nil {
			s.answer(w, http.StatusNotFound, missing(id))
			return
		}
		page, problem := s.lineItemPage(sess, q.Get("starting_after"), q.Get("limit"))
		if problem != "" {
			s.refuse(w, http.StatusBadRequest, problem)
			return
		}
		s.answer(w, http.StatusOK, page)
	default:
		s.refuse(w, http.StatusNotFound, "unexpected path "+r.URL.Path)
	}
}

func checkHeaders(r *http.Request) string {
	if r.Header.Get("Stripe-Version") != APIVersion {
		return fmt.Sprintf("Stripe-Version %q, want %q", r.Header.Get("Stripe-Version"), APIVersion)
	}
	return ""
}

// PaidDelay is how long after the fixture session's creation its payment
// intent's latest charge was created: when the customer paid.
const PaidDelay = 90 * time.Second

// sessionPage is the session with its first page of line items, and with
// its payment intent and that one's latest charge expanded when charge.
func (s *Server) sessionPage(sess map[string]any, charge bool) map[string]any {
	out := maps.Clone(sess)
	if pi, ok := out["payment_intent"].(string); ok && charge {
		created, _ := out["created"].(float64)
		out["payment_intent"] = map[string]any{"id": pi, "object": "payment_intent", "latest_charge": map[string]any{
			"id": "ch_" + strings.TrimPrefix(pi, "pi_"), "object": "charge", "created": int64(created) + int64(PaidDelay/time.Second)}}
	}
	all := items(sess)
	n := min(len(all), s.PageSize)
	out["line_items"] = map[string]any{"object": "list", "data": all[:n], "has_more": n < len(all),
		"url": "/v1/checkout/sessions/" + sess["id"].(string) + "/line_items"}
	return out
}

func (s *Server) lineItemPage(sess map[string]any, after, limit string) (map[string]any, string) {
	data, more, problem := page(items(sess), after, limit, s.PageSize)
	if problem != "" {
		return nil, problem
	}
	return map[string]any{"object": "list", "data": data, "has_more": more,
		"url": "/v1/checkout/sessions/" + sess["id"].(string) + "/line_items"}, ""
}

func items(sess map[string]any) []any {
	return sess["line_items"].(map[string]any)["data"].([]any)
}

func (s *Server) answer(w http.ResponseWriter, status int, v any) {
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.tb.Errorf("stripetest: encode answer: %v", err)
	}
}

// refuse answers a request the pipeline should never send, and fails the test.
func (s *Server) refuse(w http.ResponseWriter, status int, problem string) {
	s.tb.Errorf("stripetest: bad request: %s", problem)
	s.answer(w, status, stripeError("invalid_request_error", "", "stripetest: "+problem, ""))
}

func missing(id string) map[string]any {
	return stripeError("invalid_request_error", "resource_missing", "No such checkout.session: '"+id+"'", "session")
}

func stripeError(typ, code, msg, param string) map[string]any {
	e := map[string]any{"type": typ, "message": msg}
	if code != "" {
		e["code"] = code
		e["doc_url"] = "https://stripe.com/docs/error-codes/" + strings.ReplaceAll(code, "_", "-")
	}
	if param != "" {
		e["param"] = param
	}
	return map[string]any{"error": e}
}
