package order_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

const evSession = "cs_test_events"

// idTime is how an event id names a time: to the millisecond.
const idTime = "2006-01-02T15:04:05.000Z"

var evT0 = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

// mailJob is the download mail (or notice) of generation gen with a receipt
// of 2000 cents.
func evMail(kind string, gen int) order.MailJob {
	return order.MailJob{Version: order.MailJobVersion, Kind: kind, SessionID: evSession, Generation: gen,
		Customer: order.Customer{Email: "ada@example.com", Name: "Ada Lovelace"}, Locale: "fr-CA",
		Receipt: &order.Receipt{OrderedAt: evT0, Currency: "eur", AmountTotal: 2000,
			Lines: []order.ReceiptLine{{Description: "Night sky", Quantity: 1, AmountTotal: 1500}, {Description: "Presets", Quantity: 2, AmountTotal: 500}}}}
}

func mailData(t *testing.T, m order.MailJob) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

// received is an order ProcessOrder has claimed.
func evReceived() order.Order {
	return order.Restore(order.Snapshot{SessionID: evSession, State: order.StateReceived, CustomerEmail: "ada@example.com", CreatedAt: evT0})
}

// paidOrder is an order whose first download mail was accepted, with its files.
func paidOrder(t *testing.T) order.Order {
	o := evReceived()
	queueLinks(t, &o, 1, evT0)
	m := evMail(order.MailDownloadLinks, 1)
	o.StartMail(m, evT0)
	o.RecordSend(m, order.StatusAccepted, "", evT0)
	o.MailSent(m, m.Key(), evT0)
	o.RecordFiles([]order.File{{Title: "Night sky", Blob: "night.jpg", FileName: "night.jpg", Size: 1}})
	return o
}

func queueLinks(t *testing.T, o *order.Order, gen int, at time.Time) {
	o.MailKind = order.MailDownloadLinks
	o.MailQueued(gen, "evt_links", mailData(t, evMail(order.MailDownloadLinks, gen)))
	o.LinksReady(gen, at)
}

// change is an event's type and what names its change.
type change struct {
	typ  order.EventType
	name string
}

func evReport(op string, status order.DeliveryStatus, id string, at time.Time) order.DeliveryReport {
	return order.DeliveryReport{EventID: id, EventType: order.EventEmailDeliveryReport, OperationID: op, Status: status, AttemptedAt: at}
}

// TestChanges: each kind of change produces its event once, with an id
// that names the change; the same change again (a redelivered Stripe
// event or message, a retried step on a fresh read) produces nothing.
func TestChanges(t *testing.T) {
	t1 := evT0.Add(time.Hour)
	key1 := evMail(order.MailDownloadLinks, 1).Key()
	notice := evMail(order.MailPaymentFailed, 1)
	tests := []struct {
		name   string
		before func(t *testing.T) order.Order
		change func(t *testing.T, o *order.Order)
		want   []change
	}{
		{"paid: the links of the first fulfilment", func(*testing.T) order.Order { return evReceived() },
			func(t *testing.T, o *order.Order) { queueLinks(t, o, 1, t1) },
			[]change{{order.TypePaid, ""}, {order.TypeLinksReady, "1"}}},
		{"fresh links: a new generation, no second payment", paidOrder,
			func(t *testing.T, o *order.Order) { queueLinks(t, o, 2, t1) },
			[]change{{order.TypeLinksReady, "2"}}},
		{"the same generation queued again (reconcile): nothing", paidOrder,
			func(t *testing.T, o *order.Order) { queueLinks(t, o, 1, t1) }, nil},
		{"an operator's resend is a new download mail", paidOrder,
			func(t *testing.T, o *order.Order) {
				m := evMail(order.MailDownloadLinks, 2)
				o.Resend(m, mailData(t, m))
			},
			[]change{{order.TypeLinksReady, "2"}}},
		{"mail accepted", func(t *testing.T) order.Order {
			o := evReceived()
			queueLinks(t, &o, 1, evT0)
			o.StartMail(evMail(order.MailDownloadLinks, 1), evT0)
			return o
		}, func(_ *testing.T, o *order.Order) {
			m := evMail(order.MailDownloadLinks, 1)
			o.RecordSend(m, order.StatusAccepted, "", t1)
			o.MailSent(m, m.Key(), t1)
		}, []change{{order.TypeMailAccepted, key1}}},
		{"accepted, then sent: the same mail", paidOrder, func(_ *testing.T, o *order.Order) {
			o.RecordSend(evMail(order.MailDownloadLinks, 1), order.StatusSent, "", t1)
		}, nil},
		{"sent by SendLink before ProcessOrder recorded it queued", func(*testing.T) order.Order { return evReceived() },
			func(t *testing.T, o *order.Order) {
				m := evMail(order.MailDownloadLinks, 1)
				o.RecordSend(m, order.StatusSent, "", t1)
				o.MailSent(m, m.Key(), t1)
			}, []change{{order.TypeLinksReady, "1"}, {order.TypeMailAccepted, key1}}},
		{"a Lost your link? mail is no change of the order", paidOrder, func(_ *testing.T, o *order.Order) {
			m := order.MailJob{Version: order.MailJobVersion, Kind: order.MailOrderLinks, SessionID: evSession, Generation: 1,
				Customer: order.Customer{Email: "ada@example.com"}}
			o.RecordSend(m, order.StatusAccepted, "", t1)
		}, nil},
		{"delivered", paidOrder, func(_ *testing.T, o *order.Order) {
			_, err := o.RecordDelivery(evReport(key1, order.MailDelivered, "eg-1", t1))
			require.NoError(t, err)
		}, []change{{order.TypeMailDelivered, key1 + "/Delivered/eg-1"}}},
		{"bounced after a report that it was delivered", func(t *testing.T) order.Order {
			o := paidOrder(t)
			_, err := o.RecordDelivery(evReport(key1, order.MailDelivered, "eg-1", t1))
			require.NoError(t, err)
			return o
		}, func(_ *testing.T, o *order.Order) {
			_, err := o.RecordDelivery(evReport(key1, order.MailBounced, "eg-2", t1.Add(time.Minute)))
			require.NoError(t, err)
		}, []change{{order.TypeMailNotDelivered, key1 + "/Bounced/eg-2"}}},
		{"a later report of the same verdict: nothing", func(t *testing.T) order.Order {
			o := paidOrder(t)
			_, err := o.RecordDelivery(evReport(key1, order.MailBounced, "eg-1", t1))
			require.NoError(t, err)
			return o
		}, func(_ *testing.T, o *order.Order) {
			_, err := o.RecordDelivery(evReport(key1, order.MailBounced, "eg-2", t1.Add(time.Minute)))
			require.NoError(t, err)
		}, nil},
		{"payment failed, and its notice accepted", func(*testing.T) order.Order { return evReceived() },
			func(t *testing.T, o *order.Order) {
				o.MailKind = order.MailPaymentFailed
				o.MailQueued(1, "evt_f", mailData(t, notice))
				o.PaymentFailed(t1)
				o.StartMail(notice, t1)
				o.RecordSend(notice, order.StatusAccepted, "", t1)
				o.MailSent(notice, notice.Key(), t1)
			}, []change{{order.TypeMailAccepted, notice.Key()}, {order.TypePaymentFailed, ""}}},
		{"a partial refund", paidOrder, func(_ *testing.T, o *order.Order) {
			_, err := o.ApplyRefund("evt_r1", "ch_1", 500, 2000, t1)
			require.NoError(t, err)
		}, []change{{order.TypeRefunded, "500"}}},
		{"refunded in full: the refund closes access", func(t *testing.T) order.Order {
			o := paidOrder(t)
			_, err := o.ApplyRefund("evt_r1", "ch_1", 500, 2000, t1)
			require.NoError(t, err)
			return o
		}, func(_ *testing.T, o *order.Order) {
			_, err := o.ApplyRefund("evt_r2", "ch_1", 2000, 2000, t1)
			require.NoError(t, err)
		}, []change{{order.TypeRefunded, "2000"}, {order.TypeAccessRevoked, "refund/ch_1/" + t1.Format(idTime)}}},
		{"a dispute opens and suspends access", paidOrder, func(_ *testing.T, o *order.Order) {
			o.ApplyDispute("evt_d1", order.Dispute{ID: "dp_1", Status: "needs_response"}, t1)
		}, []change{{order.TypeDisputeOpened, "dp_1"}, {order.TypeAccessRevoked, "dispute/dp_1/" + t1.Format(idTime)}}},
		{"a dispute moves on while open: nothing", disputedOrder, func(_ *testing.T, o *order.Order) {
			o.ApplyDispute("evt_d2", order.Dispute{ID: "dp_1", Status: "under_review"}, t1)
		}, nil},
		{"a dispute won: closed, access restored", disputedOrder, func(_ *testing.T, o *order.Order) {
			o.ApplyDispute("evt_d3", order.Dispute{ID: "dp_1", Status: order.DisputeWon}, t1)
		}, []change{{order.TypeDisputeClosed, "dp_1/won"}, {order.TypeAccessRestored, "dispute/dp_1/" + evT0.Format(idTime)}}},
		{"a dispute lost: closed, access stays closed by the loss", disputedOrder, func(_ *testing.T, o *order.Order) {
			o.ApplyDispute("evt_d3", order.Dispute{ID: "dp_1", Status: order.DisputeLost}, t1)
		}, []change{{order.TypeDisputeClosed, "dp_1/lost"}, {order.TypeAccessRevoked, "dispute_lost/dp_1/" + t1.Format(idTime)}}},
		{"an operator revokes", paidOrder, func(_ *testing.T, o *order.Order) { o.Revoke("chargeback feared", t1) },
			[]change{{order.TypeAccessRevoked, "operator//" + t1.Format(idTime)}}},
		{"an operator grants: access restored by the operator", func(t *testing.T) order.Order {
			o := paidOrder(t)
			o.Revoke("by mistake", evT0)
			return o
		}, func(t *testing.T, o *order.Order) {
			_, err := o.Grant(0, false, t1, 24*time.Hour)
			require.NoError(t, err)
		}, []change{{order.TypeAccessRestored, "operator//" + evT0.Format(idTime)}}},
		{"needs attention", func(*testing.T) order.Order { return evReceived() },
			func(_ *testing.T, o *order.Order) { o.NeedAttention("original missing", t1) },
			[]change{{order.TypeNeedsAttention, "1"}}},
		{"needs attention again while it does: nothing", func(*testing.T) order.Order {
			o := evReceived()
			o.NeedAttention("original missing", evT0)
			return o
		}, func(_ *testing.T, o *order.Order) { o.NeedAttention("still missing", t1) }, nil},
		{"needs attention a second time, after a spent budget healed", func(*testing.T) order.Order {
			o := evReceived()
			o.GiveUp("gave up", evT0)
			o.Resume(order.StateAwaitingPayment)
			return o
		}, func(_ *testing.T, o *order.Order) { o.NeedAttention("refunded", t1) },
			[]change{{order.TypeNeedsAttention, "2"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.before(t)
			after := before
			tc.change(t, &after)
			require.Equal(t, typesOf(tc.want), changesOf(order.Changes(before, after, t1)))
			for _, e := range order.Changes(before, after, t1) {
				require.Equal(t, order.NewEventID(evSession, e.Type, wantName(tc.want, e.Type)), e.ID)
				require.Equal(t, after.State(), e.State)
				require.False(t, e.At.IsZero())
				require.NoError(t, after.EventOf(e).Validate(), "every event is a valid event")
			}
			again := after
			tc.change(t, &again)
			require.Empty(t, order.Changes(after, again, t1.Add(time.Minute)), "the same change again produces nothing")
		})
	}
}

func disputedOrder(t *testing.T) order.Order {
	o := paidOrder(t)
	o.ApplyDispute("evt_d1", order.Dispute{ID: "dp_1", Status: "needs_response"}, evT0)
	return o
}

func changesOf(events []order.OutboxEvent) []order.EventType {
	var out []order.EventType
	for _, e := range events {
		out = append(out, e.Type)
	}
	return out
}

func typesOf(want []change) []order.EventType {
	var out []order.EventType
	for _, c := range want {
		out = append(out, c.typ)
	}
	return out
}

func wantName(want []change, typ order.EventType) string {
	for _, c := range want {
		if c.typ == typ {
			return c.name
		}
	}
	return "?"
}

func TestChangesCarryTheirParts(t *testing.T) {
	o := paidOrder(t)
	after := o
	_, err := after.ApplyRefund("evt_r", "ch_1", 2000, 2000, evT0)
	require.NoError(t, err)
	after.Revoke("fraud", evT0)
	events := order.Changes(o, after, evT0)
	require.Len(t, events, 3)
	require.Equal(t, &order.EventRefund{AmountRefunded: 2000, Full: true}, events[0].Refund)
	require.Equal(t, &order.EventAccess{By: "refund"}, events[1].Access, "only an operator's hold says why")
	require.Equal(t, &order.EventAccess{By: "operator", Reason: "fraud"}, events[2].Access)

	ev := after.EventOf(events[0])
	require.Equal(t, order.EventOrder{SessionID: evSession, State: order.StateMailSent, AmountTotal: 2000, Currency: "eur",
		Items: []order.EventItem{{Title: "Night sky", Quantity: 1}, {Title: "Presets", Quantity: 2}}, PaidAt: evT0}, ev.Order)
	require.Equal(t, order.EventCustomer{Email: "ada@example.com", Name: "Ada Lovelace", Language: "fr-CA"}, ev.Customer)
	_, err = order.EncodeEvent(ev)
	require.NoError(t, err)
}

func TestEventOfCleansWhatItCannotSend(t *testing.T) {
	m := evMail(order.MailDownloadLinks, 1)
	m.Locale, m.Customer.Name = "auto", "Ada\u202e Lovelace"
	m.Receipt.Currency = "EURO"
	o := order.Restore(order.Snapshot{SessionID: evSession, CustomerEmail: "not an address", Mail: mailData(t, m),
		Files: []order.File{{Title: "x"}}})
	e := order.OutboxEvent{ID: order.NewEventID(evSession, order.TypePaid, ""), Type: order.TypePaid, At: evT0}
	ev := o.EventOf(e)
	require.NoError(t, ev.Validate())
	require.Equal(t, order.StateReceived, ev.Order.State)
	require.Empty(t, ev.Customer.Language, "auto is no language")
	require.Equal(t, "Ada Lovelace", ev.Customer.Name)
	require.Equal(t, "ada@example.com", ev.Customer.Email, "the mail's address when the record's is none")
	require.Zero(t, ev.Order.AmountTotal, "no amount without a currency")
}

func TestEventJob(t *testing.T) {
	o := paidOrder(t)
	e := order.Changes(evReceived(), o, evT0)[0]
	job := order.EventJob{Version: order.EventJobVersion, Sink: "webhook:hooks.example/1a2b3c4d", Event: o.EventOf(e)}
	data, err := order.EncodeEventJob(job)
	require.NoError(t, err)
	got, err := order.DecodeEventJob(data)
	require.NoError(t, err)
	require.Equal(t, job, got)

	for name, edit := range map[string]func(j *order.EventJob){
		"no sink":             func(j *order.EventJob) { j.Sink = "" },
		"a sink with a space": func(j *order.EventJob) { j.Sink = "web hook" },
		"another version":     func(j *order.EventJob) { j.Version = 2 },
		"an invalid event":    func(j *order.EventJob) { j.Event.ID = "evt_1" },
	} {
		bad := job
		edit(&bad)
		_, err := order.EncodeEventJob(bad)
		require.True(t, order.IsPermanent(err), "%s: %v", name, err)
		raw, _ := json.Marshal(bad)
		_, err = order.DecodeEventJob(raw)
		require.True(t, order.IsPermanent(err), "%s: %v", name, err)
	}
	_, err = order.DecodeEventJob([]byte(`{`))
	require.True(t, order.IsPermanent(err))
}

// TestOutboxDeliveries: what became of each event at each sink, and what
// waits to be queued.
func TestOutboxDeliveries(t *testing.T) {
	sinks := []string{"webhook:a/1", "dataverse"}
	o := order.Restore(order.Snapshot{SessionID: evSession, State: order.StateMailSent, Outbox: []order.OutboxEvent{
		{ID: "oevt_1", Type: order.TypePaid, At: evT0},
		{ID: "oevt_2", Type: order.TypeLinksReady, At: evT0.Add(time.Second)},
	}})
	require.Len(t, o.Unpublished(sinks), 4, "never queued: for every sink")
	require.Equal(t, evT0, o.EventsPendingSince())
	u, f := o.EventsUndelivered()
	require.Equal(t, [2]int{2, 0}, [2]int{u, f})

	o = order.QueueForTest(o, sinks, evT0)
	require.Empty(t, o.Unpublished(sinks))
	require.True(t, o.EventsPendingSince().IsZero())

	require.True(t, o.EventDelivered("oevt_1", "webhook:a/1", evT0))
	require.False(t, o.EventDelivered("oevt_1", "webhook:a/1", evT0), "once")
	require.True(t, o.EventDelivered("oevt_1", "dataverse", evT0))
	require.True(t, o.EventFailed("oevt_2", "dataverse", errors.New("dataverse: 503\nService Unavailable"), false, evT0))
	require.True(t, o.EventFailed("oevt_2", "dataverse", errors.New("dataverse: 400"), true, evT0))
	require.False(t, o.EventFailed("oevt_1", "dataverse", errors.New("late"), false, evT0), "a delivered event stays delivered")
	require.False(t, o.EventDelivered("oevt_9", "dataverse", evT0), "an event the outbox does not hold")
	u, f = o.EventsUndelivered()
	require.Equal(t, [2]int{1, 1}, [2]int{u, f})
	d := o.Outbox()[1].Sinks[1]
	require.Equal(t, order.SinkDelivery{Sink: "dataverse", QueuedAt: evT0, Attempts: 2, Error: "dataverse: 400", FailedAt: evT0, GaveUp: true}, d)

	n := o.Redeliver(func(e order.OutboxEvent, d order.SinkDelivery) bool { return d.Sink == "dataverse" })
	require.Equal(t, 1, n, "only what the sink has not taken")
	require.Equal(t, []order.Target{{Event: o.Outbox()[1], Sink: "dataverse"}}, o.Unpublished(sinks))
	require.Empty(t, o.Unpublished([]string{"webhook:a/1"}), "not for a sink no longer configured")
	require.Equal(t, order.SinkDelivery{Sink: "dataverse"}, o.Outbox()[1].Sinks[1], "a redelivery starts afresh")
}

func TestOutboxIsBounded(t *testing.T) {
	// A change per write, as a Publisher records them.
	o := evReceived()
	for i := range order.MaxOutbox + 5 {
		before := o
		m := evMail(order.MailDownloadLinks, i+1)
		o.MailKind = order.MailDownloadLinks
		o.MailQueued(i+1, "", mailData(t, m))
		o = order.RecordForTest(o, order.Changes(before, o, evT0))
		if i == 2 {
			o = order.QueueForTest(o, []string{"dataverse"}, evT0)
			for _, e := range o.Outbox() {
				o.EventDelivered(e.ID, "dataverse", evT0)
			}
		}
	}
	require.Len(t, o.Outbox(), order.MaxOutbox)
	require.Equal(t, 2, o.EventsDropped(), "three delivered went first, then the two oldest waiting")
	require.Equal(t, order.NewEventID(evSession, order.TypeLinksReady, "25"), o.Outbox()[order.MaxOutbox-1].ID)
}

// TestEventIDsSurviveTheLedgersPrecision: an id that names a time names it
// to the millisecond, so the one made when the change is written and the
// one made from the record as a ledger gives it back (the Table ledger
// keeps 100 ns ticks) are the same.
func TestEventIDsSurviveTheLedgersPrecision(t *testing.T) {
	at := evT0.Add(123_456_789 * time.Nanosecond)
	o := paidOrder(t)
	o.Revoke("x", at)
	written := order.Changes(paidOrder(t), o, at)
	require.Len(t, written, 1)
	stored := ordertestTruncate(o)
	require.Equal(t, written[0].ID, order.Changes(paidOrder(t), stored, at)[0].ID)
}

// ordertestTruncate is o with its holds' times truncated as the Table
// ledger stores them.
func ordertestTruncate(o order.Order) order.Order {
	s := o.Snapshot()
	s.AccessHolds = slices.Clone(s.AccessHolds)
	for i := range s.AccessHolds {
		s.AccessHolds[i].At = s.AccessHolds[i].At.Truncate(100 * time.Nanosecond)
	}
	return order.Restore(s)
}
