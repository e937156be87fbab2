package orderevents_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/orderevents"
)

// An order's paid event, queued for one sink, is delivered there and
// recorded on the order; the same job again delivers the same event.
func ExampleStage_Handle() {
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	id := order.NewEventID("cs_test_example", order.TypePaid, "")
	rec := order.Restore(order.Snapshot{SessionID: "cs_test_example", State: order.StateLinksReady, CustomerEmail: "ada@example.com",
		PaidAt: at, Outbox: []order.OutboxEvent{{ID: id, Type: order.TypePaid, At: at, State: order.StateLinksReady}}})
	recs := ordertest.NewLedger(rec)
	sink := orderevents.SinkFunc(func(_ context.Context, e order.Event) error {
		fmt.Println("delivered", e.Type, e.ID == id, e.Customer.Email)
		return nil
	})
	st, _ := orderevents.New(orderevents.Deps{Sinks: map[string]orderevents.Sink{"demo": sink}, Records: recs,
		Budget: delivery.BudgetFor(5 * time.Minute), Log: slog.New(slog.DiscardHandler)})
	job := order.EventJob{Version: order.EventJobVersion, Sink: "demo", Event: rec.EventOf(rec.Outbox()[0])}
	for range 2 {
		if err := st.Handle(ctx, delivery.Attempt{}, job); err != nil {
			fmt.Println(err)
		}
	}
	o, _ := recs.Get(ctx, "cs_test_example")
	fmt.Println(o.Outbox()[0].Sinks[0].Sink, o.Outbox()[0].Sinks[0].Delivered())
	// Output:
	// delivered order.paid true ada@example.com
	// delivered order.paid true ada@example.com
	// demo true
}
