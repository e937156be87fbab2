package mail_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/filedrop/filedrop/internal/mail"
	"github.com/filedrop/filedrop/internal/order"
)

// BenchmarkRender renders a download mail with five links, both parts.
func BenchmarkRender(b *testing.B) {
	r, err := mail.NewRenderer(mail.Settings{
		Shop:    "Lumen Photo",
		From:    "Lumen Photo <DoNotReply@lumen.example>",
		ReplyTo: "help@lumen.example",
		Bcc:     []string{"copies@lumen.example"},
	})
	if err != nil {
		b.Fatal(err)
	}
	msg := order.MailJob{Version: order.MailJobVersion, Kind: order.MailDownloadLinks,
		SessionID: "cs_test_a1kQ9Zf3Lx8TtYp2Rr7WmN4vBc6Hd0Jg5Ks1Ue8Xo3Ai9Ey2Mb", EventID: "evt_1",
		Generation: 1, Customer: order.Customer{Email: "ada@customer.example", Name: "Ada Lovelace"}}
	for i := range 5 {
		name := fmt.Sprintf("harbour-%02d.jpg", i+1)
		msg.Items = append(msg.Items, order.Item{Title: fmt.Sprintf("Harbour at dawn, plate %d", i+1), FileName: name,
			URL:       "https://lumenphoto.blob.core.windows.net/originals/" + name + "?se=2025-04-13T09%3A26%3A53Z&sig=q9Vb3mKx7T2pL0wZr8sYc4nH6dJf1uEa5gXoI%2BkR3tM%3D&sp=r&spr=https&sr=b&sv=2025-01-05",
			ExpiresAt: time.Date(2025, 4, 13, 9, 26, 53, 0, time.UTC)})
	}
	date := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		m, err := r.Render(msg, date)
		if err != nil {
			b.Fatal(err)
		}
		if len(m.HTML) == 0 {
			b.Fatal("empty HTML part")
		}
	}
}
