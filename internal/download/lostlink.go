package download

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/mail"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/orderlink"
	"github.com/filedrop/filedrop/internal/storage"
	"github.com/filedrop/filedrop/internal/storage/ledger"
)

// The "Lost your link?" page, at the order pages' path without a token
// (GET /api/download/): one field, the address the customer ordered with.
// Its POST answers the same page whatever the address, so it tells nobody
// whether an address has orders. When the index of orders by email lists
// orders of that address that are fulfilled, open and were mailed to it,
// it queues one mail for SendLink that lists them (newest first, at most
// order.MaxOrderLinks) with their order page links, in the language of the
// newest one, unless the address has had LostPerDay such mails today or
// one within LostSpacing (the quota the index keeps). A client address may
// post LostRate times an hour; the body is bounded; no script is needed;
// the address is never logged.

// Customers finds the orders listed under an address and keeps the
// address's quota of such mails (storage/ledger.Ledger).
type Customers interface {
	OrdersOf(ctx context.Context, email string) ([]order.IndexedOrder, error)
	MutateQuota(ctx context.Context, email string, fn func(q *order.LinksQuota) error) (order.LinksQuota, error)
}

// MailQueue is SendLink's queue (storage.Queue).
type MailQueue interface {
	Send(ctx context.Context, data []byte, delay time.Duration) error
}

var (
	_ Customers = (*ledger.Ledger)(nil)
	_ MailQueue = (*storage.Queue)(nil)
)

// LostLinks is what the "Lost your link?" page needs (Deps.LostLinks).
type LostLinks struct {
	Customers Customers
	Mails     MailQueue
	// Link gives an order page's link, signed with the first secret
	// (orderlink.Signer.URL).
	Link func(sessionID string) string
	// PerDay, Spacing and Rate are the limits; zero means LostPerDay,
	// LostSpacing and LostRate.
	PerDay  int
	Spacing time.Duration
	Rate    int
}

// The page's limits.
const (
	// LostPerDay is how many mails listing its orders an address gets in a
	// UTC day at most.
	LostPerDay = 3
	// LostSpacing is the least time between two such mails to one address
	// (a double click sends one).
	LostSpacing = time.Minute
	// LostRate is how many POSTs one client address may make an hour.
	LostRate = 10
	// maxLostBody bounds the form's body: an address is 254 bytes at most.
	maxLostBody = 2 << 10
	// maxLostLookups bounds the orders one request reads.
	maxLostLookups = 2 * order.MaxOrderLinks
)

// What the lost page is about (see view.Words).
const (
	kindLost            = "lost"
	kindLostSent        = "lost_sent"
	kindLostBusy        = "lost_busy"
	kindLostUnavailable = "lost_unavailable"
)

// check returns an error naming what l lacks; nil when l is nil (no lost
// page) or complete.
func (l *LostLinks) check() error {
	switch {
	case l == nil:
		return nil
	case l.Customers == nil:
		return errors.New("download: LostLinks has no Customers")
	case l.Mails == nil:
		return errors.New("download: LostLinks has no Mails")
	case l.Link == nil:
		return errors.New("download: LostLinks has no Link")
	}
	return nil
}

// serveLostLinks serves the "Lost your link?" page with l, its zero limits
// set to their defaults, and links every other page to it.
func (h *Handler) serveLostLinks(l LostLinks) {
	if l.PerDay <= 0 {
		l.PerDay = LostPerDay
	}
	if l.Spacing <= 0 {
		l.Spacing = LostSpacing
	}
	if l.Rate <= 0 {
		l.Rate = LostRate
	}
	h.lost = &l
	h.lostLimit = newLimiter(l.Rate, time.Hour, maxTracked)
}

// lostPath reports whether path is the lost page's: the order pages' path
// without a token, with or without its slash, in any case.
func lostPath(path string) bool {
	return strings.EqualFold(strings.TrimSuffix(path, "/"), strings.TrimSuffix(orderlink.Path, "/"))
}

// langParam names the query parameter that carries the language of the
// page that linked to the lost page.
const langParam = "hl"

// lostWords are the lost page's words: in the language of the page that
// linked to it (langParam), else of the request's browser.
func lostWords(r *http.Request) mail.Page {
	if hl := r.URL.Query().Get(langParam); hl != "" && mail.Language(hl) == strings.ToLower(hl) {
		return mail.PageFor(hl)
	}
	return words(r, nil)
}

// serveLost answers the lost page; see the comment atop this file.
func (h *Handler) serveLost(w http.ResponseWriter, r *http.Request, log *slog.Logger) {
	t := lostWords(r)
	if r.Method != http.MethodPost {
		h.render(w, r, http.StatusOK, h.view(t, kindLost))
		return
	}
	if wait, ok := h.lostLimit.allow(clientAddr(r), 1, h.now()); !ok {
		log.Warn("lost link page rate limited for a client address")
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Round(time.Second)/time.Second)+1))
		h.render(w, r, http.StatusTooManyRequests, h.view(t, kindLostBusy))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLostBody)
	email, ok := "", r.ParseForm() == nil
	if ok {
		email = strings.TrimSpace(r.PostForm.Get("email"))
		ok = mail.CheckBareAddress(email) == nil
	}
	if !ok {
		v := h.view(t, kindLost)
		v.Notice = t.LostInvalid
		h.render(w, r, http.StatusBadRequest, v)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), Timeout)
	defer cancel()
	if err := h.sendLinks(ctx, log, email); err != nil {
		log.Error("lost link page: cannot look the orders up or queue their mail", "err", err)
		h.render(w, r, http.StatusServiceUnavailable, h.view(t, kindLostUnavailable))
		return
	}
	h.render(w, r, http.StatusOK, h.view(t, kindLostSent))
}

// sendLinks queues the mail listing email's orders, if it has any to list
// and its quota allows. Its log lines name the orders, never the address.
func (h *Handler) sendLinks(ctx context.Context, log *slog.Logger, email string) error {
	now := h.now()
	listed, err := h.lost.Customers.OrdersOf(ctx, email)
	if err != nil {
		return err
	}
	var (
		newest *order.Order
		links  []order.OrderLink
	)
	for _, ix := range listed[:min(len(listed), maxLostLookups)] {
		o, err := h.records.Get(ctx, ix.SessionID)
		switch {
		case errors.Is(err, order.ErrNotFound):
			continue
		case err != nil:
			return err
		}
		if !o.Listable(now, h.set.Window) || !o.SentTo(email) {
			continue
		}
		if newest == nil {
			newest = &o
		}
		if links = append(links, o.Link(h.lost.Link(o.SessionID))); len(links) == order.MaxOrderLinks {
			break
		}
	}
	if newest == nil {
		log.Info("lost link request: no open order to list", "indexed", len(listed))
		return nil
	}
	gen := 0
	_, err = h.lost.Customers.MutateQuota(ctx, email, func(q *order.LinksQuota) error {
		g, ok := q.Take(now, h.lost.PerDay, h.lost.Spacing)
		if gen = g; !ok {
			return order.ErrUnchanged
		}
		return nil
	})
	if err != nil {
		return err
	}
	log = log.With("session_id", newest.SessionID, "orders", len(links))
	if gen == 0 {
		log.Info("lost link request: the address had its mails for today; none queued")
		return nil
	}
	msg := order.OrderLinksMail(newest, email, gen, links)
	if err := msg.Validate(); err != nil {
		return order.Permanentf("order links mail: %w", err)
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if err := h.lost.Mails.Send(ctx, data, 0); err != nil {
		return err
	}
	log.Info("lost link request: order links mail queued", "mail_key", msg.Key(), "generation", gen)
	return nil
}

// clientAddr is the client's IP address as the last proxy saw it: the last
// entry of X-Forwarded-For, which the platform's front end appends (a
// client can only put entries before it), else the connection's peer.
func clientAddr(r *http.Request) string {
	addr := r.RemoteAddr
	if fwd := r.Header.Values("X-Forwarded-For"); len(fwd) > 0 {
		parts := strings.Split(fwd[len(fwd)-1], ",")
		addr = strings.TrimSpace(parts[len(parts)-1])
	}
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return strings.Trim(addr, "[]")
}
