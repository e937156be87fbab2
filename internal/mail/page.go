package mail

import (
	"fmt"
	"strings"
	"time"
)

// Page is the order page's words in one of Languages, from the mails'
// phrase tables: the page (package download) speaks the language the mail
// did, and writes dates and sizes as it does.
type Page struct {
	PagePhrases
	// Lang is the HTML lang attribute; Download and YourFiles are the mail's
	// words, which the page shares.
	Lang, Download, YourFiles string

	p phrases
}

// PageFor returns the order page's words for a Checkout locale, in the
// language a mail for it is written in (see Language).
func PageFor(locale string) Page {
	p := phrasesFor(Language(locale))
	return Page{PagePhrases: p.Page, Lang: p.Lang, Download: p.Download, YourFiles: p.YourFiles, p: p}
}

// PageForRequest returns the order page's words for a browser's
// Accept-Language header: the first of its languages that the mails are
// written in (in the order the browser lists them), else English. The page
// of an order the ledger has a mail for speaks the mail's language instead.
func PageForRequest(acceptLanguage string) Page {
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if primary, _, _ := strings.Cut(strings.ToLower(tag), "-"); primary != "" && primary == Language(tag) {
			return PageFor(tag)
		}
	}
	return PageFor("en")
}

// Date writes t's day in UTC as the mails do: 14 March 2025, 14. März 2025.
func (p Page) Date(t time.Time) string { return p.p.date(t) }

// Moment writes t in UTC with its weekday, day and time, as the mails write
// when a link expires: Sunday, 13 April 2025 at 09:26 UTC.
func (p Page) Moment(t time.Time) string { return p.p.moment(t) }

// Size writes a byte count as the language writes it: 512 bytes, 2.5 MB,
// 2,5 Mo.
func (p Page) Size(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf(p.Bytes, n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < len(p.Units)-1; m /= unit {
		div *= unit
		exp++
	}
	num := fmt.Sprintf("%.1f", float64(n)/float64(div))
	if p.Lang != "en" {
		num = strings.Replace(num, ".", ",", 1)
	}
	return num + " " + p.Units[exp]
}
