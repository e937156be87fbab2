package sendlink_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/mail"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/sendlink"
)

// A SendLink delivery sends the mail once and records it; a redelivery of
// the same message finds it sent and does nothing.
func ExampleStage_Handle() {
	render, err := mail.NewRenderer(mail.Settings{Shop: "Lumen Photo", From: "DoNotReply@lumen.example"})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The ledger record ProcessOrder left behind (in memory here).
	recs := ordertest.NewLedger(order.Restore(order.Snapshot{
		SessionID:      "cs_test_a1B2c3",
		State:          order.StateLinksReady,
		MailKind:       order.MailDownloadLinks,
		MailGeneration: 1,
	}))
	// A transport: acs.Client, smtpmail.Sender or outbox.Outbox in the program.
	send := sendlink.SenderFunc(func(_ context.Context, m mail.Message) (mail.Receipt, error) {
		fmt.Printf("send %q to %s under key %s\n", m.Subject, m.To[0].Email, m.Key)
		return mail.Receipt{OperationID: m.Key, Status: mail.Sent}, nil
	})
	clock := func() time.Time { return time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC) }
	stage, err := sendlink.New(sendlink.Deps{Sender: send, Records: recs, Renderer: render, Budget: delivery.BudgetFor(5 * time.Minute),
		Now: clock, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}

	msg := order.MailJob{
		Version:    order.MailJobVersion,
		Kind:       order.MailDownloadLinks,
		SessionID:  "cs_test_a1B2c3",
		Generation: 1,
		Customer:   order.Customer{Email: "ada@customer.example"},
		Items: []order.Item{{
			Title:     "Harbour at dawn",
			FileName:  "harbour-dawn.jpg",
			URL:       "https://acct.blob.core.windows.net/originals/harbour-dawn.jpg?sig=...",
			ExpiresAt: clock().Add(30 * 24 * time.Hour),
		}},
	}
	fmt.Println("first delivery:", stage.Handle(context.Background(), delivery.Attempt{MessageID: "m-1", DequeueCount: 1}, msg))
	fmt.Println("redelivery:", stage.Handle(context.Background(), delivery.Attempt{MessageID: "m-1", DequeueCount: 2}, msg))
	rec, _ := recs.Get(context.Background(), msg.SessionID)
	fmt.Println("state:", rec.State(), "sent generation:", rec.SentGeneration())
	// Output:
	// send "Your downloads from Lumen Photo" to ada@customer.example under key 84a7d566-a1a6-517f-8dbc-76ba50576251
	// first delivery: <nil>
	// redelivery: <nil>
	// state: mail_sent sent generation: 1
}
