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
// (Date, From, To, Reply-To, Subject, Message-ID from the Key, MIME-Version,
// Auto-Submitted) and a multipart/alternative body of the text and the HTML
// part, both UTF-8 and quoted-printable. Bcc is not written. The output
// depends only on m, so the same mail always has the same bytes.
//
// Display names and the subject are written as they are when they are
// printable ASCII, and as RFC 2047 encoded-words otherwise; every field is
// folded to lines of at most 76 characters, so that no name or subject,
// however long, makes a line a server refuses.
func (m Message) WriteTo(w io.Writer) (int64, error) {
	if err := m.Validate(); err != nil {
		return 0, fmt.Errorf("write message: %w", err)
	}
	// "=_" never occurs in quoted-printable text, so the boundary cannot
	// collide with a body.
	boundary := "filedrop=_" + strings.ReplaceAll(m.Key, "-", "")

	var b bytes.Buffer
	header := func(name string, words ...string) { writeField(&b, name, words) }
	header("Date", m.Date.Format(time.RFC1123Z))
	header("From", addressWords([]Address{m.From})...)
	header("To", addressWords(m.To)...)
	if len(m.ReplyTo) > 0 {
		header("Reply-To", addressWords(m.ReplyTo)...)
	}
	header("Subject", textWords(m.Subject)...)
	header("Message-ID", m.MessageID())
	header("MIME-Version", "1.0")
	header("Auto-Submitted", "auto-generated")
	header("Content-Type", strings.SplitN(
		mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": boundary}), " ", 2)...)
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
