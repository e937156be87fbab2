package processorder_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/processorder"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

var sinks = []string{"dataverse", "webhook:hooks.example/1a2b3c4d"}

// queuedEvents decodes what a Publisher put on the order-events queue:
// each event's type by its id, and how many messages.
func queuedEvents(t *testing.T, q *fakeQueue) (map[string]order.EventType, int) {
	t.Helper()
	ids := map[string]order.EventType{}
	for _, data := range q.sent {
		j, err := order.DecodeEventJob(data)
		require.NoError(t, err)
		ids[j.Event.ID] = j.Event.Type
	}
	return ids, len(q.sent)
}

func typesOf(ids map[string]order.EventType) []order.EventType {
	var out []order.EventType
	for _, t := range ids {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// TestEventsOncePerChange: ProcessOrder's changes of an order produce
// their events once, through redeliveries of its message and of Stripe's
// events, each queued once per sink under one id.
func TestEventsOncePerChange(t *testing.T) {
	refund := paymentMessage(order.EventChargeRefunded, "ch_1")
	tests := []struct {
		name     string
		start    []order.Order
		session  func() (stripeapi.Session, error)
		payments fakePayments
		msgs     []order.ProcessJob
		want     []order.EventType
	}{
		{"a paid order, its message delivered twice", nil, func() (stripeapi.Session, error) { return paidSession(), nil }, fakePayments{},
			[]order.ProcessJob{message(order.EventCompleted), message(order.EventCompleted)},
			[]order.EventType{order.TypeLinksReady, order.TypePaid}},
		{"a failed payment, twice", nil, func() (stripeapi.Session, error) {
			s := paidSession()
			s.PaymentStatus = stripeapi.PaymentUnpaid
			return s, nil
		}, fakePayments{}, []order.ProcessJob{message(order.EventAsyncPaymentFailed), message(order.EventAsyncPaymentFailed)},
			[]order.EventType{order.TypePaymentFailed}},
		{"a full refund, Stripe's event delivered twice", []order.Order{fulfilledOrder()}, nil, fakePayments{ChargeFunc: charge(2000, 2000)},
			[]order.ProcessJob{refund, refund}, []order.EventType{order.TypeAccessRevoked, order.TypeRefunded}},
		{"a dispute opened, Stripe's event delivered twice", []order.Order{fulfilledOrder()}, nil, fakePayments{DisputeFunc: dispute("needs_response")},
			[]order.ProcessJob{paymentMessage(order.EventDisputeCreated, "dp_1"), paymentMessage(order.EventDisputeCreated, "dp_1")},
			[]order.EventType{order.TypeAccessRevoked, order.TypeDisputeOpened}},
		{"a session without email needs attention once", nil, func() (stripeapi.Session, error) {
			s := paidSession()
			s.CustomerEmail = ""
			return s, nil
		}, fakePayments{}, []order.ProcessJob{message(order.EventCompleted), message(order.EventCompleted)},
			[]order.EventType{order.TypeNeedsAttention}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			led := ordertest.NewLedger(tt.start...)
			events := &fakeQueue{}
			h := newHarness(led, false, tt.session)
			pays := tt.payments
			h.rebuild(func(d *processorder.Deps) {
				d.Records = &order.Publisher{Records: led, Queue: events, Sinks: sinks}
				d.Payments = &pays
			})
			for _, m := range tt.msgs {
				err := h.handle(m)
				if !order.IsPermanent(err) {
					require.NoError(t, err)
				}
			}
			ids, n := queuedEvents(t, events)
			require.Equal(t, tt.want, typesOf(ids))
			require.Equal(t, len(tt.want)*len(sinks), n, "each queued once for each sink")
			rec := led.Record(t, sessionID)
			require.Len(t, rec.Outbox(), len(tt.want))
			require.Empty(t, rec.Unpublished(sinks))
		})
	}
}

// TestEventsAfterACrash: when the events of a write cannot be queued (the
// stage dies after its write, or the queue is down), the change is
// written, its events wait in the outbox and are queued later, under the
// ids they were recorded with, never twice under two.
func TestEventsAfterACrash(t *testing.T) {
	led := ordertest.NewLedger()
	events := &fakeQueue{SendFunc: func(context.Context, []byte, time.Duration) error { return errors.New("queue unavailable") }}
	pub := &order.Publisher{Records: led, Queue: events, Sinks: sinks}
	h := newHarness(led, false, func() (stripeapi.Session, error) { return paidSession(), nil })
	h.rebuild(func(d *processorder.Deps) { d.Records = pub })
	require.NoError(t, h.handle(message(order.EventCompleted)))
	rec := led.Record(t, sessionID)
	require.Equal(t, order.StateLinksReady, rec.State(), "the change is written")
	require.Len(t, rec.Unpublished(sinks), 4, "its events wait")

	events.SendFunc = nil
	require.NoError(t, h.handle(message(order.EventCompleted)), "the redelivery is a duplicate: nothing written")
	_, _, err := pub.Publish(context.Background(), led.Record(t, sessionID), t0) // what the Reconcile sweep does
	require.NoError(t, err)
	ids, n := queuedEvents(t, events)
	require.Equal(t, []order.EventType{order.TypeLinksReady, order.TypePaid}, typesOf(ids))
	require.Equal(t, 4, n)
	for id := range ids {
		require.Contains(t, []string{order.NewEventID(sessionID, order.TypePaid, ""), order.NewEventID(sessionID, order.TypeLinksReady, "1")}, id)
	}
}
