package mail

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
	"time"
)

// WriteTo writes m as an RFC 5322 message with CRLF line ends: the headers
// (Date, From, To, Reply-To, Subject as RFC 2047 encoded-words when it is
// not ASCII, Message-ID from the Key, MIME-Version, Auto-Submitted) and a
// multipart/alternative body of the text and the HTML part, both UTF-8 and
// quoted-printable. Bcc is not written. The output depends only on m, so
// the same mail always has the same bytes.
func (m Message) WriteTo(w io.Writer) (int64, error) {
	if err := m.Validate(); err != nil {
		return 0, fmt.Errorf("write message: %w", err)
	}
	// "=_" never occurs in quoted-printable text, so the boundary cannot
	// collide with a body.
	boundary := "filedrop=_" + strings.ReplaceAll(m.Key, "-", "")

	var b bytes.Buffer
	header := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	header("Date", m.Date.Format(time.RFC1123Z))
	header("From", m.From.String())
	header("To", addressList(m.To))
	if len(m.ReplyTo) > 0 {
		header("Reply-To", addressList(m.ReplyTo))
	}
	header("Subject", encodeSubject(m.Subject))
	header("Message-ID", m.MessageID())
	header("MIME-Version", "1.0")
	header("Auto-Submitted", "auto-generated")
	header("Content-Type", "multipart/alternative;\r\n "+strings.TrimPrefix(
		mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": boundary}),
		"multipart/alternative; "))
	b.WriteString("\r\n")

	mw := multipart.NewWriter(&b)
	if err := mw.SetBoundary(boundary); err != nil {
		return 0, fmt.Errorf("write message: %w", err)
	}
	for _, p := range []struct{ contentType, body string }{
		{"text/plain; charset=utf-8", m.Text},
		{"text/html; charset=utf-8", m.HTML},
	} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.contentType},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return 0, fmt.Errorf("write message: %w", err)
		}
		qw := quotedprintable.NewWriter(pw)
		body := p.body
		if !strings.HasSuffix(body, "\n") {
			body += "\n"
		}
		if _, err := io.WriteString(qw, body); err != nil {
			return 0, fmt.Errorf("write message: %w", err)
		}
		if err := qw.Close(); err != nil {
			return 0, fmt.Errorf("write message: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return 0, fmt.Errorf("write message: %w", err)
	}
	return b.WriteTo(w)
}

// addressList formats addresses for a header, one per folded line.
func addressList(as []Address) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ",\r\n ")
}

// encodeSubject returns s as it is when it is printable ASCII, and as
// RFC 2047 Q encoded-words otherwise, each of whole characters and short
// enough that every line of the header, "Subject: " included, stays within
// the 76 characters RFC 2047 allows.
func encodeSubject(s string) string {
	if isPlain(s) {
		return s
	}
	const prefix, suffix, maxWord = "=?utf-8?q?", "?=", 66
	var words []string
	var w strings.Builder
	for _, r := range s {
		enc := qEncode(r)
		if len(prefix)+w.Len()+len(enc)+len(suffix) > maxWord {
			words = append(words, prefix+w.String()+suffix)
			w.Reset()
		}
		w.WriteString(enc)
	}
	words = append(words, prefix+w.String()+suffix)
	return strings.Join(words, "\r\n ")
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

// qEncode returns r in RFC 2047 Q encoding: letters, digits and a few safe
// symbols as they are, a space as "_", every other byte as =XX.
func qEncode(r rune) string {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', strings.ContainsRune("!*+-/", r):
		return string(r)
	case r == ' ':
		return "_"
	}
	var b strings.Builder
	for _, c := range []byte(string(r)) {
		fmt.Fprintf(&b, "=%02X", c)
	}
	return b.String()
}
