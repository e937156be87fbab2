package processorder

import (
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// receipt is the order summary the mail shows, from the session: the date
// given (when the customer paid, as the ledger records it and the order page
// shows it), the lines and the total. Descriptions are cut to
// order.MaxReceiptDescription characters.
func receipt(sess stripeapi.Session, date time.Time) *order.Receipt {
	r := &order.Receipt{OrderedAt: date, Currency: sess.Currency, AmountTotal: sess.AmountTotal}
	for _, li := range sess.Items {
		desc := li.Description
		if desc == "" {
			desc = li.ProductName
		}
		if utf8.RuneCountInString(desc) > order.MaxReceiptDescription {
			desc = string([]rune(desc)[:order.MaxReceiptDescription-1]) + "…"
		}
		r.Lines = append(r.Lines, order.ReceiptLine{Description: desc, Quantity: li.Quantity, AmountTotal: li.AmountTotal})
	}
	return r
}

// fitReceipt drops the receipt's lines, then the receipt, when the message
// would not fit MaxMailBytes with them: the summary is a courtesy,
// the links are the delivery.
func fitReceipt(m order.MailJob) order.MailJob {
	for range 2 {
		if m.Receipt == nil {
			return m
		}
		data, err := json.Marshal(m)
		if err != nil || len(data) <= MaxMailBytes {
			return m
		}
		if len(m.Receipt.Lines) > 0 {
			r := *m.Receipt
			r.Lines = nil
			m.Receipt = &r
		} else {
			m.Receipt = nil
		}
	}
	return m
}
