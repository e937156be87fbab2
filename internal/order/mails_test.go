package order_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

var mailAt = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

func mailJob(gen int) order.MailJob {
	return order.MailJob{Version: 1, Kind: order.MailDownloadLinks, SessionID: "cs_test_1", Generation: gen,
		Customer: order.Customer{Email: "ada@customer.example"}}
}

func report(op, eventID string, status order.DeliveryStatus, at time.Time) order.DeliveryReport {
	return order.DeliveryReport{EventID: eventID, EventType: order.EventEmailDeliveryReport, OperationID: op, Status: status,
		StatusMessage: "server says " + string(status), AttemptedAt: at}
}

func TestMailRecordLifecycle(t *testing.T) {
	var o order.Order
	msg := mailJob(1)
	key := msg.Key()
	o.StartMail(msg, mailAt)
	o.StartMail(msg, mailAt.Add(time.Minute)) // a redelivery's claim
	require.Len(t, o.Mails(), 1)
	m, ok := o.LastMail()
	require.True(t, ok)
	require.Equal(t, order.MailRecord{OperationID: key, Kind: order.MailDownloadLinks, Generation: 1, To: "ada@customer.example",
		Send: order.StatusSending, StartedAt: mailAt}, m)
	require.False(t, o.MailDone(key))

	o.RecordSend(msg, order.StatusAccepted, key, mailAt.Add(time.Second))
	m, _ = o.MailOf(strings.ToUpper(key))
	require.Equal(t, order.StatusAccepted, m.Status())
	require.Equal(t, mailAt.Add(time.Second), m.SentAt)
	require.Empty(t, m.ServiceID, "the service's id is the key")
	require.True(t, o.MailDone(key))

	o.RecordSend(msg, order.StatusSent, "other-id", mailAt.Add(2*time.Second))
	m, _ = o.MailOf("other-id")
	require.Equal(t, order.StatusSent, m.Status(), "accepted, then sent")
	require.Equal(t, mailAt.Add(time.Second), m.SentAt, "the first time the transport took it")
	o.RecordSend(msg, order.StatusAccepted, "", mailAt.Add(3*time.Second))
	m, _ = o.MailOf(key)
	require.Equal(t, order.StatusSent, m.Status(), "never back from sent to accepted")
	require.False(t, o.FailMail(order.MailKey("cs_test_1", order.MailDownloadLinks, 9), "x"), "an unknown mail")
	require.True(t, o.FailMail(key, "refused"))
	m, _ = o.MailOf(key)
	require.Equal(t, order.StatusSent, m.Status(), "a mail the transport took does not fail")
}

func TestFailMail(t *testing.T) {
	var o order.Order
	msg := mailJob(1)
	o.StartMail(msg, mailAt)
	require.True(t, o.FailMail(msg.Key(), "acs: InvalidEmailAddress\n"+strings.Repeat("x", 600)))
	m, _ := o.LastMail()
	require.Equal(t, order.StatusFailed, m.Status())
	require.LessOrEqual(t, len([]rune(m.Error)), order.MaxStatusMessage)
	require.NotContains(t, m.Error, "\n")
	require.True(t, o.MailDone(msg.Key()), "a permanent failure is not sent again")
}

func TestStartMailKeepsTheNewest(t *testing.T) {
	var o order.Order
	for gen := 1; gen <= order.MaxMails+3; gen++ {
		o.StartMail(mailJob(gen), mailAt.Add(time.Duration(gen)*time.Minute))
	}
	require.Len(t, o.Mails(), order.MaxMails)
	require.Equal(t, 4, o.Mails()[0].Generation)
	last, _ := o.LastMail()
	require.Equal(t, order.MaxMails+3, last.Generation)
	_, ok := o.MailOf(mailJob(1).Key())
	require.False(t, ok)
}

func TestRecordDelivery(t *testing.T) {
	key := mailJob(1).Key()
	statuses := []order.DeliveryStatus{order.MailDelivered, order.MailBounced, order.MailSuppressed, order.MailFailed,
		order.MailQuarantined, order.MailFilteredSpam, "Expanded"}
	for _, st := range statuses {
		t.Run(string(st), func(t *testing.T) {
			var o order.Order
			o.StartMail(mailJob(1), mailAt)
			changed, err := o.RecordDelivery(report(key, "ev-1", st, mailAt.Add(time.Minute)))
			require.NoError(t, err)
			require.True(t, changed)
			m, _ := o.LastMail()
			want := order.StatusNotDelivered
			if st == order.MailDelivered {
				want = order.StatusDelivered
			}
			require.Equal(t, want, m.Status())
			require.Equal(t, want == order.StatusNotDelivered, m.Undelivered())
			require.Equal(t, &order.MailReport{Status: st, Message: "server says " + string(st), At: mailAt.Add(time.Minute), EventID: "ev-1"}, m.Report)
		})
	}

	tests := []struct {
		name    string
		reports []order.DeliveryReport
		changed []bool
		want    order.DeliveryStatus
	}{
		{"a redelivered report changes nothing",
			[]order.DeliveryReport{report(key, "ev-1", order.MailBounced, mailAt), report(key, "ev-1", order.MailBounced, mailAt)},
			[]bool{true, false}, order.MailBounced},
		{"a later attempt replaces an earlier one",
			[]order.DeliveryReport{report(key, "ev-1", order.MailBounced, mailAt), report(key, "ev-2", order.MailDelivered, mailAt.Add(time.Hour))},
			[]bool{true, true}, order.MailDelivered},
		{"an earlier attempt arriving late changes nothing",
			[]order.DeliveryReport{report(key, "ev-2", order.MailDelivered, mailAt.Add(time.Hour)), report(key, "ev-1", order.MailBounced, mailAt)},
			[]bool{true, false}, order.MailDelivered},
		{"the same attempt time keeps the first",
			[]order.DeliveryReport{report(key, "ev-1", order.MailBounced, mailAt), report(key, "ev-2", order.MailDelivered, mailAt)},
			[]bool{true, false}, order.MailBounced},
		{"a report without a time fills only an empty place",
			[]order.DeliveryReport{report(key, "ev-1", order.MailBounced, time.Time{}), report(key, "ev-2", order.MailDelivered, time.Time{})},
			[]bool{true, false}, order.MailBounced},
		{"the report's id may be in capitals",
			[]order.DeliveryReport{report(strings.ToUpper(key), "ev-1", order.MailSuppressed, mailAt)},
			[]bool{true}, order.MailSuppressed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var o order.Order
			o.StartMail(mailJob(1), mailAt)
			for i, r := range tc.reports {
				changed, err := o.RecordDelivery(r)
				require.NoError(t, err)
				require.Equal(t, tc.changed[i], changed, "report %d", i)
			}
			m, _ := o.LastMail()
			require.Equal(t, tc.want, m.Report.Status)
		})
	}
}

func TestRecordDeliveryOfAnUnknownMail(t *testing.T) {
	var o order.Order
	o.StartMail(mailJob(1), mailAt)
	_, err := o.RecordDelivery(report(mailJob(2).Key(), "ev-1", order.MailDelivered, mailAt))
	require.ErrorIs(t, err, order.ErrUnknownMail)
	m, _ := o.LastMail()
	require.Nil(t, m.Report)
}

func TestRecordSendOfAMailNeverStarted(t *testing.T) {
	var o order.Order
	o.RecordSend(mailJob(1), order.StatusSent, "", mailAt)
	m, ok := o.LastMail()
	require.True(t, ok)
	require.Equal(t, order.StatusSent, m.Status())
	require.Equal(t, mailAt, m.StartedAt)
}

func TestOrderLinksKeyDependsOnTheRecipient(t *testing.T) {
	links := func(email string, gen int) order.MailJob {
		return order.MailJob{Kind: order.MailOrderLinks, SessionID: "cs_test_1", Generation: gen, Customer: order.Customer{Email: email}}
	}
	k := links("Ada@Customer.example ", 1).Key()
	require.Equal(t, k, links("ada@customer.example", 1).Key(), "the normalised address")
	for _, other := range []string{links("bob@customer.example", 1).Key(), links("ada@customer.example", 2).Key(),
		order.MailKey("cs_test_1", order.MailOrderLinks, 1)} {
		require.NotEqual(t, k, other)
	}
}

func TestOrderLinksValidation(t *testing.T) {
	ok := order.OrderLink{SessionID: "cs_test_1", URL: "https://shop.example/api/download/cs_test_1.x", Items: []string{"Harbour"}}
	tests := []struct {
		name   string
		orders []order.OrderLink
		err    string
	}{
		{"one order", []order.OrderLink{ok}, ""},
		{"no order", nil, "lists 0 orders"},
		{"too many", make([]order.OrderLink, order.MaxOrderLinks+1), "lists 11 orders"},
		{"bad session", []order.OrderLink{{SessionID: "x", URL: "u"}}, "not a Checkout Session id"},
		{"no link", []order.OrderLink{{SessionID: "cs_test_1"}}, "has no link"},
		{"too many items", []order.OrderLink{{SessionID: "cs_test_1", URL: "u", Items: make([]string, order.MaxOrderLinkItems+1)}}, "names 6 files"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := order.MailJob{Version: 1, Kind: order.MailOrderLinks, SessionID: "cs_test_1", Generation: 1,
				Customer: order.Customer{Email: "ada@customer.example"}, Orders: tc.orders}
			err := m.Validate()
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}

func TestLinksQuota(t *testing.T) {
	var q order.LinksQuota
	day := time.Date(2025, 3, 14, 8, 0, 0, 0, time.UTC)
	for i := 1; i <= 3; i++ {
		gen, ok := q.Take(day.Add(time.Duration(i)*10*time.Minute), 3, 5*time.Minute)
		require.True(t, ok, "mail %d", i)
		require.Equal(t, i, gen)
	}
	before := q
	_, ok := q.Take(day.Add(time.Hour), 3, 5*time.Minute)
	require.False(t, ok, "the fourth mail of the day")
	require.Equal(t, before, q, "a refused mail counts nothing")
	_, ok = q.Take(day.Add(24*time.Hour), 3, 5*time.Minute)
	require.True(t, ok, "a new day")
	require.Equal(t, order.LinksQuota{Day: "2025-03-15", Today: 1, Total: 4, Last: day.Add(24 * time.Hour)}, q)
	_, ok = q.Take(day.Add(24*time.Hour+time.Minute), 3, 5*time.Minute)
	require.False(t, ok, "within the spacing")
}

func TestNormalizeEmail(t *testing.T) {
	require.Equal(t, "ada@customer.example", order.NormalizeEmail("  Ada@Customer.EXAMPLE\t"))
}
