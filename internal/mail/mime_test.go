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
		{"address at the limit", func(m *mail.Message) { m.To[0].Email = strings.Repeat("a", 64) + "@" + strings.Repeat("b", 189) }, ""},
		{"address over the limit", func(m *mail.Message) { m.To[0].Email = strings.Repeat("a", 64) + "@" + strings.Repeat("b", 190) }, "longer than 254"},
		{"any display name", func(m *mail.Message) { m.To[0].Name = strings.Repeat("Ü\x00\r\n", 5000) }, ""},
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

// hostileNames are customer names that once stopped a mail: too long for a
// header line, right-to-left overrides, control characters.
var hostileNames = map[string]string{
	"400 bytes in one word":        strings.Repeat("x", 400),
	"400 bytes in words":           strings.Repeat("Lovelace ", 44) + "Ada",
	"5,000 × Ü":                    strings.Repeat("Ü", 5000),
	"100,000 characters":           strings.Repeat("a", 100_000),
	"RTL with an override":         "\u202Eדוד כהן\u202C محمد علي",
	"NUL and control characters":   "Ada\x00 Love\x1blace\x7f\u0085",
	"line breaks":                  "Ada\r\nBcc: evil@example.com",
	"quotes and backslashes":       `"Ada" \ Lovelace`,
	"an encoded-word look-alike":   "=?utf-8?q?Eve?=",
	"spaces at the ends and twice": " Ada  Lovelace ",
	"bytes that are not UTF-8":     "Ad\xffa",
}

// requireFoldedHeader checks the header of a written message: CRLF line
// ends only, no line over 76 characters, continuation lines that start with
// white space.
func requireFoldedHeader(t *testing.T, raw string) {
	t.Helper()
	header, _, ok := strings.Cut(raw, "\r\n\r\n")
	require.True(t, ok, "no end of header")
	for i, line := range strings.Split(header, "\r\n") {
		require.NotContains(t, line, "\r", "line %d", i)
		require.NotContains(t, line, "\n", "line %d", i)
		require.LessOrEqual(t, len(line), 76, "line %d: %q", i, line[:min(len(line), 100)])
		if i > 0 && !strings.Contains(line, ": ") {
			require.Contains(t, " \t", line[:1], "line %d continues a field: %q", i, line)
		}
	}
}

// TestWriteToFoldsEveryHeader writes names and subjects of any length and
// content: each line fits, and a mail client reads back exactly what was
// written.
func TestWriteToFoldsEveryHeader(t *testing.T) {
	for name, s := range hostileNames {
		t.Run(name, func(t *testing.T) {
			m := testMessage()
			m.From.Name = s
			m.To = []mail.Address{{Name: s, Email: "zoe@customer.example"}, {Email: "second@customer.example"}, {Name: s, Email: "third@customer.example"}}
			m.ReplyTo = []mail.Address{{Name: s, Email: "help@lumen.example"}}
			m.Subject = strings.NewReplacer("\r", "", "\n", "").Replace(s)
			var b bytes.Buffer
			_, err := m.WriteTo(&b)
			require.NoError(t, err)
			requireFoldedHeader(t, b.String())

			msg, err := netmail.ReadMessage(strings.NewReader(b.String()))
			require.NoError(t, err)
			for field, want := range map[string][]mail.Address{"From": {m.From}, "To": m.To, "Reply-To": m.ReplyTo} {
				got, err := msg.Header.AddressList(field)
				require.NoError(t, err, field)
				require.Len(t, got, len(want), field)
				for i, a := range got {
					require.Equal(t, want[i], mail.Address{Name: a.Name, Email: a.Address}, field)
				}
			}
			subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			require.NoError(t, err)
			require.Equal(t, m.Subject, subject)
		})
	}
}

func TestAddressString(t *testing.T) {
	tests := []struct {
		in   mail.Address
		want string
	}{
		{mail.Address{Email: "a@b.example"}, "<a@b.example>"},
		{mail.Address{Name: "Ada Lovelace", Email: "a@b.example"}, `"Ada Lovelace" <a@b.example>`},
		{mail.Address{Name: `Say "hi"`, Email: "a@b.example"}, `"Say \"hi\"" <a@b.example>`},
		{mail.Address{Name: "Zoë", Email: "a@b.example"}, "=?utf-8?q?Zo=C3=AB?= <a@b.example>"},
		{mail.Address{Name: "O'Brien & Co.", Email: "a@b.example"}, `"O'Brien & Co." <a@b.example>`},
		{mail.Address{Name: "a\x00b", Email: "a@b.example"}, "=?utf-8?q?a=00b?= <a@b.example>"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			require.Equal(t, tt.want, tt.in.String())
		})
	}
}
