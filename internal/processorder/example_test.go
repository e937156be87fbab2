package processorder_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/processorder"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// A paid session with three line items (one product bought twice) gives one
// mail with two links; the same message delivered again changes nothing.
func ExampleStage_Handle() {
	stripe := &fakeSessions{SessionFunc: func(_ context.Context, id string) (stripeapi.Session, error) {
		return stripeapi.Session{ID: id, PaymentStatus: stripeapi.PaymentPaid, CustomerEmail: "jane@example.com",
			Items: []stripeapi.LineItem{
				{ID: "li_1", ProductID: "prod_Sunset", ProductName: "Sunset", Quantity: 1, Original: "landscapes/sunset.jpg"},
				{ID: "li_2", ProductID: "prod_Fern", ProductName: "Fern", Quantity: 1},
				{ID: "li_3", ProductID: "prod_Sunset", ProductName: "Sunset", Quantity: 1, Original: "landscapes/sunset.jpg"},
			}}, nil
	}}
	mailQueue := &fakeQueue{}
	ledger := ordertest.NewLedger()
	stage, err := processorder.New(processorder.Deps{Sessions: stripe, Originals: &fakeOriginals{}, Mail: mailQueue, Records: ledger,
		Budget: delivery.BudgetFor(5 * time.Minute), Now: func() time.Time { return t0 }, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}

	msg := order.ProcessJob{Version: order.ProcessJobVersion, EventID: "evt_1", EventType: order.EventCompleted, SessionID: "cs_test_a1B2c3"}
	fmt.Println("handled:", stage.Handle(context.Background(), delivery.Attempt{MessageID: "m-1", DequeueCount: 1}, msg))

	m, _ := order.DecodeMailJob(mailQueue.sent[0])
	fmt.Println(m.Kind, "generation", m.Generation, "to", m.Customer.Email)
	for _, it := range m.Items {
		fmt.Printf("  %s: %s, %s, until %s\n", it.Title, it.FileName, it.Redacted(), it.ExpiresAt.Format(time.DateOnly))
	}
	rec, _ := ledger.Get(context.Background(), "cs_test_a1B2c3")
	fmt.Println("order:", rec.State())

	fmt.Println("redelivered:", stage.Handle(context.Background(), delivery.Attempt{MessageID: "m-1", DequeueCount: 2}, msg), "- mails queued:", len(mailQueue.sent))
	// Output:
	// handled: <nil>
	// download_links generation 1 to jane@example.com
	//   Sunset: sunset.jpg, https://files.example.com/originals/landscapes/sunset.jpg?REDACTED, until 2026-03-31
	//   Fern: prod_Fern.jpg, https://files.example.com/originals/prod_Fern.jpg?REDACTED, until 2026-03-31
	// order: links_ready
	// redelivered: <nil> - mails queued: 1
}
