package outbox_test

import (
	"context"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/mail"
	"github.com/filedrop/filedrop/internal/mail/outbox"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/sendlink"
)

// The transport is what the SendLink stage sends with.
var _ sendlink.Sender = (*outbox.Outbox)(nil)

func testMessage() mail.Message {
	return mail.Message{
		Key:     order.MailKey("cs_test_a1", order.MailDownloadLinks, 1),
		Date:    time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC),
		From:    mail.Address{Name: "Shop", Email: "shop@shop.example"},
		To:      []mail.Address{{Email: "ada@customer.example"}},
		Bcc:     []mail.Address{{Email: "copies@shop.example"}},
		Subject: "Your downloads",
		Text:    "Hello\n",
		HTML:    "<p>Hello</p>",
	}
}

func TestSend(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox") // New creates it
	o, err := outbox.New(dir)
	require.NoError(t, err)

	m := testMessage()
	for i, subject := range []string{"first", "redelivered"} {
		m.Subject = subject
		r, err := o.Send(context.Background(), m)
		require.NoError(t, err, "send %d", i)
		require.Equal(t, mail.Receipt{OperationID: m.Key, Status: mail.Accepted}, r)
	}

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "a redelivery overwrites the same file; no temporary file is left")
	require.Equal(t, m.Key+".eml", entries[0].Name())
	require.Equal(t, filepath.Join(dir, m.Key+".eml"), o.Path(m.Key))

	f, err := os.Open(o.Path(m.Key))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	msg, err := netmail.ReadMessage(f)
	require.NoError(t, err)
	require.Equal(t, "redelivered", msg.Header.Get("Subject"))
	require.Equal(t, "<"+m.Key+"@filedrop>", msg.Header.Get("Message-ID"))
	require.Empty(t, msg.Header.Get("Bcc"))
	to, err := msg.Header.AddressList("To")
	require.NoError(t, err)
	require.Equal(t, "ada@customer.example", to[0].Address)

	// A different mail is a different file.
	other := testMessage()
	other.Key = order.MailKey("cs_test_a1", order.MailDownloadLinks, 2)
	_, err = o.Send(context.Background(), other)
	require.NoError(t, err)
	entries, err = os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 2)
}

func TestSendRejectsAnUnsafeKey(t *testing.T) {
	dir := t.TempDir()
	o, err := outbox.New(dir)
	require.NoError(t, err)
	m := testMessage()
	m.Key = "../escape"
	_, err = o.Send(context.Background(), m)
	require.True(t, order.IsPermanent(err), "%v", err)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)
	_, err = os.Stat(filepath.Join(filepath.Dir(dir), "escape.eml"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestSendToAMissingFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gone")
	o, err := outbox.New(dir)
	require.NoError(t, err)
	require.NoError(t, os.Remove(dir))
	_, err = o.Send(context.Background(), testMessage())
	require.Error(t, err)
	require.Equal(t, order.ClassRetryable, order.Classify(err))
}

func TestNew(t *testing.T) {
	_, err := outbox.New("")
	require.Error(t, err)
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	_, err = outbox.New(file)
	require.Error(t, err)
}

// TestSendCustomerName writes mail to customers whose names once stopped
// it, rendered and with the name as it is: every header line of the file
// fits, and the name reads back as written.
func TestSendCustomerName(t *testing.T) {
	r, err := mail.NewRenderer(mail.Settings{Shop: "Shop", From: "shop@shop.example"})
	require.NoError(t, err)
	tests := []struct {
		name, in string
		wantTo   string // the display name of the rendered mail
	}{
		{"400 bytes", strings.Repeat("x", 400), ""},
		{"5,000 × Ü", strings.Repeat("Ü", 5000), ""},
		{"100,000 characters", strings.Repeat("a", 100_000), ""},
		{"RTL with an override", "\u202Eדוד כהן\u202C محمد", "דוד כהן محمد"},
		{"NUL and control characters", "Zoë\x00 Ü\x1bnal\r\n", "Zoë Ünal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := outbox.New(t.TempDir())
			require.NoError(t, err)
			rendered, err := r.Render(order.MailJob{
				Version: order.MailJobVersion, Kind: order.MailPaymentFailed, SessionID: "cs_test_a1", Generation: 1,
				Customer: order.Customer{Email: "ada@customer.example", Name: tt.in},
			}, time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC))
			require.NoError(t, err)
			require.Equal(t, tt.wantTo, rendered.To[0].Name)
			raw := testMessage()
			raw.Key = order.MailKey("cs_test_a1", order.MailDownloadLinks, 2)
			raw.To[0].Name = tt.in

			for _, m := range []mail.Message{rendered, raw} {
				_, err := o.Send(context.Background(), m)
				require.NoError(t, err)
				data, err := os.ReadFile(o.Path(m.Key))
				require.NoError(t, err)
				header, _, ok := strings.Cut(string(data), "\r\n\r\n")
				require.True(t, ok)
				for _, line := range strings.Split(header, "\r\n") {
					require.LessOrEqual(t, len(line), 76, "%q", line[:min(len(line), 100)])
				}
				msg, err := netmail.ReadMessage(strings.NewReader(string(data)))
				require.NoError(t, err)
				to, err := msg.Header.AddressList("To")
				require.NoError(t, err)
				require.Equal(t, []*netmail.Address{{Name: m.To[0].Name, Address: "ada@customer.example"}}, to)
			}
		})
	}
}
