package stripetest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// listPath is the list endpoint of Checkout Sessions.
const listPath = "/v1/checkout/sessions"

// Listed returns a session for AddSessions: the fixture session without its
// line items (the list endpoint does not embed them), with the given id,
// creation time, status (open, complete, expired) and payment_status (paid,
// unpaid, no_payment_required).
func Listed(id string, created time.Time, status, paymentStatus string) map[string]any {
	var s map[string]any
	if err := json.Unmarshal(paidSession, &s); err != nil {
		panic("stripetest: fixture: " + err.Error()) // embedded and tested: cannot happen
	}
	delete(s, "line_items")
	s["id"], s["created"], s["status"], s["payment_status"] = id, created.Unix(), status, paymentStatus
	return s
}

// AddSessions adds sessions (see Listed) to those GET /v1/checkout/sessions
// lists. The endpoint answers them newest first, as Stripe does, at most
// ListPageSize at a time, and only those created at or after the request's
// created[gte], which every list request must carry.
func (s *Server) AddSessions(sessions ...map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addListed(sessions...)
}

// addListed adds sessions to those listed, newest first; s.mu is held.
func (s *Server) addListed(sessions ...map[string]any) {
	s.listed = append(s.listed, sessions...)
	slices.SortStableFunc(s.listed, func(a, b map[string]any) int { return created(b) - created(a) })
}

func created(session map[string]any) int {
	switch v := session["created"].(type) {
	case int64:
		return int(v)
	case float64:
		return int(v)
	}
	return 0
}

// serveList answers a list request; s.mu is held.
func (s *Server) serveList(w http.ResponseWriter, q url.Values) {
	gte, err := strconv.Atoi(q.Get("created[gte]"))
	if err != nil {
		s.refuse(w, http.StatusBadRequest, "sessions listed without created[gte]: the pipeline lists a window, never the whole account")
		return
	}
	var window []any
	for _, sess := range s.listed {
		if created(sess) >= gte {
			window = append(window, sess)
		}
	}
	data, more, problem := page(window, q.Get("starting_after"), q.Get("limit"), s.ListPageSize)
	if problem != "" {
		s.refuse(w, http.StatusBadRequest, problem)
		return
	}
	s.answer(w, http.StatusOK, map[string]any{"object": "list", "data": data, "has_more": more, "url": listPath})
}

// page is the page of a list of objects (decoded JSON, each with an id):
// those after the one with id after ("": from the first), at most limit
// (Stripe's 1..100, 10 when "") and at most most; more reports whether
// any follow. problem says what is wrong with the request, or is "".
func page(all []any, after, limit string, most int) (data []any, more bool, problem string) {
	n := 10
	if limit != "" {
		var err error
		if n, err = strconv.Atoi(limit); err != nil || n < 1 || n > 100 {
			return nil, false, "limit " + limit + " is not 1..100"
		}
	}
	start := 0
	if after != "" {
		start = slices.IndexFunc(all, func(v any) bool { return v.(map[string]any)["id"] == after }) + 1
		if start == 0 {
			return nil, false, "starting_after " + after + " is not one of the objects listed"
		}
	}
	end := min(len(all), start+min(n, most))
	data = all[start:end]
	if data == nil {
		data = []any{}
	}
	return data, end < len(all), ""
}
