package deliveryreport_test

import (
	"context"
	"fmt"
	"time"

	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/deliveryreport"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
)

// A bounced mail: the report names the mail's operation id, the index
// finds its order, and the mail shows not delivered with the server's word.
func Example() {
	ctx := context.Background()
	msg := order.MailJob{Kind: order.MailDownloadLinks, SessionID: "cs_test_example", Generation: 1,
		Customer: order.Customer{Email: "ada@customer.exmaple"}}
	var o order.Order
	o.SessionID = msg.SessionID
	o.RecordSend(msg, order.StatusSent, "", time.Now())
	recs := ordertest.NewLedger(o)
	_ = recs.IndexMail(ctx, msg.Key(), msg.SessionID)

	st, _ := deliveryreport.New(deliveryreport.Deps{Records: recs, Mails: recs})
	data, _ := deliveryreport.Event(deliveryreport.Simulated{OperationID: msg.Key(), Recipient: "ada@customer.exmaple",
		Status: order.MailBounced, Message: "550 5.1.2 domain not found", At: time.Now()})
	r, _ := deliveryreport.Decode(data)
	if err := st.Handle(ctx, delivery.Attempt{}, r); err != nil {
		fmt.Println(err)
	}
	rec, _ := recs.Get(ctx, msg.SessionID)
	m, _ := rec.LastMail()
	fmt.Println(m.Status(), m.Report.Status, m.Report.Message)
	// Output: not_delivered Bounced 550 5.1.2 domain not found
}
