package blobstore

import (
	"strings"
	"unicode"
)

// ContentDisposition returns the Content-Disposition a download link asks
// the storage service to answer with: an attachment named fileName.
//
// Control characters are dropped and path separators replaced. When the name
// is plain printable ASCII without quotes, backslashes or % it is sent as is:
//
//	attachment; filename="sunset.jpg"
//
// Otherwise filename= carries an ASCII fallback (accents folded, anything
// else replaced by _) and filename* (RFC 5987, RFC 6266) the exact name:
//
//	attachment; filename="Zurich.jpg"; filename*=UTF-8''Z%C3%BCrich.jpg
func ContentDisposition(fileName string) string {
	name := cleanFileName(fileName)
	ascii := asciiFallback(name)
	cd := `attachment; filename="` + ascii + `"`
	if ascii != name {
		cd += "; filename*=UTF-8''" + extValue(name)
	}
	return cd
}

// cleanFileName drops control characters, replaces path separators and
// trims spaces; an empty result becomes "download".
func cleanFileName(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), r == unicode.ReplacementChar:
			return -1
		case r == '/', r == '\\':
			return '_'
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if s == "" || s == "." || s == ".." {
		return "download"
	}
	return s
}

// folds spells common accented Latin letters and typographic marks in ASCII.
var folds = map[rune]string{
	'ß': "ss", 'Æ': "AE", 'æ': "ae", 'Œ': "OE", 'œ': "oe", 'Ø': "O", 'ø': "o", 'Ł': "L", 'ł': "l",
	'Đ': "D", 'đ': "d", 'Þ': "Th", 'þ': "th", 'ð': "d",
	'–': "-", '—': "-", '‘': "'", '’': "'", '‚': "'", '…': "...", '\u00a0': " ",
}

// accented maps the letters of each line to the ASCII letter that starts it.
var accented = []string{
	"AÀÁÂÃÄÅĀĂĄ", "aàáâãäåāăą", "CÇĆĈĊČ", "cçćĉċč", "DĎ", "dď", "EÈÉÊËĒĔĖĘĚ", "eèéêëēĕėęě",
	"GĜĞĠĢ", "gĝğġģ", "HĤĦ", "hĥħ", "IÌÍÎÏĨĪĬĮİ", "iìíîïĩīĭįı", "JĴ", "jĵ", "KĶ", "kķ",
	"LĹĻĽĿ", "lĺļľŀ", "NÑŃŅŇ", "nñńņňŉ", "OÒÓÔÕÖŌŎŐ", "oòóôõöōŏő", "RŔŖŘ", "rŕŗř",
	"SŚŜŞŠ", "sśŝşš", "TŢŤŦ", "tţťŧ", "UÙÚÛÜŨŪŬŮŰŲ", "uùúûüũūŭůűų", "WŴ", "wŵ",
	"YÝŶŸ", "yýÿŷ", "ZŹŻŽ", "zźżž",
}

// asciiFallback spells name in printable ASCII without ", \ or %.
func asciiFallback(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == '"' || r == '\\' || r == '%':
			// % too: some agents percent-decode filename= (RFC 6266, appendix D).
			b.WriteByte('_')
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case folds[r] != "":
			b.WriteString(folds[r])
		default:
			b.WriteByte(foldAccent(r))
		}
	}
	return b.String()
}

func foldAccent(r rune) byte {
	for _, line := range accented {
		if strings.ContainsRune(line[1:], r) {
			return line[0]
		}
	}
	return '_'
}

// extValue percent-encodes s as an RFC 5987 ext-value's value-chars.
func extValue(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for _, c := range []byte(s) {
		if attrChar(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}

// attrChar reports whether c is an RFC 5987 attr-char.
func attrChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}
