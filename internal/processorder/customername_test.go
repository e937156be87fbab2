package processorder_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// TestCustomerNameNeverStopsTheMail queues the mail of sessions whose
// customer name is hostile: the name is cleaned or dropped, never the
// order, and the mail always fits its queue message.
func TestCustomerNameNeverStopsTheMail(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"cleaned", "Jane\x00 \u202EDoe\r\n", "Jane Doe"},
		{"5,000 × Ü dropped", strings.Repeat("Ü", 5000), ""},
		{"100,000 characters dropped", strings.Repeat("a", 100_000), ""},
		{"100,000 escaped characters dropped", strings.Repeat("<", 100_000), ""},
	}
	for _, tt := range tests {
		for _, event := range []string{order.EventCompleted, order.EventAsyncPaymentFailed} {
			t.Run(tt.name+" "+event, func(t *testing.T) {
				h := newHarness(ordertest.NewLedger(), false, func() (stripeapi.Session, error) {
					s := paidSession()
					s.CustomerName = tt.in
					if event == order.EventAsyncPaymentFailed {
						s.PaymentStatus = stripeapi.PaymentUnpaid
					}
					return s, nil
				})
				require.NoError(t, h.handle(message(event)))
				mails := h.mails(t)
				require.Len(t, mails, 1)
				require.Equal(t, order.Customer{Email: "jane@example.com", Name: tt.want}, mails[0].Customer)
			})
		}
	}
}
