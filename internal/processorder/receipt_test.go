package processorder_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/processorder"
	"github.com/filedrop/filedrop/internal/storage"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// TestMailCarriesTheReceipt checks the queued mail has the order's date
// (when the customer paid; for a failed payment, the session's creation),
// lines and total for the mail to show, in both kinds.
func TestMailCarriesTheReceipt(t *testing.T) {
	created := time.Date(2026, 3, 1, 11, 58, 0, 0, time.UTC)
	paid := created.Add(90 * time.Second)
	session := func(edit func(*stripeapi.Session)) func() (stripeapi.Session, error) {
		return func() (stripeapi.Session, error) {
			s := paidSession()
			s.Created, s.PaidAt, s.Currency, s.AmountTotal = created, paid, "eur", 4500
			s.Items[0].AmountTotal, s.Items[1].AmountTotal, s.Items[2].AmountTotal = 1500, 1800, 1200
			s.Items[1].Description = ""
			edit(&s)
			return s, nil
		}
	}
	long := strings.Repeat("é", 5000)
	tests := []struct {
		name  string
		event string
		edit  func(*stripeapi.Session)
		want  *order.Receipt
	}{
		{name: "paid", event: order.EventCompleted, edit: func(*stripeapi.Session) {},
			want: &order.Receipt{OrderedAt: paid, Currency: "eur", AmountTotal: 4500, Lines: []order.ReceiptLine{
				{Description: "Sunset, large", Quantity: 1, AmountTotal: 1500},
				{Description: "Fern", Quantity: 2, AmountTotal: 1800}, // the product's name when the line has no description
				{Description: "Sunset, again", Quantity: 1, AmountTotal: 1200},
			}}},
		{name: "payment failed", event: order.EventAsyncPaymentFailed, edit: func(s *stripeapi.Session) { s.PaymentStatus = stripeapi.PaymentUnpaid },
			want: &order.Receipt{OrderedAt: created, Currency: "eur", AmountTotal: 4500, Lines: []order.ReceiptLine{
				{Description: "Sunset, large", Quantity: 1, AmountTotal: 1500},
				{Description: "Fern", Quantity: 2, AmountTotal: 1800},
				{Description: "Sunset, again", Quantity: 1, AmountTotal: 1200},
			}}},
		{name: "a long description is cut", event: order.EventCompleted, edit: func(s *stripeapi.Session) { s.Items = s.Items[:1]; s.Items[0].Description = long },
			want: &order.Receipt{OrderedAt: paid, Currency: "eur", AmountTotal: 4500, Lines: []order.ReceiptLine{
				{Description: strings.Repeat("é", order.MaxReceiptDescription-1) + "…", Quantity: 1, AmountTotal: 1500},
			}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(ordertest.NewLedger(), false, session(tt.edit))
			require.NoError(t, h.handle(message(tt.event)))
			mails := h.mails(t)
			require.Len(t, mails, 1)
			require.Equal(t, tt.want, mails[0].Receipt)
			require.Equal(t, "fr", mails[0].Locale)
		})
	}
}

// TestMailAndLedgerShareThePaymentDate: the mail's date and the ledger's
// OrderedAt, which the order page shows, are one value: when the customer
// paid as Stripe says (the payment intent's latest charge), recorded once;
// without it, when the order was fulfilled. Never the session's creation,
// which Checkout sets before the customer pays.
func TestMailAndLedgerShareThePaymentDate(t *testing.T) {
	created := t0.Add(-26 * time.Hour) // a webhook lost, the order picked up by reconcile a day later
	for _, paid := range []time.Time{created.Add(2 * time.Minute), {}} {
		t.Run(fmt.Sprint("paid ", paid), func(t *testing.T) {
			recs := ordertest.NewLedger()
			h := newHarness(recs, false, func() (stripeapi.Session, error) {
				s := paidSession()
				s.Created, s.PaidAt = created, paid
				return s, nil
			})
			require.NoError(t, h.handle(message(order.EventCompleted)))
			rec := recs.Record(t, sessionID)
			require.Equal(t, rec.OrderedAt, h.mails(t)[0].Receipt.OrderedAt)
			if !paid.IsZero() {
				require.Equal(t, paid, rec.OrderedAt)
			}
			require.Equal(t, t0, rec.PaidAt, "the download window runs from the fulfilment")

			again := message(order.EventCompleted)
			again.EventID, again.Trigger, again.NewLinks = "evt_resend_1", order.TriggerOperator, true
			require.NoError(t, h.handle(again))
			require.Equal(t, rec.OrderedAt, recs.Record(t, sessionID).OrderedAt, "recorded once")
			require.Equal(t, rec.OrderedAt, h.mails(t)[1].Receipt.OrderedAt, "and every mail shows it")
		})
	}
}

// TestReceiptNeverStopsTheMail: a cart whose receipt lines would not fit
// one queue message is mailed without them.
func TestReceiptNeverStopsTheMail(t *testing.T) {
	h := newHarness(ordertest.NewLedger(), false, func() (stripeapi.Session, error) {
		s := paidSession()
		s.Currency, s.AmountTotal = "eur", 999
		desc := strings.Repeat("x", order.MaxReceiptDescription)
		for i := range 400 { // 400 × 200 bytes of descriptions: over the 48 KiB a message holds
			s.Items = append(s.Items, stripeapi.LineItem{ID: "li_x", ProductID: "prod_Fern", Description: desc + string(rune('a'+i%26)), Quantity: 1})
		}
		return s, nil
	})
	require.NoError(t, h.handle(message(order.EventCompleted)))
	require.Len(t, h.queue.sent, 1)
	require.LessOrEqual(t, len(h.queue.sent[0]), processorder.MaxMailBytes)
	m := h.mails(t)[0]
	require.NotNil(t, m.Receipt, "the summary stays")
	require.Empty(t, m.Receipt.Lines, "the lines go")
	require.Equal(t, int64(999), m.Receipt.AmountTotal)
}

// mailOfSize is a download mail whose JSON is size bytes, made up by
// receipt lines.
func mailOfSize(t *testing.T, size int) order.MailJob {
	t.Helper()
	m := order.MailJob{Version: order.MailJobVersion, Kind: order.MailDownloadLinks, SessionID: sessionID, EventID: "evt_1", Generation: 1,
		Customer: order.Customer{Email: "jane@example.com"},
		Items:    []order.Item{{Title: "Fern", FileName: "fern.jpg", URL: "https://files.example.com/fern.jpg?sig=x", ExpiresAt: linkExpiry}},
		Receipt:  &order.Receipt{Currency: "eur", AmountTotal: 999}}
	length := func() int {
		data, err := json.Marshal(m)
		require.NoError(t, err)
		return len(data)
	}
	line := func(desc string) order.ReceiptLine {
		return order.ReceiptLine{Description: desc, Quantity: 1, AmountTotal: 1}
	}
	for range 1000 { // bounded: 48 KiB of lines of about 150 bytes is about 330
		if size-length() <= 220 {
			break
		}
		m.Receipt.Lines = append(m.Receipt.Lines, line(strings.Repeat("x", 100)))
	}
	m.Receipt.Lines = append(m.Receipt.Lines, line("x")) // then made as long as the size asks
	last := &m.Receipt.Lines[len(m.Receipt.Lines)-1]
	n := len(last.Description) + size - length()
	require.True(t, n >= 1 && n <= order.MaxReceiptDescription, "description of %d bytes", n)
	last.Description = strings.Repeat("x", n)
	require.Equal(t, size, length())
	return m
}

// TestQueuedMailLeavesRoomForTheRetryRecord: a mail that fits when
// ProcessOrder queues it still fits one queue message when the route adds
// its retry record (SendLink failed transiently or was held).
func TestQueuedMailLeavesRoomForTheRetryRecord(t *testing.T) {
	// The largest record the route writes: every count set, a message id
	// (a GUID) as the owner, a time with nanoseconds.
	worst := delivery.Retry{N: 1 << 30, First: time.Date(2025, 12, 31, 23, 59, 59, 999_999_999, time.UTC), Redrives: delivery.MaxRedrives,
		Holds: 1 << 30, Owner: "message:0f8fad5b-d9cb-469f-a165-70867728950e"}
	tests := []struct {
		name      string
		size      int
		wantLines bool
	}{
		{name: "well under: as it is", size: processorder.MaxMailBytes / 2, wantLines: true},
		{name: "at the limit: as it is", size: processorder.MaxMailBytes, wantLines: true},
		{name: "a byte over: without the receipt lines", size: processorder.MaxMailBytes + 1},
		{name: "exactly one queue message: without the receipt lines", size: storage.MaxMessageBytes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := processorder.EncodeMail(mailOfSize(t, tt.size))
			require.NoError(t, err)
			require.LessOrEqual(t, len(data), processorder.MaxMailBytes)
			m, err := order.DecodeMailJob(data)
			require.NoError(t, err)
			require.NotNil(t, m.Receipt)
			require.Equal(t, tt.wantLines, len(m.Receipt.Lines) > 0)

			requeued, err := delivery.WithRetry(data, worst)
			require.NoError(t, err)
			require.LessOrEqual(t, len(requeued), storage.MaxMessageBytes, "the re-scheduled copy fits one queue message")
		})
	}
}
