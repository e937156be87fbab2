package stripetest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// buyPrefix is the path of a payment link's page on this server: the link's
// url, where Stripe's is https://buy.stripe.com/....
const buyPrefix = "/buy/"

// Buy pays for what the payment link at linkURL sells, as a customer with
// email does on its hosted page, and returns the id of the complete, paid
// Checkout Session that makes: GET /v1/checkout/sessions/{id} then answers
// it with its line items (the link's prices, with their products
// expanded), and the list endpoints list it.
func (s *Server) Buy(linkURL, email string) (string, error) {
	resp, err := http.PostForm(linkURL, url.Values{"email": {email}})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("buy through %s: %s: %s", linkURL, resp.Status, body)
	}
	var out struct {
		Session string `json:"session"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return "", fmt.Errorf("buy through %s: %w", linkURL, err)
	}
	return out.Session, nil
}

// serveBuy completes a purchase through a payment link; s.mu is held.
func (s *Server) serveBuy(w http.ResponseWriter, r *http.Request) {
	s.cat.init()
	id := strings.TrimPrefix(r.URL.Path, buyPrefix)
	link, ok := s.cat.objects[id]
	email := r.FormValue("email")
	switch {
	case r.Method != http.MethodPost:
		s.refuse(w, http.StatusMethodNotAllowed, "buy with "+r.Method)
		return
	case !ok || link["object"] != "payment_link":
		s.answer(w, http.StatusNotFound, map[string]any{"error": "no such payment link " + id})
		return
	case link["active"] != true:
		s.answer(w, http.StatusGone, map[string]any{"error": "this link is no longer active"})
		return
	case email == "":
		s.answer(w, http.StatusBadRequest, map[string]any{"error": "no email"})
		return
	}
	items := s.linkItems(link)
	var total int64
	for _, li := range items["data"].([]any) {
		item := li.(map[string]any)
		price := maps.Clone(item["price"].(map[string]any))
		product := s.cat.objects[price["product"].(string)]
		if price["active"] != true || product["active"] != true {
			s.answer(w, http.StatusGone, map[string]any{"error": "this item is no longer sold"})
			return
		}
		price["product"] = maps.Clone(product) // the pipeline expands line_items.data.price.product
		item["price"] = price
		total += item["amount_total"].(int64)
	}
	var sess map[string]any
	if err := json.Unmarshal(paidSession, &sess); err != nil {
		s.tb.Errorf("stripetest: fixture: %v", err)
		return
	}
	s.cat.sessionSeq++
	sid := fmt.Sprintf("cs_test_link%04d", s.cat.sessionSeq)
	sess["id"], sess["payment_link"], sess["created"] = sid, id, time.Now().Unix()
	sess["status"], sess["payment_status"] = "complete", "paid"
	sess["payment_intent"] = fmt.Sprintf("pi_link%04d", s.cat.sessionSeq)
	sess["amount_total"], sess["amount_subtotal"], sess["currency"] = total, total, link["currency"]
	sess["customer_details"].(map[string]any)["email"] = email
	sess["line_items"] = items
	s.cat.sessions[sid] = sess
	listed := maps.Clone(sess)
	delete(listed, "line_items")
	s.addListed(listed)
	s.answer(w, http.StatusOK, map[string]any{"session": sid})
}

// sessionByID is the session id: one Buy made, else the fixture session
// when id is its id; s.mu is held.
func (s *Server) sessionByID(id string) map[string]any {
	if sess, ok := s.cat.sessions[id]; ok {
		return sess
	}
	if id == s.session["id"] {
		return s.session
	}
	return nil
}
