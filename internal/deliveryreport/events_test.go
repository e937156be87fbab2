package deliveryreport_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/deliveryreport"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
)

// TestEventsOncePerReport: a report changes the mail's verdict once, one
// event; the same report again, or an older attempt's, changes nothing.
func TestEventsOncePerReport(t *testing.T) {
	ctx := context.Background()
	msg := order.MailJob{Kind: order.MailDownloadLinks, SessionID: "cs_test_events", Generation: 1, Customer: order.Customer{Email: "ada@customer.example"}}
	var o order.Order
	o.SessionID = msg.SessionID
	o.RecordSend(msg, order.StatusSent, "", time.Now())
	led := ordertest.NewLedger(o)
	require.NoError(t, led.IndexMail(ctx, msg.Key(), msg.SessionID))
	q := &ordertest.EventQueue{}
	st, err := deliveryreport.New(deliveryreport.Deps{Records: &order.Publisher{Records: led, Queue: q, Sinks: []string{"dataverse"}}, Mails: led})
	require.NoError(t, err)
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	report := func(status order.DeliveryStatus, at time.Time) order.DeliveryReport {
		data, err := deliveryreport.Event(deliveryreport.Simulated{OperationID: msg.Key(), Recipient: "ada@customer.example", Status: status, At: at})
		require.NoError(t, err)
		r, err := deliveryreport.Decode(data)
		require.NoError(t, err)
		return r
	}
	bounced := report(order.MailBounced, at)
	for _, r := range []order.DeliveryReport{bounced, bounced, report(order.MailBounced, at.Add(-time.Minute))} {
		require.NoError(t, st.Handle(ctx, delivery.Attempt{}, r))
	}
	require.Len(t, q.Jobs(), 1)
	require.Equal(t, order.TypeMailNotDelivered, q.Jobs()[0].Event.Type)
	require.Equal(t, &order.EventMail{Kind: order.MailDownloadLinks, Generation: 1, Status: "Bounced"}, q.Jobs()[0].Event.Mail)
	require.NoError(t, st.Handle(ctx, delivery.Attempt{}, report(order.MailDelivered, at.Add(time.Minute))))
	require.Len(t, q.Jobs(), 2)
	require.Equal(t, order.TypeMailDelivered, q.Jobs()[1].Event.Type)
}
