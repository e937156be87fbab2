package download

import (
	"bytes"
	"cmp"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/filedrop/filedrop/internal/order"
)

//go:embed templates/page.html.tmpl
var templates embed.FS

// DateLayout is how the page writes dates (in UTC).
const DateLayout = "2 January 2006"

// EndLayout is how the page writes when access ends (in UTC).
const EndLayout = "2 January 2006 at 15:04 MST"

// What a page is about. Each has its heading and advice in the template.
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
	t, err := template.ParseFS(templates, "templates/page.html.tmpl")
	if err != nil {
		return nil, fmt.Errorf("parse order page template: %w", err)
	}
	return &pages{t: t}, nil
}

// view is what the page template sees.
type view struct {
	Kind    string
	Shop    string
	Support string
	// OrderDate and Ends are written dates; "" when unknown.
	OrderDate string
	Ends      string
	Files     []fileView
	// Notice is a line above the files (why a click was refused).
	Notice string
}

type fileView struct {
	Index    int
	Title    string
	FileName string
	Size     string
	// Left is "unlimited" or how many downloads remain.
	Left        string
	CanDownload bool
}

func (h *Handler) view(kind string) view {
	return view{Kind: kind, Shop: h.set.Shop, Support: h.set.Support}
}

// orderView is the page of rec at now.
func (h *Handler) orderView(rec order.Order, now time.Time) view {
	v := h.view(kindOpen)
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
		v.OrderDate = at.UTC().Format(DateLayout)
	}
	if end := rec.AccessEnds(h.set.Window); !end.IsZero() {
		v.Ends = end.UTC().Format(EndLayout)
	}
	if v.Kind != kindOpen {
		return v
	}
	left := 0
	for i, f := range rec.Files {
		fv := fileView{Index: i, Title: f.Title, FileName: f.FileName, Size: Size(f.Size)}
		if fv.Title == "" {
			fv.Title = f.FileName
		}
		switch n := f.Remaining(h.set.Limit); n {
		case -1:
			fv.Left, fv.CanDownload = "unlimited", true
		default:
			fv.Left, fv.CanDownload = fmt.Sprintf("%d of %d", n, h.set.Limit), n > 0
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

// Size writes a byte count as a person reads it: 512 bytes, 1.5 MB.
func Size(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTP"[exp])
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
