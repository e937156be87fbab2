package processorder_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/storage"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// TestMailCarriesTheReceipt checks the queued mail has the session's date,
// lines and total for the mail to show, in both kinds.
func TestMailCarriesTheReceipt(t *testing.T) {
	created := time.Date(2026, 3, 1, 11, 58, 0, 0, time.UTC)
	session := func(edit func(*stripeapi.Session)) func() (stripeapi.Session, error) {
		return func() (stripeapi.Session, error) {
			s := paidSession()
			s.Created, s.Currency, s.AmountTotal = created, "eur", 4500
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
			want: &order.Receipt{OrderedAt: created, Currency: "eur", AmountTotal: 4500, Lines: []order.ReceiptLine{
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
			want: &order.Receipt{OrderedAt: created, Currency: "eur", AmountTotal: 4500, Lines: []order.ReceiptLine{
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
	require.LessOrEqual(t, len(h.queue.sent[0]), storage.MaxMessageBytes)
	m := h.mails(t)[0]
	require.NotNil(t, m.Receipt, "the summary stays")
	require.Empty(t, m.Receipt.Lines, "the lines go")
	require.Equal(t, int64(999), m.Receipt.AmountTotal)
}
