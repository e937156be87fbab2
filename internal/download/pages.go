package download

import (
	"bytes"
	"cmp"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/mail"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/orderlink"
)

//go:embed templates/page.html.tmpl
var templates embed.FS

// What a page is about. Each has its heading and advice in the phrase
// tables (mail.PagePhrases).
const (
	kindOpen          = "open"
	kindPending       = "pending"
	kindPaymentFailed = "payment_failed"
	kindRevoked       = "revoked"
	kindExpired       = "expired"
	kindLimit         = "limit"
	kindUnknown       = "unknown"
	kindInvalid       = "invalid"
	kindBusy          = "busy"
	kindUnavailable   = "unavailable"
	// kindUnrecorded: the write of a download failed; it may have landed.
	kindUnrecorded = "unrecorded"
	// kindMissing: the file's original is not in the store.
	kindMissing = "missing"
	// kindFault: a fault on the shop's side that retrying does not fix.
	kindFault = "fault"
)

type pages struct{ t *template.Template }

func parsePages() (*pages, error) {
	t, err := template.New("page.html.tmpl").Funcs(template.FuncMap{"strong": strong, "mailto": mailto}).
		ParseFS(templates, "templates/page.html.tmpl")
	if err != nil {
		return nil, fmt.Errorf("parse order page template: %w", err)
	}
	return &pages{t: t}, nil
}

// view is what the page template sees.
type view struct {
	// T are the words of the customer's language.
	T       mail.Page
	Kind    string
	Shop    string
	Support string
	// OrderDate and Ends are written dates; "" when unknown.
	OrderDate string
	Ends      string
	Files     []fileView
	// Notice is a line above the files (why a click was refused).
	Notice string
	// LostURL is the "Lost your link?" page's, "" when it is not served.
	LostURL string
}

type fileView struct {
	Index    int
	Title    string
	FileName string
	Size     string
	// Left is unlimited or how many downloads remain, in words.
	Left        string
	CanDownload bool
}

// Words are the heading and advice of the page's kind.
func (v view) Words() mail.PageKind {
	p := v.T.PagePhrases
	return map[string]mail.PageKind{
		kindOpen: p.Open, kindLimit: p.Limit, kindPending: p.Pending, kindPaymentFailed: p.PaymentFailed, kindRevoked: p.Revoked,
		kindExpired: p.Expired, kindUnknown: p.Unknown, kindBusy: p.Busy, kindUnavailable: p.Unavailable, kindUnrecorded: p.Unrecorded,
		kindMissing: p.Missing, kindFault: p.Fault, kindInvalid: p.Invalid,
		kindLost: p.Lost, kindLostSent: p.LostSent, kindLostBusy: p.LostBusy, kindLostUnavailable: p.LostUnavailable,
	}[v.Kind]
}

// Advice is the page's line of advice.
func (v view) Advice() string {
	if v.Kind == kindExpired && v.Ends != "" {
		return fmt.Sprintf(v.T.ExpiredUntil, v.Ends)
	}
	if w := v.Words(); w.Advice != "" {
		return w.Advice
	}
	return v.T.Invalid.Advice
}

// words are the page's words: in the language of the order's mail, or,
// when the order (nil: not known) has none, of the request's browser.
func words(r *http.Request, rec *order.Order) mail.Page {
	if rec != nil {
		if locale, ok := rec.MailLocale(); ok {
			return mail.PageFor(locale)
		}
	}
	return mail.PageForRequest(r.Header.Get("Accept-Language"))
}

// view is a page of kind in the words t.
func (h *Handler) view(t mail.Page, kind string) view {
	v := view{T: t, Kind: kind, Shop: h.set.Shop, Support: h.set.Support}
	if h.lost != nil {
		// The lost page keeps the language of the page that links to it.
		v.LostURL = orderlink.Path + "?" + url.Values{langParam: {t.Lang}}.Encode()
	}
	return v
}

// orderView is the page of rec at now, in its words (see words).
func (h *Handler) orderView(r *http.Request, rec order.Order, now time.Time) view {
	v := h.view(words(r, &rec), kindOpen)
	switch rec.Access(now, h.set.Window) {
	case order.AccessPending:
		v.Kind = kindPending
	case order.AccessPaymentFailed:
		v.Kind = kindPaymentFailed
	case order.AccessRevoked, order.AccessSuspended:
		v.Kind = kindRevoked
	case order.AccessExpired:
		v.Kind = kindExpired
	}
	// When the customer paid: the date the mail shows too.
	if at := cmp.Or(rec.OrderedAt, rec.PaidAt); !at.IsZero() {
		v.OrderDate = v.T.Date(at)
	}
	if end := rec.AccessEnds(h.set.Window); !end.IsZero() {
		v.Ends = v.T.Moment(end)
	}
	if v.Kind != kindOpen {
		return v
	}
	left := 0
	for i, f := range rec.Files {
		fv := fileView{Index: i, Title: f.Title, FileName: f.FileName, Size: v.T.Size(f.Size)}
		if fv.Title == "" {
			fv.Title = f.FileName
		}
		switch n := f.Remaining(h.set.Limit); n {
		case -1:
			fv.Left, fv.CanDownload = v.T.Unlimited, true
		default:
			fv.Left, fv.CanDownload = fmt.Sprintf(v.T.LeftOf, n, h.set.Limit), n > 0
		}
		if fv.CanDownload {
			left++
		}
		v.Files = append(v.Files, fv)
	}
	if left == 0 {
		v.Kind = kindLimit
	}
	return v
}

// strong is phrase, a format with one %s, escaped, with s in its place in
// bold.
func strong(phrase, s string) template.HTML {
	return fill(phrase, "<strong>"+template.HTMLEscapeString(s)+"</strong>")
}

// mailto is phrase, a format with one %s, escaped, with a mail link to addr
// in its place.
func mailto(phrase, addr string) template.HTML {
	esc := template.HTMLEscapeString
	return fill(phrase, `<a href="mailto:`+esc(addr)+`">`+esc(addr)+`</a>`)
}

// fill escapes phrase, a format with one %s, and puts the markup html in
// place of its %s.
func fill(phrase, html string) template.HTML {
	before, after, _ := strings.Cut(phrase, "%s")
	return template.HTML(template.HTMLEscapeString(before) + html + template.HTMLEscapeString(after))
}

// render writes the page with the headers every page carries: no caching
// (the page changes with each download), no referrer (the URL is a
// credential), no framing, no scripts.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, v view) {
	var b bytes.Buffer
	if err := h.pages.t.ExecuteTemplate(&b, "page.html.tmpl", v); err != nil {
		h.log.Error("order page: template failed", "kind", v.Kind, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Robots-Tag", "noindex, nofollow")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b.Bytes())
	}
}
