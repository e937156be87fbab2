package mail_test

import (
	"bytes"
	"mime"
	netmail "net/mail"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/mail"
)

// FuzzWriteToHeaders writes messages with any display names, customer
// address and subject. Whenever the message is valid: the header has CRLF
// line ends only and no line over 998 octets, and over 76 only for an
// address that cannot be folded; every address header reads back with
// net/mail as the addresses written, the subject as the subject written,
// and the Bcc is nowhere. The seeds are in testdata/fuzz/FuzzWriteToHeaders.
func FuzzWriteToHeaders(f *testing.F) {
	f.Fuzz(func(t *testing.T, fromName, toName, toEmail, replyToName, subject string) {
		// An address net/mail itself cannot read is no test of the header.
		if a, err := netmail.ParseAddress(toEmail); err != nil || a.Name != "" || a.Address != toEmail {
			toEmail = "zoe@customer.example"
		}
		m := testMessage()
		m.From.Name = fromName
		m.To = []mail.Address{{Name: toName, Email: toEmail}, {Name: fromName, Email: "second@customer.example"}}
		m.ReplyTo = []mail.Address{{Name: replyToName, Email: "help@lumen.example"}}
		m.Subject = subject
		var b bytes.Buffer
		_, err := m.WriteTo(&b)
		if verr := m.Validate(); verr != nil {
			require.Error(t, err)
			return
		}
		require.NoError(t, err)
		raw := b.String()

		header, _, ok := strings.Cut(raw, "\r\n\r\n")
		require.True(t, ok, "no end of header")
		unfoldable := mail.Address{Email: toEmail}.String()
		for i, line := range strings.Split(header, "\r\n") {
			require.NotContains(t, line, "\r", "line %d", i)
			require.NotContains(t, line, "\n", "line %d", i)
			require.LessOrEqual(t, len(line), 998, "line %d", i)
			if len(line) > 76 {
				require.Contains(t, line, unfoldable, "line %d is %d characters: %q", i, len(line), line)
			}
			if i > 0 && (line == "" || line[0] != ' ') {
				require.Contains(t, line, ": ", "line %d neither starts a field nor continues one: %q", i, line)
			}
		}
		require.NotContains(t, raw, "copies@lumen.example", "the Bcc is not in the message")

		msg, err := netmail.ReadMessage(strings.NewReader(raw))
		require.NoError(t, err)
		for field, want := range map[string][]mail.Address{"From": {m.From}, "To": m.To, "Reply-To": m.ReplyTo} {
			got, err := msg.Header.AddressList(field)
			require.NoError(t, err, "%s: %q", field, msg.Header.Get(field))
			require.Len(t, got, len(want), field)
			for i, a := range got {
				require.Equal(t, want[i], mail.Address{Name: a.Name, Email: a.Address}, "%s: %q", field, msg.Header.Get(field))
			}
		}
		require.Empty(t, msg.Header.Get("Bcc"))
		got, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		require.NoError(t, err)
		require.Equal(t, subject, got)
	})
}
