package mail

import (
	"fmt"
	htmltemplate "html/template"
	"math"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ValidColor reports whether s is a colour the mails can use: #rrggbb.
func ValidColor(s string) bool {
	if len(s) != 7 || s[0] != '#' {
		return false
	}
	_, err := strconv.ParseUint(s[1:], 16, 32)
	return err == nil
}

// MaxLogoURL is the longest logo URL, in bytes, a mail carries.
const MaxLogoURL = 2048

// ValidLogoURL reports whether s can be the logo of the mails: an https
// URL with a host and no user info, of at most MaxLogoURL bytes.
func ValidLogoURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && len(s) <= MaxLogoURL && u.Scheme == "https" && u.Host != "" && u.User == nil &&
		!strings.ContainsAny(s, " \t\r\n\"'<>")
}

// textOn returns the colour of text on the background colour bg (#rrggbb):
// white, unless white has less than the 4.5:1 contrast WCAG asks of body
// text, then near black.
func textOn(bg string) string {
	if !ValidColor(bg) {
		return "#ffffff"
	}
	lum := 0.0
	for i, w := range []float64{0.2126, 0.7152, 0.0722} {
		v, _ := strconv.ParseUint(bg[1+2*i:3+2*i], 16, 8)
		c := float64(v) / 255
		if c <= 0.03928 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		lum += w * c
	}
	if 1.05/(lum+0.05) >= 4.5 {
		return "#ffffff"
	}
	return "#111111"
}

// mailto returns phrase, a format with one %s, escaped, with the %s
// replaced by a mailto link to addr.
func mailto(phrase, addr string) htmltemplate.HTML {
	esc := htmltemplate.HTMLEscapeString
	return fill(phrase, fmt.Sprintf(`<a href="mailto:%s" style="color: inherit; text-decoration: underline;">%s</a>`, esc(addr), esc(addr)))
}

// breakable returns phrase, a format with one %s, escaped, with the %s
// replaced by s, escaped and allowed to break anywhere (a long URL).
func breakable(phrase, s string) htmltemplate.HTML {
	return fill(phrase, `<span style="word-break: break-all;">`+htmltemplate.HTMLEscapeString(s)+`</span>`)
}

// fill escapes phrase, a format with one %s, and puts the markup html in
// place of its %s.
func fill(phrase, html string) htmltemplate.HTML {
	before, after, _ := strings.Cut(phrase, "%s")
	esc := htmltemplate.HTMLEscapeString
	return htmltemplate.HTML(esc(before) + html + esc(after))
}

// TextWidth is the column the plain-text part's paragraphs are wrapped at.
const TextWidth = 72

// wrap breaks the paragraph s into lines of at most TextWidth characters
// at its spaces, never at a no-break space; a longer word (a URL) gets a
// line of its own.
func wrap(s string) string {
	var b strings.Builder
	col := 0
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }) {
		n := utf8.RuneCountInString(w)
		switch {
		case col == 0:
		case col+1+n > TextWidth:
			b.WriteByte('\n')
			col = 0
		default:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += n
	}
	return b.String()
}
