package download_test

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	"github.com/filedrop/filedrop/internal/storage/blobstore"
)

const (
	session = "cs_test_page1"
	secret  = "0123456789abcdef0123456789abcdef"
)

var (
	paid   = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	now    = paid.Add(time.Hour)
	window = 720 * time.Hour
)

// links is a fake linker that counts what it signs.
type links struct {
	mu    sync.Mutex
	blobs []string
	// missing says the original is not there; statErr and linkErr fail
	// Stat and Link.
	missing          bool
	statErr, linkErr error
}

func (l *links) Stat(context.Context, string) (int64, bool, error) {
	if l.statErr != nil {
		return 0, false, l.statErr
	}
	return 512, !l.missing, nil
}

func (l *links) Link(_ context.Context, blob, fileName string) (blobstore.Link, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.linkErr != nil {
		return blobstore.Link{}, l.linkErr
	}
	l.blobs = append(l.blobs, blob)
	return blobstore.Link{URL: "https://acct.blob.example/originals/" + blob + "?sig=SECRETSIG&rscd=" + url.QueryEscape(fileName), ExpiresAt: now.Add(10 * time.Minute)}, nil
}

func (l *links) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.blobs)
}

func paidOrder() order.Order {
	return order.Restore(order.Snapshot{
		SessionID: session, State: order.StateMailSent, CreatedAt: paid, PaidAt: paid, CustomerEmail: "ada@example.com",
		Files: []order.File{
			{Title: "Harbour at dawn", Blob: "harbour.jpg", FileName: "harbour.jpg", Size: 2_500_000},
			{Title: "Night <market>", Blob: "night.jpg", FileName: "night.jpg", Size: 512},
		},
	})
}

type fixture struct {
	h      *download.Handler
	ledger *ordertest.Ledger
	links  *links
	signer *orderlink.Signer
	logs   *strings.Builder
}

func newFixture(t *testing.T, limit int, recs ...order.Order) fixture {
	t.Helper()
	signer, err := orderlink.New("https://shop.example", []string{secret})
	require.NoError(t, err)
	f := fixture{ledger: ordertest.NewLedger(recs...), links: &links{}, signer: signer, logs: &strings.Builder{}}
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{w: f.logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.h, err = download.New(download.Deps{Refs: signer, Records: f.ledger, Links: f.links, Settings: download.Settings{Shop: "Lumen Photo", Support: "help@lumen.example",
		Window: window, Limit: limit, Rate: 1000},
		Now: func() time.Time { return now }, Log: log})
	require.NoError(t, err)
	return f
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (f fixture) do(method, path string, form url.Values) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, path, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

func (f fixture) page(id string) string { return orderlink.Path + f.signer.Ref(id) }

func TestStatusPages(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(o *order.Order)
		path   func(f fixture) string
		status int
		want   []string
		button bool
	}{
		{name: "open", status: 200, button: true,
			want: []string{`<html lang="en">`, "Your downloads", "Order placed on 1 March 2025", "Harbour at dawn", "harbour.jpg", "2.5 MB", "512 bytes",
				"downloads left: 10 of 10", "31 March 2025 at 12:00 UTC", "Night &lt;market&gt;", `aria-label="Download Harbour at dawn`, "help@lumen.example"}},
		{name: "the order date is when the customer paid, not when the record was made", status: 200, button: true,
			edit: func(o *order.Order) { o.OrderedAt, o.CreatedAt = paid.Add(-48*time.Hour), paid }, // a lost webhook, fulfilled two days later
			want: []string{"Order placed on 27 February 2025"}},
		{name: "pending", edit: func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State, s.Files, s.PaidAt = order.StateAwaitingPayment, nil, time.Time{} })
		}, status: 200,
			want: []string{"Your payment is being confirmed", "check back later", "help@lumen.example"}},
		{name: "payment failed", edit: func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State, s.Files, s.PaidAt = order.StatePaymentFailed, nil, time.Time{} })
		}, status: 200,
			want: []string{"The payment did not go through", "place the order again"}},
		{name: "revoked", edit: func(o *order.Order) { _, _ = o.ApplyRefund("evt_r", "ch_1", 5, 5, now) }, status: 200,
			want: []string{"Access to this order has ended", "refunded or disputed", "help@lumen.example"}},
		{name: "expired", edit: func(o *order.Order) { o.PaidAt = paid.Add(-window) }, status: 200,
			want: []string{"The download period is over", "until Saturday, 1 March 2025 at 12:00 UTC"}},
		{name: "limit reached", edit: func(o *order.Order) { o.Files[0].Downloads, o.Files[1].Downloads = 10, 10 }, status: 200,
			want: []string{"Download limit reached", "You have used every download of this file.", "downloads left: 0 of 10"}},
		{name: "unknown order", path: func(f fixture) string { return f.page("cs_test_nobody") }, status: 404,
			want: []string{"We cannot find this order", "help@lumen.example"}},
		{name: "forged link", path: func(f fixture) string { return orderlink.Path + session + ".AAAAAAAAAAAAAAAAAAAAAA" }, status: 403,
			want: []string{"This link is not valid", "help@lumen.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := paidOrder()
			if tt.edit != nil {
				tt.edit(&o)
			}
			f := newFixture(t, 10, o)
			path := f.page(session)
			if tt.path != nil {
				path = tt.path(f)
			}
			w := f.do(http.MethodGet, path, nil)
			require.Equal(t, tt.status, w.Code)
			body := w.Body.String()
			for _, s := range tt.want {
				require.Contains(t, body, s)
			}
			require.Equal(t, tt.button, strings.Contains(body, "<button"), "a Download button only when a download is possible")
			require.Equal(t, "no-store", w.Header().Get("Cache-Control"))
			require.Equal(t, "no-referrer", w.Header().Get("Referrer-Policy"))
			require.NotContains(t, body, "<script")
			require.Zero(t, f.links.count(), "GET never mints a link")
			if r, ok := f.ledger.Lookup(session); ok {
				for _, file := range r.Files {
					require.Equal(t, o.Files[0].Downloads, r.Files[0].Downloads, "GET never counts: %s", file.Blob)
				}
			}
		})
	}
}

func TestDownloadRedirectsAndCounts(t *testing.T) {
	f := newFixture(t, 10, paidOrder())
	w := f.do(http.MethodPost, f.page(session), url.Values{"file": {"1"}})
	require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
	require.True(t, strings.HasPrefix(w.Header().Get("Location"), "https://acct.blob.example/originals/night.jpg?sig="))
	rec := f.ledger.Record(t, session)
	require.Equal(t, 1, rec.Files[1].Downloads)
	require.Equal(t, []time.Time{now}, rec.Files[1].DownloadedAt)
	require.Zero(t, rec.Files[0].Downloads)
	require.NotContains(t, f.logs.String(), "SECRETSIG", "no link signature in the logs")
	require.NotContains(t, f.logs.String(), f.signer.Token(session), "no token in the logs")
	require.Contains(t, f.logs.String(), "msg=download")
}

func TestDownloadRefused(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(o *order.Order)
		file   string
		status int
		want   string
	}{
		{name: "limit reached", edit: func(o *order.Order) { o.Files[0].Downloads = 3 }, file: "0", status: 403, want: "You have used every download of this file."},
		{name: "revoked", edit: func(o *order.Order) {
			o.ApplyDispute("evt_d", order.Dispute{ID: "dp_1", Status: "needs_response"}, now)
		}, file: "0", status: 403, want: "Access to this order has ended"},
		{name: "expired", edit: func(o *order.Order) { o.PaidAt = paid.Add(-window) }, file: "0", status: 403, want: "The download period is over"},
		{name: "no such file", file: "7", status: 400, want: "Your downloads"},
		{name: "not a number", file: "x", status: 400, want: "Your downloads"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := paidOrder()
			if tt.edit != nil {
				tt.edit(&o)
			}
			f := newFixture(t, 3, o)
			before := f.ledger.Record(t, session)
			w := f.do(http.MethodPost, f.page(session), url.Values{"file": {tt.file}})
			require.Equal(t, tt.status, w.Code)
			require.Contains(t, w.Body.String(), tt.want)
			require.Zero(t, f.links.count())
			require.Equal(t, before, f.ledger.Record(t, session), "nothing written")
		})
	}
}

func TestForgedLinksTouchNoStorage(t *testing.T) {
	f := newFixture(t, 10, paidOrder())
	good := f.signer.Ref(session)
	other, err := orderlink.New("https://shop.example", []string{strings.Repeat("z", 32)})
	require.NoError(t, err)
	for name, path := range map[string]string{
		"tampered":     orderlink.Path + good[:len(good)-2] + "xx",
		"truncated":    orderlink.Path + good[:len(good)-1],
		"over-long":    orderlink.Path + good + "A",
		"other secret": orderlink.Path + other.Ref(session),
		"no token":     orderlink.Path + session,
		"deeper path":  orderlink.Path + good + "/x",
		"other route":  "/api/other/" + good,
	} {
		t.Run(name, func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				w := f.do(method, path, url.Values{"file": {"0"}})
				require.Contains(t, []int{403, 404}, w.Code)
				require.Contains(t, w.Body.String(), "This link is not valid")
			}
			require.Zero(t, f.ledger.Gets(), "refused before any storage call")
			require.Zero(t, f.links.count())
		})
	}
}

func TestRotatedSecretStillOpensThePage(t *testing.T) {
	old, err := orderlink.New("https://shop.example", []string{strings.Repeat("o", 32)})
	require.NoError(t, err)
	signer, err := orderlink.New("https://shop.example", []string{secret, strings.Repeat("o", 32)})
	require.NoError(t, err)
	led := ordertest.NewLedger(paidOrder())
	h, err := download.New(download.Deps{Refs: signer, Records: led, Links: &links{}, Settings: download.Settings{Window: window, Limit: 10},
		Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, orderlink.Path+old.Ref(session), nil))
	require.Equal(t, 200, w.Code)
	require.Contains(t, w.Body.String(), "Your downloads")
}

func TestParallelClicksAtTheLimit(t *testing.T) {
	o := paidOrder()
	o.Files[0].Downloads = 2
	f := newFixture(t, 3, o)
	const clicks = 8
	codes := make(chan int, clicks)
	var wg sync.WaitGroup
	for range clicks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- f.do(http.MethodPost, f.page(session), url.Values{"file": {"0"}}).Code
		}()
	}
	wg.Wait()
	close(codes)
	ok := 0
	for c := range codes {
		if c == http.StatusSeeOther {
			ok++
		} else {
			require.Equal(t, http.StatusForbidden, c)
		}
	}
	require.Equal(t, 1, ok, "exactly one click gets the last download")
	require.Equal(t, 3, f.ledger.Record(t, session).Files[0].Downloads)
}

func TestRateLimit(t *testing.T) {
	signer, err := orderlink.New("https://shop.example", []string{secret})
	require.NoError(t, err)
	h, err := download.New(download.Deps{Refs: signer, Records: ordertest.NewLedger(paidOrder()), Links: &links{}, Settings: download.Settings{Window: window, Limit: 0, Rate: 10},
		Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	codes := map[int]int{}
	for range 20 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, orderlink.Path+signer.Ref(session), nil))
		codes[w.Code]++
		if w.Code == http.StatusTooManyRequests {
			require.Equal(t, "61", w.Header().Get("Retry-After"))
		}
	}
	require.Equal(t, map[int]int{200: 10, 429: 10}, codes)
}

// A write the service applied but whose answer was lost: the SDK's retry of
// the same conditional write gets 412 (ErrConflict), and the re-read record
// already holds the click. It is counted once, and at the limit the
// customer still gets the link.
func TestLostWriteAnswerCountsTheClickOnce(t *testing.T) {
	tests := []struct {
		name   string
		before int
		limit  int
	}{
		{name: "under the limit", before: 0, limit: 3},
		{name: "the last download", before: 2, limit: 3},
		{name: "unlimited", before: 7, limit: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := paidOrder()
			o.Files[0].Downloads = tt.before
			f := newFixture(t, tt.limit, o)
			f.ledger.BeforeWrite = func(n int, o order.Order) error {
				if n == 1 {
					f.ledger.Put(o)                                               // applied server-side ...
					return fmt.Errorf("update order: 412: %w", order.ErrConflict) // ... but the retry sees 412
				}
				return nil
			}
			w := f.do(http.MethodPost, f.page(session), url.Values{"file": {"0"}})
			require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
			rec := f.ledger.Record(t, session)
			require.Equal(t, tt.before+1, rec.Files[0].Downloads, "one click, one download")
			require.Len(t, rec.Files[0].Clicks, 1)
		})
	}
}

// A write whose outcome is unknown (a timeout) may have counted the click:
// the page must not say that nothing was counted.
func TestUnrecordedDownloadDoesNotClaimNothingCounted(t *testing.T) {
	f := newFixture(t, 3, paidOrder())
	f.ledger.BeforeWrite = func(int, order.Order) error { return fmt.Errorf("update order: %w", context.DeadlineExceeded) }
	w := f.do(http.MethodPost, f.page(session), url.Values{"file": {"0"}})
	require.Equal(t, http.StatusServiceUnavailable, w.Code)
	require.NotContains(t, w.Body.String(), "nothing was counted")
	require.Contains(t, w.Body.String(), "if this click was counted, it shows there")
	require.Empty(t, w.Header().Get("Location"))
}

// Before counting, the original is checked and the link signed; a failure
// that retrying will not fix is a support page, one that may pass is a 503.
// Either way nothing is counted.
func TestDownloadOriginalFailures(t *testing.T) {
	tests := []struct {
		name             string
		missing          bool
		statErr, linkErr error
		status           int
		want             string
		log              string
	}{
		{name: "original missing", missing: true, status: http.StatusInternalServerError,
			want: "The file is missing on our side, and nothing was counted. Please write to support and we will send it to you.", log: "level=ERROR msg=\"download: the original is missing"},
		{name: "permanent signing error", linkErr: order.Permanentf("sign link to harbour.jpg: %w", errors.New("account key refused")), status: http.StatusInternalServerError,
			want: "Something on our side needs fixing, and nothing was counted. Please write to support and we will help.", log: "level=ERROR msg=\"download: cannot check or sign the original, and retrying will not help"},
		{name: "permanent stat error", statErr: order.Permanentf("container gone"), status: http.StatusInternalServerError,
			want: "Please write to support and we will help.", log: "level=ERROR"},
		{name: "retryable signing error", linkErr: errors.New("sign link: 503 server busy"), status: http.StatusServiceUnavailable,
			want: "Please try again in a minute; nothing was counted.", log: "level=ERROR msg=\"download: cannot check or sign the original\""},
		{name: "retryable stat error", statErr: errors.New("check original: 500"), status: http.StatusServiceUnavailable,
			want: "Please try again in a minute; nothing was counted.", log: "level=ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 3, paidOrder())
			f.links.missing, f.links.statErr, f.links.linkErr = tt.missing, tt.statErr, tt.linkErr
			before := f.ledger.Record(t, session)
			w := f.do(http.MethodPost, f.page(session), url.Values{"file": {"0"}})
			require.Equal(t, tt.status, w.Code)
			require.Contains(t, w.Body.String(), tt.want)
			require.Contains(t, w.Body.String(), `Questions? Write to <a href="mailto:help@lumen.example">help@lumen.example</a>.`)
			require.Empty(t, w.Header().Get("Location"))
			require.Equal(t, before, f.ledger.Record(t, session), "nothing counted")
			require.Contains(t, f.logs.String(), tt.log)
		})
	}
}

// The default rate lets a customer download a whole cart in a minute; a
// flood of clicks is still refused.
func TestDefaultRateLetsACartThrough(t *testing.T) {
	signer, err := orderlink.New("https://shop.example", []string{secret})
	require.NoError(t, err)
	h, err := download.New(download.Deps{Refs: signer, Records: ordertest.NewLedger(paidOrder()), Links: &links{}, Settings: download.Settings{Window: window},
		Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	serve := func(method string) int {
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader("file=0")
		}
		r := httptest.NewRequest(method, orderlink.Path+signer.Ref(session), body)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	require.Equal(t, http.StatusOK, serve(http.MethodGet))
	for i := range 20 {
		require.Equal(t, http.StatusSeeOther, serve(http.MethodPost), "download %d of a 20-file cart", i+1)
	}
	require.Equal(t, http.StatusOK, serve(http.MethodGet), "the page still opens")
	refused := false
	for range download.DefaultRate {
		if serve(http.MethodPost) == http.StatusTooManyRequests {
			refused = true
			break
		}
	}
	require.True(t, refused, "a flood of clicks is refused within the minute")
}

// HEAD is GET without a body: it never counts and never mints a link.
func TestHeadNeverCounts(t *testing.T) {
	f := newFixture(t, 3, paidOrder())
	w := f.do(http.MethodHead, f.page(session), nil)
	require.Equal(t, http.StatusOK, w.Code)
	require.Zero(t, w.Body.Len())
	require.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	require.Zero(t, f.links.count())
	require.Equal(t, paidOrder().Files, f.ledger.Record(t, session).Files)
}

// TestPageSpeaksTheMailsLanguage: the order page is in the language of the
// order's mail, with the mails' phrase tables, dates and numbers; a page
// for no known order is in the browser's language; without a support
// address the page names none.
func TestPageSpeaksTheMailsLanguage(t *testing.T) {
	mailed := func(locale string) order.Order {
		o := paidOrder()
		o.Mail = []byte(`{"v":1,"kind":"download_links","session_id":"` + session + `","generation":1,"customer":{"email":"ada@example.com"},"locale":"` + locale + `"}`)
		return o
	}
	tests := []struct {
		name   string
		rec    order.Order
		path   func(f fixture) string
		accept string
		want   []string
	}{
		{name: "German mail", rec: mailed("de-CH"), want: []string{`<html lang="de">`, "<h1>Ihre Downloads</h1>", "Bestellt am 1. März 2025.",
			"Ihre Downloads sind bis <strong>Montag, 31. März 2025 um 12:00 UTC</strong> verfügbar.", "2,5 MB", "verbleibende Downloads: 10 von 10",
			">Herunterladen</button>", `aria-label="Harbour at dawn herunterladen (harbour.jpg, 2,5 MB)"`, "Fragen? Schreiben Sie an"}},
		{name: "French mail, whatever the browser says", rec: mailed("fr"), accept: "es", want: []string{`<html lang="fr">`, "Vos téléchargements",
			"Commande passée le 1 mars 2025.", "2,5 Mo", ">Télécharger</button>"}},
		{name: "Spanish mail, access ended", rec: func() order.Order { o := mailed("es-419"); o.Revoke("abuse", now); return o }(),
			want: []string{`<html lang="es">`, "El acceso a este pedido ha terminado"}},
		{name: "automatic locale: the mail was English", rec: mailed(""), accept: "de", want: []string{`<html lang="en">`, "Your downloads"}},
		{name: "no mail yet: the browser's language", rec: paidOrder(), accept: "fr-CH, en;q=0.5", want: []string{`<html lang="fr">`, "Vos téléchargements"}},
		{name: "unknown order: the browser's language", rec: paidOrder(), path: func(f fixture) string { return f.page("cs_test_nobody") }, accept: "es-MX,es;q=0.9",
			want: []string{`<html lang="es">`, "No encontramos este pedido"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 10, tt.rec)
			path := f.page(session)
			if tt.path != nil {
				path = tt.path(f)
			}
			r := httptest.NewRequest(http.MethodGet, path, nil)
			r.Header.Set("Accept-Language", tt.accept)
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, r)
			for _, want := range tt.want {
				require.Contains(t, w.Body.String(), want)
			}
		})
	}

	t.Run("no support address", func(t *testing.T) {
		signer, err := orderlink.New("https://shop.example", []string{secret})
		require.NoError(t, err)
		h, err := download.New(download.Deps{Refs: signer, Records: ordertest.NewLedger(paidOrder()), Links: &links{}, Settings: download.Settings{Shop: "Lumen Photo", Window: window, Limit: 3},
			Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, orderlink.Path+signer.Ref(session), nil))
		require.Equal(t, http.StatusOK, w.Code)
		require.NotContains(t, w.Body.String(), "<footer>")
		require.NotContains(t, w.Body.String(), "mailto:")
	})
}

// TestNewNamesWhatIsMissing: a stage built without a dependency it needs is
// refused when it is built, naming it; the optional ones may be left out.
func TestNewNamesWhatIsMissing(t *testing.T) {
	signer, err := orderlink.New("https://shop.example", []string{secret})
	require.NoError(t, err)
	full := download.Deps{Refs: signer, Records: ordertest.NewLedger(), Links: &links{}, Log: slog.New(slog.DiscardHandler),
		LostLinks: &download.LostLinks{Customers: ordertest.NewLedger(), Mails: &mailQueue{}, Link: signer.URL}}
	optional := full
	optional.Settings, optional.LostLinks, optional.Now = download.Settings{}, nil, nil
	for _, d := range []download.Deps{full, optional} {
		_, err := download.New(d)
		require.NoError(t, err)
	}
	for want, edit := range map[string]func(d *download.Deps){
		"download: no Refs":    func(d *download.Deps) { d.Refs = nil },
		"download: no Records": func(d *download.Deps) { d.Records = nil },
		"download: no Links":   func(d *download.Deps) { d.Links = nil },
		"download: no Log":     func(d *download.Deps) { d.Log = nil },
		"download: LostLinks has no Customers": func(d *download.Deps) {
			d.LostLinks = &download.LostLinks{Mails: &mailQueue{}, Link: signer.URL}
		},
		"download: LostLinks has no Mails": func(d *download.Deps) {
			d.LostLinks = &download.LostLinks{Customers: ordertest.NewLedger(), Link: signer.URL}
		},
		"download: LostLinks has no Link": func(d *download.Deps) {
			d.LostLinks = &download.LostLinks{Customers: ordertest.NewLedger(), Mails: &mailQueue{}}
		},
	} {
		d := full
		edit(&d)
		_, err := download.New(d)
		require.ErrorContains(t, err, want)
	}
}
