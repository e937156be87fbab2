// Package download is the Download function: the customer's order page.
//
// Input: a request forwarded by the Functions host to
// /api/download/<session id>.<token> (function.json route download/{*rest},
// methods get, head, post).
// The token is checked first (package orderlink), in constant time; a
// forged or altered link is refused with a 403 page before any storage call.
//
// GET (and HEAD) render the page from the order's ledger record: the shop,
// the order date, each file with its size, the downloads left and the date
// access ends, and a Download button per file; or a page saying why there is
// nothing to download (payment pending or failed, access revoked, window
// over, unknown order). GET never counts a download and never mints a
// link: mail scanners open GET links.
//
// POST (a button) checks the entitlement (fulfilled, not revoked, inside
// the window, under the file's limit), checks that the original is there,
// mints a read-only link valid for a few minutes, records the download with
// a conditional write (of two clicks racing for the last download exactly
// one is recorded; a click whose write landed but whose answer was lost is
// recorded once, by its click id) and answers 303 to the link. A per-order
// rate limit blunts mass sharing of a leaked link.
//
// The same path without a token (/api/download/) is the "Lost your link?"
// page, when served (Deps.LostLinks; see lostlink.go): a customer gives the
// address they ordered with and gets one mail listing their open orders'
// links; every other page links to it.
//
// Nothing is retried here: a transient storage failure answers a 503 page
// and the customer clicks again; a missing original or a permanent signing
// error answers a 500 page naming the support address. A click whose write
// failed gives no link; it counted nothing unless the write landed unseen
// (a timeout), which its page does not rule out. Neither the token nor a
// link's signature is ever logged.
package download

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/orderlink"
	"github.com/filedrop/filedrop/internal/storage/blobstore"
)

// Timeout bounds one request's storage calls.
const Timeout = 20 * time.Second

// Refs checks an order link's last segment and returns the session id
// (orderlink.Signer).
type Refs interface {
	Parse(ref string) (string, error)
}

// Linker checks that an original is there and mints a short-lived
// read-only link to it (blobstore.Originals).
type Linker interface {
	Stat(ctx context.Context, blobName string) (size int64, exists bool, err error)
	Link(ctx context.Context, blobName, fileName string) (blobstore.Link, error)
}

var (
	_ Refs   = (*orderlink.Signer)(nil)
	_ Linker = (*blobstore.Originals)(nil)
)

// Settings are the page's rules and words.
type Settings struct {
	// Shop names the shop on the page.
	Shop string
	// Support is the address the page tells the customer to write to.
	Support string
	// Window is how long after the payment the files may be downloaded.
	Window time.Duration
	// Limit is the downloads per file; 0 is unlimited.
	Limit int
	// Rate is how many units per minute one order's page may spend (a GET
	// or HEAD costs 1, a POST RateCost); 0 means DefaultRate.
	Rate int
}

// DefaultRate is Settings.Rate's default: plenty for a customer clicking
// through a cart, little for a link posted on a forum. With RateCost 2, a
// customer who opens the page and downloads every file of a 25-file cart
// within one minute spends 1 + 25*2 = 51 units; a leaked link gets at most
// 30 downloads a minute per handler instance, each still under the file's
// download limit.
const DefaultRate = 60

// Handler is the Download function. It is safe for concurrent use.
type Handler struct {
	refs    Refs
	records order.Records
	links   Linker
	set     Settings
	pages   *pages
	limit   *limiter
	now     func() time.Time
	log     *slog.Logger
	// lost, when set, serves the "Lost your link?" page (see
	// Deps.LostLinks), each client address limited by lostLimit.
	lost      *LostLinks
	lostLimit *limiter
}

// Deps are what the handler uses. Refs, Records, Links and Log are
// required; Settings' zero fields have the defaults their comments give.
type Deps struct {
	Refs    Refs
	Records order.Records
	// Links mints the link of one click, short-lived (DOWNLOAD_SAS_TTL).
	Links    Linker
	Settings Settings
	// LostLinks, when set, serves the "Lost your link?" page at the order
	// pages' path without a token, and every other page links to it; its
	// Customers, Mails and Link are then required, and its zero limits have
	// the defaults their comments give. Nil: no such page (a 404).
	LostLinks *LostLinks
	// Now is the handler's clock; nil: time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// New returns the handler, or an error naming the first thing d lacks.
func New(d Deps) (*Handler, error) {
	switch {
	case d.Refs == nil:
		return nil, errors.New("download: no Refs")
	case d.Records == nil:
		return nil, errors.New("download: no Records")
	case d.Links == nil:
		return nil, errors.New("download: no Links")
	case d.Log == nil:
		return nil, errors.New("download: no Log")
	}
	if err := d.LostLinks.check(); err != nil {
		return nil, err
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := d.Settings
	if s.Rate <= 0 {
		s.Rate = DefaultRate
	}
	if s.Shop == "" {
		s.Shop = "Our shop"
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	h := &Handler{refs: d.Refs, records: d.Records, links: d.Links, set: s, pages: p, limit: newLimiter(s.Rate, time.Minute, maxTracked),
		now: d.Now, log: d.Log}
	if d.LostLinks != nil {
		h.serveLostLinks(*d.LostLinks)
	}
	return h, nil
}

// ServeHTTP answers one request; see the package documentation.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	invocation := r.Header.Get("X-Azure-Functions-InvocationId")
	if invocation == "" {
		invocation = uuid.NewString()
	}
	log := h.log.With("function", "Download", "invocation_id", invocation)
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		h.render(w, r, http.StatusMethodNotAllowed, h.view(words(r, nil), kindInvalid))
		return
	}
	if h.lost != nil && lostPath(r.URL.EscapedPath()) {
		h.serveLost(w, r, log)
		return
	}
	ref, ok := refOf(r.URL.EscapedPath())
	if !ok {
		h.render(w, r, http.StatusNotFound, h.view(words(r, nil), kindInvalid))
		return
	}
	sessionID, err := h.refs.Parse(ref)
	if err != nil {
		log.Info("order link refused", "link", orderlink.Redact(ref))
		h.render(w, r, http.StatusForbidden, h.view(words(r, nil), kindInvalid))
		return
	}
	log = log.With("session_id", sessionID)
	cost := 1
	if r.Method == http.MethodPost {
		cost = RateCost
	}
	if wait, ok := h.limit.allow(sessionID, cost, h.now()); !ok {
		log.Warn("order page rate limited", "method", r.Method)
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Round(time.Second)/time.Second)+1))
		h.render(w, r, http.StatusTooManyRequests, h.view(words(r, nil), kindBusy))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), Timeout)
	defer cancel()
	rec, err := h.records.Get(ctx, sessionID)
	switch {
	case errors.Is(err, order.ErrNotFound):
		log.Info("order page for an order the ledger does not know")
		h.render(w, r, http.StatusNotFound, h.view(words(r, nil), kindUnknown))
		return
	case err != nil:
		log.Error("order page: ledger unreadable", "err", err)
		h.render(w, r, http.StatusServiceUnavailable, h.view(words(r, nil), kindUnavailable))
		return
	}
	if r.Method != http.MethodPost {
		h.render(w, r, http.StatusOK, h.orderView(r, rec, h.now()))
		return
	}
	h.download(ctx, w, r, log, rec, clickID())
}

// clickID returns a random id for one click: 12 bytes, 16 characters, short
// because the record keeps a few per file (order.MaxClicks).
func clickID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// RateCost is what a POST costs in the rate limit: a download (a storage
// read, a signature, a conditional write) is worth two page views. See
// DefaultRate for what the numbers allow.
const RateCost = 2

// refOf returns the <session id>.<token> of an order page's path.
func refOf(path string) (string, bool) {
	if len(path) < len(orderlink.Path) || !strings.EqualFold(path[:len(orderlink.Path)], orderlink.Path) {
		return "", false
	}
	ref := strings.TrimSuffix(path[len(orderlink.Path):], "/")
	if ref == "" || strings.Contains(ref, "/") || len(ref) > 512 {
		return "", false
	}
	return ref, true
}

// download handles a Download button: entitlement, original, link, record,
// 303. click identifies this click in the record, so that a write whose
// answer was lost and whose retry conflicts is not counted twice. It is
// random, not the invocation id: that header can come from the client, and
// a click id the record knows already is a download not counted.
func (h *Handler) download(ctx context.Context, w http.ResponseWriter, r *http.Request, log *slog.Logger, rec order.Order, click string) {
	i, err := fileIndex(r)
	if err != nil {
		h.render(w, r, http.StatusBadRequest, h.orderView(r, rec, h.now()))
		return
	}
	now := h.now()
	// Check first on the record just read, so that a refused click costs
	// no signing; the conditional write below decides.
	probe := rec
	probe.Files = append([]order.File(nil), rec.Files...)
	if err := probe.RecordDownload(i, now, h.set.Window, h.set.Limit); err != nil {
		h.refuse(w, r, log, rec, err)
		return
	}
	f := rec.Files[i]
	_, exists, err := h.links.Stat(ctx, f.Blob)
	if err == nil && !exists {
		log.Error("download: the original is missing from the originals container; nothing counted", "blob", f.Blob, "file", f.FileName)
		h.render(w, r, http.StatusInternalServerError, h.view(words(r, &rec), kindMissing))
		return
	}
	var link blobstore.Link
	if err == nil {
		link, err = h.links.Link(ctx, f.Blob, f.FileName)
	}
	switch {
	case order.IsPermanent(err):
		log.Error("download: cannot check or sign the original, and retrying will not help", "blob", f.Blob, "err", err)
		h.render(w, r, http.StatusInternalServerError, h.view(words(r, &rec), kindFault))
		return
	case err != nil:
		log.Error("download: cannot check or sign the original", "blob", f.Blob, "err", err)
		h.render(w, r, http.StatusServiceUnavailable, h.view(words(r, &rec), kindUnavailable))
		return
	}
	var refused error
	saved, err := order.MutateFrom(ctx, h.records, rec, now, func(o *order.Order) error {
		refused = o.RecordClick(i, click, now, h.set.Window, h.set.Limit)
		switch {
		case errors.Is(refused, order.ErrClickRecorded):
			refused = nil // this click's own write landed, its answer was lost
			return order.ErrUnchanged
		case refused != nil:
			return order.ErrUnchanged
		}
		return nil
	})
	switch {
	case err != nil:
		// The write may have landed (a timeout, a lost answer): the page
		// does not say that nothing was counted.
		log.Error("download: cannot record it", "err", err)
		h.render(w, r, http.StatusServiceUnavailable, h.view(words(r, &rec), kindUnrecorded))
		return
	case refused != nil:
		h.refuse(w, r, log, saved, refused)
		return
	}
	got := saved.Files[i]
	log.Info("download", "file", f.FileName, "downloads", got.Downloads, "limit", h.set.Limit, "link", link)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, link.URL, http.StatusSeeOther)
}

// refuse answers a download the entitlement refused, with the page that
// says why.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, log *slog.Logger, rec order.Order, why error) {
	log.Info("download refused", "reason", why.Error())
	v := h.orderView(r, rec, h.now())
	switch {
	case errors.Is(why, order.ErrNoSuchFile):
		h.render(w, r, http.StatusBadRequest, v)
		return
	case errors.Is(why, order.ErrLimitReached):
		v.Notice = v.T.UsedAll
	}
	h.render(w, r, http.StatusForbidden, v)
}

// fileIndex reads the button's file number from the form (or the query).
func fileIndex(r *http.Request) (int, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, 1<<10)
	if err := r.ParseForm(); err != nil {
		return 0, fmt.Errorf("form: %w", err)
	}
	return strconv.Atoi(r.Form.Get("file"))
}
