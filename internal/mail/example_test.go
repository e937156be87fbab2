package mail_test

import (
	"fmt"
	"time"

	"github.com/filedrop/filedrop/internal/mail"
	"github.com/filedrop/filedrop/internal/order"
)

// The renderer turns the message ProcessOrder queued into the mail the
// customer gets; every transport sends it under its Key.
func ExampleRenderer_Render() {
	r, err := mail.NewRenderer(mail.Settings{
		Shop:    "Lumen Photo",
		From:    "Lumen Photo <DoNotReply@lumen.example>",
		ReplyTo: "help@lumen.example",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := r.Render(order.MailJob{
		Version:    order.MailJobVersion,
		Kind:       order.MailDownloadLinks,
		SessionID:  "cs_test_a1B2c3",
		Generation: 1,
		Customer:   order.Customer{Email: "ada@customer.example", Name: "Ada"},
		Items: []order.Item{{
			Title:     "Harbour at dawn",
			FileName:  "harbour-dawn.jpg",
			URL:       "https://acct.blob.core.windows.net/originals/harbour-dawn.jpg?sig=REDACTED",
			ExpiresAt: time.Date(2025, 4, 13, 9, 30, 0, 0, time.UTC),
		}},
		Receipt: &order.Receipt{
			OrderedAt: time.Date(2025, 3, 14, 9, 29, 0, 0, time.UTC), Currency: "eur", AmountTotal: 1500,
			Lines: []order.ReceiptLine{{Description: "Harbour at dawn", Quantity: 1, AmountTotal: 1500}},
		},
	}, time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("Key:", m.Key)
	fmt.Println("To:", m.To[0])
	fmt.Println("Subject:", m.Subject)
	fmt.Println()
	fmt.Print(m.Text)
	// Output:
	// Key: 84a7d566-a1a6-517f-8dbc-76ba50576251
	// To: "Ada" <ada@customer.example>
	// Subject: Your downloads from Lumen Photo
	//
	// Hello Ada,
	//
	// Thank you for your order from Lumen Photo. Your files are ready to
	// download.
	//
	// Order: cs_test_a1B2c3
	// Date: 14 March 2025
	//
	// - Harbour at dawn: €15.00
	// Total paid: €15.00
	//
	// Harbour at dawn (harbour-dawn.jpg)
	// Download: https://acct.blob.core.windows.net/originals/harbour-dawn.jpg?sig=REDACTED
	// This link works until Sunday, 13 April 2025 at 09:30 UTC.
	//
	// Please download your files and save them somewhere safe, such as your
	// computer or a backup: the links stop working when they expire.
	//
	// If a link does not work, or you need help, write to help@lumen.example.
	//
	// Kind regards,
	// Lumen Photo
}
