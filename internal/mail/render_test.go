package mail_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/mail"
	"github.com/filedrop/filedrop/internal/order"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	require.Equal(t, string(want), string(got), "%s differs; run go test -update and review the diff", path)
}

var testDate = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

func testRenderer(t *testing.T) *mail.Renderer {
	t.Helper()
	r, err := mail.NewRenderer(mail.Settings{
		Shop:    "Lumen Photo",
		From:    "Lumen Photo <DoNotReply@lumen.example>",
		ReplyTo: "help@lumen.example",
		Bcc:     []string{"copies@lumen.example"},
	})
	require.NoError(t, err)
	return r
}

func downloadMessage() order.MailJob {
	return order.MailJob{
		Version:    order.MailJobVersion,
		Kind:       order.MailDownloadLinks,
		SessionID:  "cs_test_a1B2c3",
		EventID:    "evt_1",
		Generation: 1,
		Customer:   order.Customer{Email: "ada@customer.example", Name: "Ada Lovelace"},
		Items: []order.Item{
			{
				Title:     "Harbour at dawn",
				FileName:  "harbour-dawn.jpg",
				URL:       "https://acct.blob.core.windows.net/originals/harbour-dawn.jpg?se=2025-04-13T09%3A26%3A53Z&sig=abc%2Bdef&sp=r&sr=b&sv=2024-11-04",
				ExpiresAt: time.Date(2025, 4, 13, 9, 26, 53, 0, time.UTC),
			},
			{
				Title:     "Lighthouse",
				FileName:  "lighthouse.tif",
				URL:       "https://acct.blob.core.windows.net/originals/lighthouse.tif?se=2025-04-13T09%3A26%3A53Z&sig=xyz&sp=r&sr=b&sv=2024-11-04",
				ExpiresAt: time.Date(2025, 4, 13, 11, 26, 53, 0, time.FixedZone("CEST", 2*3600)),
			},
		},
		Receipt: testReceipt(),
	}
}

func testReceipt() *order.Receipt {
	return &order.Receipt{
		OrderedAt:   time.Date(2025, 3, 14, 9, 20, 0, 0, time.UTC),
		Currency:    "eur",
		AmountTotal: 123450,
		Lines: []order.ReceiptLine{
			{Description: "Harbour at dawn", Quantity: 1, AmountTotal: 1500},
			{Description: "Lighthouse (large licence)", Quantity: 2, AmountTotal: 121950},
		},
	}
}

func paymentFailedMessage() order.MailJob {
	return order.MailJob{
		Version:    order.MailJobVersion,
		Kind:       order.MailPaymentFailed,
		SessionID:  "cs_test_a1B2c3",
		Generation: 1,
		Customer:   order.Customer{Email: "ada@customer.example"},
		Receipt:    testReceipt(),
	}
}

// TestRenderGolden compares the rendered mails of every language and kind,
// both parts and their RFC 5322 form, with the files in testdata/golden.
func TestRenderGolden(t *testing.T) {
	r := testRenderer(t)
	for _, lang := range mail.Languages() {
		for name, msg := range map[string]order.MailJob{
			"download_links": downloadMessage(),
			"download_page":  pageMessage(),
			"payment_failed": paymentFailedMessage(),
			"order_links":    ordersMessage(),
		} {
			t.Run(lang+"/"+name, func(t *testing.T) {
				msg.Locale = lang
				m, err := r.Render(msg, testDate)
				require.NoError(t, err)
				require.Equal(t, msg.Key(), m.Key)
				base := filepath.Join("golden", lang, name)
				golden(t, base+".txt", []byte("Subject: "+m.Subject+"\n\n"+m.Text))
				golden(t, base+".html", []byte(m.HTML))
				var eml bytes.Buffer
				_, err = m.WriteTo(&eml)
				require.NoError(t, err)
				golden(t, base+".eml", eml.Bytes())
			})
		}
	}
}

func TestRenderContent(t *testing.T) {
	r := testRenderer(t)
	tests := []struct {
		name      string
		msg       func(*order.MailJob)
		inText    []string
		inHTML    []string
		notInHTML []string
		subject   string
	}{
		{
			name:    "download links list every file, link and expiry",
			msg:     func(*order.MailJob) {},
			subject: "Your downloads from Lumen Photo",
			inText: []string{
				"Hello Ada Lovelace,",
				"Harbour at dawn (harbour-dawn.jpg)",
				"sig=abc%2Bdef",
				"This link works until Sunday, 13 April 2025 at 09:26 UTC.",
				"save them",
				"write to help@lumen.example",
				"Order: cs_test_a1B2c3\nDate: 14 March 2025\n\n- Harbour at dawn: €15.00\n- 2\u00a0×\u00a0Lighthouse (large licence): €1,219.50\nTotal paid: €1,234.50\n",
			},
			inHTML: []string{
				`<strong>Harbour at dawn</strong>`,
				`<a href="https://acct.blob.core.windows.net/originals/harbour-dawn.jpg?se=2025-04-13T09%3A26%3A53Z&amp;sig=abc%2Bdef&amp;sp=r&amp;sr=b&amp;sv=2024-11-04" style=`,
				">Download</a>",
				"This link works until Sunday, 13 April 2025 at 09:26 UTC.",
				`<a href="mailto:help@lumen.example" style="color: inherit; text-decoration: underline;">help@lumen.example</a>`,
				"cs_test_a1B2c3", "14 March 2025", "€15.00", "2\u00a0×\u00a0Lighthouse (large licence)", "€1,219.50", "Total paid", "€1,234.50",
			},
		},
		{
			name:      "a script in the name is escaped",
			msg:       func(m *order.MailJob) { m.Customer.Name = "<script>alert(1)</script>" },
			inText:    []string{"Hello <script>alert(1)</script>,"},
			inHTML:    []string{"Hello &lt;script&gt;alert(1)&lt;/script&gt;,"},
			notInHTML: []string{"<script>"},
		},
		{
			name:      "quotes and ampersands are escaped",
			msg:       func(m *order.MailJob) { m.Customer.Name = "O'Brien & Co" },
			inText:    []string{"Hello O'Brien & Co,"},
			inHTML:    []string{"Hello O&#39;Brien &amp; Co,"},
			notInHTML: []string{"O'Brien & Co"},
		},
		{
			name:    "no name greets politely",
			msg:     func(m *order.MailJob) { m.Customer.Name = "  " },
			inText:  []string{"Hello,\n"},
			inHTML:  []string{">Hello,</p>"},
			subject: "Your downloads from Lumen Photo",
		},
		{
			name: "line breaks in a name cannot add lines",
			msg:  func(m *order.MailJob) { m.Customer.Name = "Ada\r\nBcc: evil@example.com" },
			inText: []string{
				"Hello Ada Bcc: evil@example.com,",
			},
		},
		{
			name: "a title with markup and a javascript link are neutralised",
			msg: func(m *order.MailJob) {
				m.Items[0].Title = `<img src=x onerror=alert(1)>`
				m.Items[0].URL = "javascript:alert(1)"
			},
			inHTML:    []string{`<a href="#ZgotmplZ" style=`, `<strong>&lt;img src=x onerror=alert(1)&gt;</strong>`},
			notInHTML: []string{"<img", "javascript:"},
		},
		{
			name:      "payment failed",
			msg:       func(m *order.MailJob) { *m = paymentFailedMessage() },
			subject:   "Your payment to Lumen Photo did not go through",
			inText:    []string{"did not go\nthrough", "Nothing was charged", "try again", "help@lumen.example", "\nTotal: €1,234.50\n"},
			inHTML:    []string{"did not go through", "Nothing was charged", "try again", ">Total</td>"},
			notInHTML: []string{"href=\"https://", "Total paid", "Download"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := downloadMessage()
			tt.msg(&msg)
			m, err := r.Render(msg, testDate)
			require.NoError(t, err)
			if tt.subject != "" {
				require.Equal(t, tt.subject, m.Subject)
			}
			for _, s := range tt.inText {
				require.Contains(t, m.Text, s)
			}
			for _, s := range tt.inHTML {
				require.Contains(t, m.HTML, s)
			}
			for _, s := range tt.notInHTML {
				require.NotContains(t, m.HTML, s)
			}
			require.Equal(t, []mail.Address{{Name: "Lumen Photo", Email: "DoNotReply@lumen.example"}}, []mail.Address{m.From})
			require.Equal(t, []mail.Address{{Email: "help@lumen.example"}}, m.ReplyTo)
			require.Equal(t, []mail.Address{{Email: "copies@lumen.example"}}, m.Bcc)
			require.Len(t, m.To, 1)
			require.NotContains(t, m.To[0].Name, "\n")
			require.NoError(t, m.Validate())
		})
	}
}

func TestRenderErrors(t *testing.T) {
	r := testRenderer(t)
	tests := []struct {
		name string
		msg  func(*order.MailJob)
		want string
	}{
		{"unknown kind", func(m *order.MailJob) { m.Kind = "invoice" }, `unknown mail kind "invoice"`},
		{"bad customer address", func(m *order.MailJob) { m.Customer.Email = "not an address" }, "customer"},
		{"header injection in the address", func(m *order.MailJob) { m.Customer.Email = "a@b.example\r\nBcc: c@d.example" }, "customer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := downloadMessage()
			tt.msg(&msg)
			_, err := r.Render(msg, testDate)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestNewRenderer(t *testing.T) {
	tests := []struct {
		name        string
		settings    mail.Settings
		wantErr     string
		wantSupport string
	}{
		{"support defaults to the reply-to", mail.Settings{From: "a@shop.example", ReplyTo: "Help <help@shop.example>"}, "", "help@shop.example"},
		{"no support address: none named, not the sender", mail.Settings{From: "Shop <DoNotReply@shop.example>"}, "", ""},
		{"support given", mail.Settings{From: "a@shop.example", Support: "s@shop.example"}, "", "s@shop.example"},
		{"no sender", mail.Settings{}, "sender", ""},
		{"bad reply-to", mail.Settings{From: "a@shop.example", ReplyTo: "nope"}, "reply-to", ""},
		{"bad bcc", mail.Settings{From: "a@shop.example", Bcc: []string{"x@y.example", "nope"}}, "bcc", ""},
		{"bad support", mail.Settings{From: "a@shop.example", Support: "@"}, "support", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := mail.NewRenderer(tt.settings)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			m, err := r.Render(paymentFailedMessage(), testDate)
			require.NoError(t, err)
			require.Contains(t, m.Subject, "Our shop")
			if tt.wantSupport == "" {
				require.NotContains(t, m.Text+m.HTML, "write to", "no address to write to is named")
				require.NotContains(t, m.Text+m.HTML, "DoNotReply@")
				for _, msg := range []order.MailJob{downloadMessage(), pageMessage()} {
					d, err := r.Render(msg, testDate)
					require.NoError(t, err)
					require.NotContains(t, d.Text+d.HTML, "write to")
					require.NotContains(t, d.Text+d.HTML, "DoNotReply@")
				}
				return
			}
			require.Contains(t, m.Text, "write to "+tt.wantSupport+".")
		})
	}
}

// pageMessage is the download mail of DOWNLOAD_LINKS=page: its items carry
// no link; the mail links to the order page.
func pageMessage() order.MailJob {
	m := downloadMessage()
	for i := range m.Items {
		m.Items[i].URL, m.Items[i].ExpiresAt = "", time.Time{}
	}
	m.OrderURL = "https://shop.example/api/download/cs_test_a1B2c3.q2Zk1c3VpbmdhdGVzdHRva2Vu"
	return m
}

func ordersMessage() order.MailJob {
	return order.MailJob{
		Version:    order.MailJobVersion,
		Kind:       order.MailOrderLinks,
		SessionID:  "cs_test_new",
		Generation: 2,
		Customer:   order.Customer{Email: "ada@customer.example", Name: "Ada Lovelace"},
		Orders: []order.OrderLink{
			{SessionID: "cs_test_new", OrderedAt: time.Date(2025, 3, 14, 9, 20, 0, 0, time.UTC), Items: []string{"Harbour at dawn", "Lighthouse"},
				URL: "https://shop.example/api/download/cs_test_new.q2Zk1c3VpbmdhdGVzdHRva2Vu"},
			{SessionID: "cs_test_old", OrderedAt: time.Date(2025, 2, 1, 18, 0, 0, 0, time.UTC), Items: []string{"Fern"}, More: 3,
				URL: "https://shop.example/api/download/cs_test_old.b2xkZXJ0b2tlbmZvcnRlc3Rz"},
		},
	}
}

// TestRenderOrderLinks checks the mail that lists a customer's orders:
// each with its date, its files and its own link.
func TestRenderOrderLinks(t *testing.T) {
	msg := ordersMessage()
	m, err := testRenderer(t).Render(msg, testDate)
	require.NoError(t, err)
	require.Equal(t, msg.Key(), m.Key)
	require.Equal(t, "Your orders from Lumen Photo", m.Subject)
	require.Equal(t, []mail.Address{{Name: "Ada Lovelace", Email: "ada@customer.example"}}, m.To)
	for _, o := range msg.Orders {
		require.Contains(t, m.Text, "\n"+o.URL+"\n", "each order's link on a line of its own")
		require.Contains(t, m.HTML, `<a href="`+o.URL+`"`, "a button per order")
	}
	require.Contains(t, m.Text, "Order of 14 March 2025\n- Harbour at dawn\n- Lighthouse\n")
	require.Contains(t, m.Text, "Order of 1 February 2025\n- Fern\n- and 3 more\n")
	require.Equal(t, 2, strings.Count(m.HTML, "Open this order"))
}

func TestRenderPageMode(t *testing.T) {
	m, err := testRenderer(t).Render(pageMessage(), testDate)
	require.NoError(t, err)
	const link = "https://shop.example/api/download/cs_test_a1B2c3.q2Zk1c3VpbmdhdGVzdHRva2Vu"
	require.Contains(t, m.Text, "\n"+link+"\n", "the text part has the URL on a line of its own")
	require.Contains(t, m.HTML, `<a href="`+link+`"`, "the HTML part has a button")
	require.Contains(t, m.HTML, "Go to your downloads")
	require.NotContains(t, m.Text, "This link works until")
	require.Contains(t, m.Text, "Harbour at dawn (harbour-dawn.jpg)")
}

// TestRenderCustomerName checks that a name never stops a mail: it is
// cleaned, shown beside the address only when short, greeted with up to
// order.MaxCustomerName characters, and dropped when longer.
func TestRenderCustomerName(t *testing.T) {
	r := testRenderer(t)
	tests := []struct {
		name      string
		in        string
		wantTo    string // the display name beside the address
		wantGreet string // the name in the greeting, "" for "Hello,"
	}{
		{"short", "Ada Lovelace", "Ada Lovelace", "Ada Lovelace"},
		{"at the display cap", strings.Repeat("Ü", mail.MaxDisplayName), strings.Repeat("Ü", mail.MaxDisplayName), strings.Repeat("Ü", mail.MaxDisplayName)},
		{"over the display cap: greeted only", strings.Repeat("Ü", mail.MaxDisplayName+1), "", strings.Repeat("Ü", mail.MaxDisplayName+1)},
		{"at the greeting cap: greeted only", strings.Repeat("x", order.MaxCustomerName), "", strings.Repeat("x", order.MaxCustomerName)},
		{"400 bytes: dropped", strings.Repeat("x", 400), "", ""},
		{"5,000 × Ü: dropped", strings.Repeat("Ü", 5000), "", ""},
		{"100,000 characters: dropped", strings.Repeat("a", 100_000), "", ""},
		{"RTL: the override is removed", "\u202Eדוד כהן\u202C", "דוד כהן", "דוד כהן"},
		{"NUL and controls are removed", "Ada\x00 Love\x1blace\x7f", "Ada Lovelace", "Ada Lovelace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := downloadMessage()
			msg.Customer.Name = tt.in
			m, err := r.Render(msg, testDate)
			require.NoError(t, err)
			require.Equal(t, []mail.Address{{Name: tt.wantTo, Email: "ada@customer.example"}}, m.To)
			greeting := "Hello,"
			if tt.wantGreet != "" {
				greeting = "Hello " + tt.wantGreet + ","
			}
			require.True(t, strings.HasPrefix(m.Text, greeting+"\n"), "text starts %q", m.Text[:min(len(m.Text), 80)])
			require.Contains(t, m.HTML, ">"+greeting+"</p>")

			var eml bytes.Buffer
			_, err = m.WriteTo(&eml)
			require.NoError(t, err)
			requireFoldedHeader(t, eml.String())
		})
	}
}

func TestRenderStyle(t *testing.T) {
	tests := []struct {
		name     string
		settings mail.Settings
		wantErr  string
		wantFrom mail.Address
		inHTML   []string
	}{
		{name: "the shop names a sender that has no name",
			settings: mail.Settings{Shop: "Lumen Photo", From: "DoNotReply@lumen.example"},
			wantFrom: mail.Address{Name: "Lumen Photo", Email: "DoNotReply@lumen.example"},
			inHTML:   []string{`bgcolor="#1a56db"`, "color: #ffffff;", ">Lumen Photo</td>"}},
		{name: "the sender's own name wins",
			settings: mail.Settings{Shop: "Lumen Photo", From: "Lumen Deliveries <DoNotReply@lumen.example>"},
			wantFrom: mail.Address{Name: "Lumen Deliveries", Email: "DoNotReply@lumen.example"}},
		{name: "logo and a light accent",
			settings: mail.Settings{Shop: "Lumen & Co", From: "a@lumen.example", LogoURL: "https://cdn.lumen.example/logo.png?v=2", Accent: "#FDE047"},
			wantFrom: mail.Address{Name: "Lumen & Co", Email: "a@lumen.example"},
			inHTML: []string{`<img src="https://cdn.lumen.example/logo.png?v=2" alt="Lumen &amp; Co"`,
				`bgcolor="#fde047"`, "background-color: #fde047;", "color: #111111;"}},
		{name: "logo over http", settings: mail.Settings{From: "a@lumen.example", LogoURL: "http://lumen.example/logo.png"}, wantErr: "not an https URL"},
		{name: "logo with a quote", settings: mail.Settings{From: "a@lumen.example", LogoURL: `https://lumen.example/"onerror="x.png`}, wantErr: "not an https URL"},
		{name: "accent by name", settings: mail.Settings{From: "a@lumen.example", Accent: "red"}, wantErr: "not #rrggbb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := mail.NewRenderer(tt.settings)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			m, err := r.Render(downloadMessage(), testDate)
			require.NoError(t, err)
			require.Equal(t, tt.wantFrom, m.From)
			for _, s := range tt.inHTML {
				require.Contains(t, m.HTML, s)
			}
		})
	}
}

// TestRenderLanguage checks the Checkout locale picks the mail's language,
// and that a message without a receipt (queued before it existed) still
// renders.
func TestRenderLanguage(t *testing.T) {
	r := testRenderer(t)
	tests := []struct{ locale, subject, inText string }{
		{"", "Your downloads from Lumen Photo", "Hello Ada Lovelace,"},
		{"auto", "Your downloads from Lumen Photo", "Total paid: €1,234.50"},
		{"pt-BR", "Your downloads from Lumen Photo", "Download: https://"},
		{"de-AT", "Ihre Downloads von Lumen Photo", "Bezahlt: 1.234,50\u00a0€"},
		{"fr-CA", "Vos téléchargements de Lumen Photo", "Total payé\u00a0: 1\u202f234,50\u00a0€"},
		{"es-419", "Tus descargas de Lumen Photo", "Hola, Ada Lovelace:"},
	}
	for _, tt := range tests {
		t.Run(tt.locale, func(t *testing.T) {
			msg := downloadMessage()
			msg.Locale = tt.locale
			m, err := r.Render(msg, testDate)
			require.NoError(t, err)
			require.Equal(t, tt.subject, m.Subject)
			require.Contains(t, m.Text, tt.inText)
			require.Contains(t, m.HTML, `<html lang="`+mail.Language(tt.locale)+`">`)

			msg.Receipt = nil
			m, err = r.Render(msg, testDate)
			require.NoError(t, err)
			require.Contains(t, m.Text, "cs_test_a1B2c3", "the reference is there without a receipt")
			require.NotContains(t, m.Text, "€", "no amount without a receipt")
		})
	}
}
