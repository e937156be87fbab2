package mail

import (
	"bytes"
	"fmt"
	netmail "net/mail"
	"strings"
	"unicode/utf8"
)

// Header lines are folded to at most maxLine characters: RFC 2047 (2) allows
// 76 on a line with encoded-words, RFC 5322 (2.1.1) recommends 78. Only a
// single word longer than that, an address of up to MaxAddressLength
// octets, makes a longer line, still far below the 998 octets RFC 5322
// allows.
const maxLine = 76

// maxWord bounds an encoded-word or a word of a quoted display name, so that
// the longest field name it follows, "Reply-To: ", and one word fit on a
// line.
const maxWord = 66

// writeField writes the header field name with the words of its value,
// separated by single spaces, and folds before a word that would make the
// line longer than maxLine. The first word stays on the first line.
func writeField(b *bytes.Buffer, name string, words []string) {
	b.WriteString(name)
	b.WriteByte(':')
	n := len(name) + 1
	for i, w := range words {
		if i > 0 && n+1+len(w) > maxLine {
			b.WriteString("\r\n")
			n = 0
		}
		b.WriteByte(' ')
		b.WriteString(w)
		n += 1 + len(w)
	}
	b.WriteString("\r\n")
}

// addressWords returns the words of an address list: each display name as
// quoted words or encoded-words, its <address>, and a comma between
// addresses.
func addressWords(as []Address) []string {
	var words []string
	for i, a := range as {
		if a.Name != "" {
			words = append(words, phraseWords(a.Name)...)
		}
		addr := (&netmail.Address{Address: a.Email}).String()
		if i < len(as)-1 {
			addr += ","
		}
		words = append(words, addr)
	}
	return words
}

// phraseWords returns a display name as the words of a quoted-string, which
// may be folded between words, when it is printable ASCII in single-spaced
// words that each fit a line; otherwise as RFC 2047 encoded-words, which
// carry any bytes and any length.
func phraseWords(name string) []string {
	if foldable(name) {
		quoted := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + `"`
		if words := strings.Split(quoted, " "); fit(words) {
			return words
		}
	}
	return encodedWords(name)
}

// textWords returns the words of an unstructured field such as Subject: as
// they are when it is printable ASCII in single-spaced words that each fit
// a line, and RFC 2047 encoded-words otherwise.
func textWords(s string) []string {
	if foldable(s) {
		if words := strings.Split(s, " "); fit(words) {
			return words
		}
	}
	return encodedWords(s)
}

// foldable reports whether s can be written as it is and folded at its
// spaces without changing it: printable ASCII that a decoder will not
// mistake for an encoded-word, with no space at either end and no two in a
// row (unfolding keeps one space at a fold).
func foldable(s string) bool {
	return isPlain(s) && !strings.HasPrefix(s, " ") && !strings.HasSuffix(s, " ") && !strings.Contains(s, "  ")
}

// fit reports whether every word fits a line after a field name.
func fit(words []string) bool {
	for _, w := range words {
		if len(w) > maxWord {
			return false
		}
	}
	return true
}

// isPlain reports whether s can be a header as it is: printable ASCII that
// a decoder will not mistake for an encoded-word.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return !strings.Contains(s, "=?")
}

// encodedWords returns s as RFC 2047 Q encoded-words of at most maxWord
// characters, each of whole characters. The bytes of s are carried exactly,
// even those that are not UTF-8, and a decoder joins adjacent words without
// the space between them.
func encodedWords(s string) []string {
	const prefix, suffix = "=?utf-8?q?", "?="
	var words []string
	var w strings.Builder
	for len(s) > 0 {
		_, size := utf8.DecodeRuneInString(s)
		enc := qEncode(s[:size])
		if w.Len() > 0 && len(prefix)+w.Len()+len(enc)+len(suffix) > maxWord {
			words = append(words, prefix+w.String()+suffix)
			w.Reset()
		}
		w.WriteString(enc)
		s = s[size:]
	}
	return append(words, prefix+w.String()+suffix)
}

// qEncode returns the bytes of one character in RFC 2047 Q encoding, as
// allowed in a display name (5.3): letters, digits and !*+-/ as they are, a
// space as "_", every other byte as =XX.
func qEncode(c string) string {
	if len(c) == 1 {
		switch b := c[0]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', strings.IndexByte("!*+-/", b) >= 0:
			return c
		case b == ' ':
			return "_"
		}
	}
	var b strings.Builder
	for i := 0; i < len(c); i++ {
		fmt.Fprintf(&b, "=%02X", c[i])
	}
	return b.String()
}
