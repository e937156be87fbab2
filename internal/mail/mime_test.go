package mail_test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/mail"
)

func testMessage() mail.Message {
	return mail.Message{
		Key:     "84a7d566-a1a6-517f-8dbc-76ba50576251",
		Date:    testDate,
		From:    mail.Address{Name: "Lumen Photo", Email: "shop@lumen.example"},
		To:      []mail.Address{{Name: "Zoë Ünal", Email: "zoe@customer.example"}},
		ReplyTo: []mail.Address{{Email: "help@lumen.example"}},
		Bcc:     []mail.Address{{Email: "copies@lumen.example"}},
		Subject: "Ihre Downloads von Lumen Photo – größer, schöner, länger als eine einzelne kodierte Zeile je sein darf",
		Text:    "Grüße, Zoë\nhttps://x.example/a.jpg?sig=abc%2B&sp=r\n",
		HTML:    "<p>Grüße, Zoë</p>\n<a href=\"https://x.example/a.jpg?sig=abc%2B&amp;sp=r\">a</a>",
	}
}

// TestWriteTo parses the written message back with net/mail and
// mime/multipart, as a mail client would.
func TestWriteTo(t *testing.T) {
	m := testMessage()
	var b bytes.Buffer
	n, err := m.WriteTo(&b)
	require.NoError(t, err)
	require.Equal(t, int64(b.Len()), n)
	raw := b.String()
	for _, line := range strings.Split(strings.TrimSuffix(raw, "\r\n"), "\r\n") {
		require.LessOrEqual(t, len(line), 78, "line %q", line)
		require.NotContains(t, line, "\n")
	}
	require.NotContains(t, raw, "copies@lumen.example", "the Bcc must not be in the message")

	msg, err := netmail.ReadMessage(strings.NewReader(raw))
	require.NoError(t, err)
	h := msg.Header
	require.Equal(t, "<"+m.Key+"@filedrop>", h.Get("Message-ID"))
	require.Equal(t, "1.0", h.Get("MIME-Version"))
	require.Empty(t, h.Get("Bcc"))
	date, err := h.Date()
	require.NoError(t, err)
	require.True(t, date.Equal(testDate))
	from, err := h.AddressList("From")
	require.NoError(t, err)
	require.Equal(t, []*netmail.Address{{Name: "Lumen Photo", Address: "shop@lumen.example"}}, from)
	to, err := h.AddressList("To")
	require.NoError(t, err)
	require.Equal(t, []*netmail.Address{{Name: "Zoë Ünal", Address: "zoe@customer.example"}}, to)
	replyTo, err := h.AddressList("Reply-To")
	require.NoError(t, err)
	require.Equal(t, []*netmail.Address{{Address: "help@lumen.example"}}, replyTo)
	require.True(t, strings.HasPrefix(h.Get("Subject"), "=?utf-8?q?"), "a non-ASCII subject is encoded: %q", h.Get("Subject"))
	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, m.Subject, subject)

	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", mediaType)
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types, bodies []string
	for range 3 {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		require.Equal(t, "quoted-printable", p.Header.Get("Content-Transfer-Encoding"))
		body, err := io.ReadAll(quotedprintable.NewReader(p))
		require.NoError(t, err)
		types = append(types, p.Header.Get("Content-Type"))
		bodies = append(bodies, strings.ReplaceAll(string(body), "\r\n", "\n"))
	}
	require.Equal(t, []string{"text/plain; charset=utf-8", "text/html; charset=utf-8"}, types)
	require.Equal(t, []string{m.Text, m.HTML + "\n"}, bodies)
}

func TestWriteToASCIISubject(t *testing.T) {
	m := testMessage()
	m.Subject = "Your downloads from Lumen Photo"
	var b bytes.Buffer
	_, err := m.WriteTo(&b)
	require.NoError(t, err)
	require.Contains(t, b.String(), "\r\nSubject: Your downloads from Lumen Photo\r\n")
}

func TestWriteToIsDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	_, err := testMessage().WriteTo(&a)
	require.NoError(t, err)
	_, err = testMessage().WriteTo(&b)
	require.NoError(t, err)
	require.Equal(t, a.String(), b.String())
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*mail.Message)
		want string
	}{
		{"ok", func(*mail.Message) {}, ""},
		{"no key", func(m *mail.Message) { m.Key = "" }, "key"},
		{"key with a path", func(m *mail.Message) { m.Key = "../../etc/passwd" }, "key"},
		{"no sender", func(m *mail.Message) { m.From = mail.Address{} }, "no sender"},
		{"no recipient", func(m *mail.Message) { m.To = nil }, "no recipient"},
		{"two-line subject", func(m *mail.Message) { m.Subject = "a\r\nBcc: x@y.example" }, "subject"},
		{"address with a line break", func(m *mail.Message) { m.Bcc[0].Email = "a@b\r\nX: y" }, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMessage()
			tt.edit(&m)
			err := m.Validate()
			_, werr := m.WriteTo(io.Discard)
			if tt.want == "" {
				require.NoError(t, err)
				require.NoError(t, werr)
				return
			}
			require.ErrorContains(t, err, tt.want)
			require.ErrorContains(t, werr, tt.want)
		})
	}
}

func TestRecipients(t *testing.T) {
	require.Equal(t, []string{"zoe@customer.example", "copies@lumen.example"}, testMessage().Recipients())
}
