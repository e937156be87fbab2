package order

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxCustomerName is the longest customer name, in characters, that a
// MailJob carries and a mail greets. At 4 bytes a character, and 6 for
// the few that JSON escapes, such a name cannot make a mail too big for its
// queue message.
const MaxCustomerName = 200

// CustomerName returns name as a mail may show it: control characters (NUL,
// line breaks, tabs, DEL, C1), bidirectional embedding, override and isolate
// controls (U+202A-U+202E, U+2066-U+2069) and bytes that are not UTF-8
// removed, runs of white space collapsed into single spaces. A name that is
// still longer than MaxCustomerName characters is dropped: CustomerName
// returns "", and the mail greets without a name rather than not at all.
func CustomerName(name string) string {
	s := cleanText(name)
	if utf8.RuneCountInString(s) > MaxCustomerName {
		return ""
	}
	return s
}

// cleanText removes from s what must not reach a mail, a header, a log or
// a line of output: control characters, bidirectional controls and bytes
// that are not UTF-8; runs of white space become single spaces.
func cleanText(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "") {
		switch {
		case unicode.IsSpace(r):
			b.WriteByte(' ')
		case unicode.IsControl(r), isBidiControl(r):
		default:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// isBidiControl reports the explicit bidirectional formatting characters
// that reorder the text after them (Unicode UAX #9): in a name they can make
// the rest of a line read backwards. The marks U+200E and U+200F, which do
// not, are kept.
func isBidiControl(r rune) bool {
	return '\u202A' <= r && r <= '\u202E' || '\u2066' <= r && r <= '\u2069'
}
