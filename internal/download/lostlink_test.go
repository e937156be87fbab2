package download_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/download"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/orderlink"
)

// mailQueue records the mails the page queues.
type mailQueue struct {
	mu   sync.Mutex
	msgs []order.MailJob
	err  error
}

func (q *mailQueue) Send(_ context.Context, data []byte, _ time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	m, err := order.DecodeMailJob(data)
	if err != nil {
		return err
	}
	q.msgs = append(q.msgs, m)
	return nil
}

func (q *mailQueue) sent() []order.MailJob {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.msgs
}

// lostShop is the Download function with the lost page: a ledger whose
// index lists the orders of ada@example.com, a clock the test moves, and
// the mail queue.
type lostShop struct {
	fixture
	mails *mailQueue
	clock time.Time
}

// customerOrder is a fulfilled, open order of ada@example.com paid at.
func customerOrder(id string, at time.Time, locale string) order.Order {
	o := paidOrder()
	o.SessionID, o.PaidAt, o.OrderedAt, o.CreatedAt = id, at, at, at
	o.Mail = []byte(`{"v":1,"kind":"download_links","customer":{"email":"ada@example.com","name":"Ada"},"locale":"` + locale + `"}`)
	return o
}

func newLostShop(t *testing.T, recs ...order.Order) *lostShop {
	t.Helper()
	f := newFixture(t, 10, recs...)
	s := &lostShop{fixture: f, mails: &mailQueue{}, clock: now}
	var err error
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{w: f.logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s.h, err = download.New(download.Deps{Refs: f.signer, Records: f.ledger, Links: f.links, Settings: download.Settings{Shop: "Lumen Photo",
		Support: "help@lumen.example", Window: window, Limit: 10, Rate: 1000},
		LostLinks: &download.LostLinks{Customers: f.ledger, Mails: s.mails, Link: f.signer.URL}, Now: func() time.Time { return s.clock }, Log: log})
	require.NoError(t, err)
	for _, o := range recs {
		require.NoError(t, f.ledger.IndexOrder(t.Context(), o.CustomerEmail, o.SessionID, o.IndexDate(now)))
	}
	return s
}

// ask posts the form from the client address client and returns the answer.
func (s *lostShop) ask(email, client string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, orderlink.Path, strings.NewReader(url.Values{"email": {email}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Forwarded-For", client)
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	return w
}

func TestLostPageForm(t *testing.T) {
	s := newLostShop(t)
	for _, path := range []string{"/api/download/", "/api/download", "/API/Download/"} {
		w := s.do(http.MethodGet, path, nil)
		require.Equal(t, http.StatusOK, w.Code, path)
		body := w.Body.String()
		require.Contains(t, body, "Lost your link?")
		require.Contains(t, body, `<form class="lost" method="post" action="/api/download/?hl=en">`, "the form keeps the page's language")
		require.Contains(t, body, `<input id="email" name="email" type="email"`)
		require.NotContains(t, body, "<script")
		orderPage := s.do(http.MethodGet, s.page(session), nil)
		for _, h := range []string{"Content-Security-Policy", "Cache-Control", "Referrer-Policy", "X-Content-Type-Options", "X-Robots-Tag"} {
			require.NotEmpty(t, w.Header().Get(h), h)
			require.Equal(t, orderPage.Header().Get(h), w.Header().Get(h), "the order page's %s", h)
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/api/download/", nil)
	r.Header.Set("Accept-Language", "de-CH, fr;q=0.8")
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	require.Contains(t, w.Body.String(), "Link verloren?", "the browser's language")
	w = s.do(http.MethodGet, "/api/download/?hl=fr", nil)
	require.Contains(t, w.Body.String(), `action="/api/download/?hl=fr"`, "the language of the page that linked to it")
	require.Contains(t, w.Body.String(), "Lien perdu")
	require.Contains(t, s.do(http.MethodGet, "/api/download/?hl=xx", nil).Body.String(), `action="/api/download/?hl=en"`, "an unknown language")
}

func TestEveryStatusPageLinksToTheLostPage(t *testing.T) {
	pages := map[string]func(o *order.Order){
		"open":    func(*order.Order) {},
		"revoked": func(o *order.Order) { o.Revoke("fraud", now) },
		"expired": func(o *order.Order) { o.PaidAt = paid.Add(-window) },
		"pending": func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State, s.Files, s.PaidAt = order.StateAwaitingPayment, nil, time.Time{} })
		},
		"failed": func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State, s.Files, s.PaidAt = order.StatePaymentFailed, nil, time.Time{} })
		},
	}
	for name, edit := range pages {
		t.Run(name, func(t *testing.T) {
			o := paidOrder()
			edit(&o)
			s := newLostShop(t, o)
			require.True(t, strings.Contains(s.do(http.MethodGet, s.page(session), nil).Body.String(), `<a href="/api/download/?hl=en">Lost your link?</a>`))
			without := newFixture(t, 10, o)
			require.False(t, strings.Contains(without.do(http.MethodGet, without.page(session), nil).Body.String(), "Lost your link?"),
				"no link to a page that is not served")
		})
	}
	s := newLostShop(t)
	for _, path := range []string{s.page("cs_test_nobody"), orderlink.Path + session + ".AAAAAAAAAAAAAAAAAAAAAA"} {
		require.True(t, strings.Contains(s.do(http.MethodGet, path, nil).Body.String(), `<a href="/api/download/?hl=en">Lost your link?</a>`), path)
	}
}

func TestLostLinksMailsEveryOpenOrderOnce(t *testing.T) {
	older := customerOrder("cs_test_older", paid.Add(-72*time.Hour), "en")
	newer := customerOrder("cs_test_newer", paid, "fr-CA")
	newer.CustomerEmail = "ADA@example.com"
	revoked := customerOrder("cs_test_revoked", paid.Add(-24*time.Hour), "en")
	revoked.Revoke("fraud", now)
	expired := customerOrder("cs_test_expired", paid.Add(-window-time.Hour), "en")
	unpaid := customerOrder("cs_test_unpaid", paid, "en")
	unpaid = ordertest.Edit(unpaid, func(s *order.Snapshot) { s.State, s.Files, s.PaidAt = order.StateAwaitingPayment, nil, time.Time{} })
	stale := customerOrder("cs_test_other", paid, "en") // listed under ada, but mailed to bob
	stale.CustomerEmail = "bob@example.com"
	s := newLostShop(t, older, newer, revoked, expired, unpaid)
	s.ledger.Put(stale)
	require.NoError(t, s.ledger.IndexOrder(t.Context(), "ada@example.com", stale.SessionID, paid))

	known := s.ask("  Ada@Example.com ", "203.0.113.7")
	require.Equal(t, http.StatusOK, known.Code)
	require.Contains(t, known.Body.String(), "Check your inbox")
	sent := s.mails.sent()
	require.Len(t, sent, 1, "one mail for all the orders")
	m := sent[0]
	require.Equal(t, order.MailOrderLinks, m.Kind)
	require.Equal(t, "cs_test_newer", m.SessionID, "recorded on the newest order")
	require.Equal(t, "fr-CA", m.Locale, "in the newest order's language")
	require.Equal(t, order.Customer{Email: "Ada@Example.com", Name: "Ada"}, m.Customer)
	require.Equal(t, 1, m.Generation)
	var ids []string
	for _, o := range m.Orders {
		ids = append(ids, o.SessionID)
		got, err := s.signer.Parse(strings.TrimPrefix(o.URL, "https://shop.example"+orderlink.Path))
		require.NoError(t, err, "the link is signed with the current secret")
		require.Equal(t, o.SessionID, got)
		require.Equal(t, []string{"Harbour at dawn", "Night <market>"}, o.Items)
	}
	require.Equal(t, []string{"cs_test_newer", "cs_test_older"}, ids, "open orders mailed to the address, newest first")

	unknown := s.ask("nobody@example.com", "203.0.113.8")
	require.Equal(t, http.StatusOK, unknown.Code)
	require.Equal(t, known.Body.String(), unknown.Body.String(), "the same page whatever the address")
	require.Len(t, s.mails.sent(), 1, "no mail for an address without orders")
	q, err := s.ledger.MutateQuota(t.Context(), "nobody@example.com", func(*order.LinksQuota) error { return order.ErrUnchanged })
	require.NoError(t, err)
	require.Zero(t, q, "nothing is recorded of an address without orders")
	require.NotContains(t, s.logs.String(), "example.com", "the address is never logged")
}

func TestLostLinksLimits(t *testing.T) {
	s := newLostShop(t, customerOrder("cs_test_1", paid, "en"))
	for i := range 5 { // two within the spacing, then a minute apart
		s.clock = now.Add(time.Duration(i) * 2 * time.Minute)
		require.Equal(t, http.StatusOK, s.ask("ada@example.com", "203.0.113.7").Code)
		require.Equal(t, http.StatusOK, s.ask("ada@example.com", "203.0.113.7").Code, "a double click")
	}
	require.Len(t, s.mails.sent(), download.LostPerDay, "at most %d a day per address", download.LostPerDay)
	for i, m := range s.mails.sent() {
		require.Equal(t, i+1, m.Generation, "each mail its own key")
	}
	s.clock = now.Add(24 * time.Hour)
	require.Equal(t, http.StatusOK, s.ask("ada@example.com", "198.51.100.1").Code)
	require.Len(t, s.mails.sent(), download.LostPerDay+1, "the next day")

	s = newLostShop(t, customerOrder("cs_test_1", paid, "en"))
	for i := range download.LostRate {
		// A client cannot escape by putting addresses of its own first:
		// the front end appends the one it saw.
		require.Equal(t, http.StatusOK, s.ask("nobody@example.com", "10.0.0."+string(rune('1'+i%9))+", 203.0.113.7").Code, "post %d", i)
	}
	busy := s.ask("ada@example.com", "192.0.2.1, 203.0.113.7")
	require.Equal(t, http.StatusTooManyRequests, busy.Code)
	require.NotEmpty(t, busy.Header().Get("Retry-After"))
	require.Empty(t, s.mails.sent())
	require.Equal(t, http.StatusOK, s.ask("ada@example.com", "203.0.113.9").Code, "another client")
	require.Len(t, s.mails.sent(), 1)
}

func TestLostLinksRefusesBadInput(t *testing.T) {
	s := newLostShop(t, customerOrder("cs_test_1", paid, "en"))
	for name, email := range map[string]string{
		"empty":          "",
		"no at":          "ada.example.com",
		"a display name": "Ada <ada@example.com>",
		"a line break":   "ada@example.com\r\nBcc: x@example.com",
		"too long":       strings.Repeat("a", 250) + "@example.com",
	} {
		t.Run(name, func(t *testing.T) {
			w := s.ask(email, "203.0.113.7")
			require.Equal(t, http.StatusBadRequest, w.Code)
			require.Contains(t, w.Body.String(), "Please enter a valid email address.")
			require.Contains(t, w.Body.String(), `<form class="lost"`)
		})
	}
	r := httptest.NewRequest(http.MethodPost, orderlink.Path, strings.NewReader("email=ada%40example.com&pad="+strings.Repeat("x", 4096)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	require.Equal(t, http.StatusBadRequest, w.Code, "a body over the limit")
	require.Empty(t, s.mails.sent())
}

func TestLostLinksStorageFailure(t *testing.T) {
	s := newLostShop(t, customerOrder("cs_test_1", paid, "en"))
	s.ledger.BeforeGet = func(int) error { return errors.New("table service unavailable") }
	w := s.ask("ada@example.com", "203.0.113.7")
	require.Equal(t, http.StatusServiceUnavailable, w.Code)
	require.Contains(t, w.Body.String(), "try again in a minute")
	s.ledger.BeforeGet = nil
	s.mails.err = errors.New("queue unavailable")
	require.Equal(t, http.StatusServiceUnavailable, s.ask("ada@example.com", "203.0.113.7").Code)
	data, _ := json.Marshal(s.mails.sent())
	require.Equal(t, "null", string(data))
}

func TestLostPageNeedsNoTokenOnlyWhenServed(t *testing.T) {
	f := newFixture(t, 10, paidOrder())
	require.Equal(t, http.StatusNotFound, f.do(http.MethodGet, "/api/download/", nil).Code, "no lost page without Deps.LostLinks")
}
