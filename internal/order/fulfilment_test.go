package order_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
)

func TestFulfilled(t *testing.T) {
	tests := []struct {
		name string
		o    order.Order
		want bool
	}{
		{"mail sent", order.Restore(order.Snapshot{State: order.StateMailSent, MailKind: order.MailDownloadLinks, MailGeneration: 1, SentGeneration: 1}), true},
		{"mail sent, nothing recorded of it", order.Restore(order.Snapshot{State: order.StateMailSent}), true},
		{"sent, then needs attention", order.Restore(order.Snapshot{State: order.StateNeedsAttention, MailKind: order.MailDownloadLinks, SentGeneration: 1}), true},
		{"sent, then resent", order.Restore(order.Snapshot{State: order.StateLinksReady, MailKind: order.MailDownloadLinks, MailGeneration: 2, SentGeneration: 1}), true},
		{"links queued, not sent", order.Restore(order.Snapshot{State: order.StateLinksReady, MailKind: order.MailDownloadLinks, MailGeneration: 1}), false},
		{"received", order.Restore(order.Snapshot{State: order.StateReceived}), false},
		{"awaiting payment", order.Restore(order.Snapshot{State: order.StateAwaitingPayment}), false},
		{"payment failed, notice sent", order.Restore(order.Snapshot{State: order.StatePaymentFailed, MailKind: order.MailPaymentFailed, MailGeneration: 1, SentGeneration: 1}), false},
		{"needs attention, nothing sent", order.Restore(order.Snapshot{State: order.StateNeedsAttention, MailKind: order.MailDownloadLinks, MailGeneration: 1}), false},
		{"no record", order.Order{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.o.Fulfilled())
		})
	}
}

func TestNextGeneration(t *testing.T) {
	tests := []struct {
		name         string
		queued, sent int
		want         int
	}{
		{"nothing queued", 0, 0, 1},
		{"first queued, not sent", 1, 0, 2},
		{"first sent", 1, 1, 2},
		{"resent, not sent yet", 3, 1, 4},
		{"sent ahead of the record of its queueing", 1, 2, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := order.Restore(order.Snapshot{MailGeneration: tt.queued, SentGeneration: tt.sent})
			got := o.NextGeneration()
			require.Equal(t, tt.want, got)
			require.Greater(t, got, tt.queued, "above every generation queued")
			require.Greater(t, got, tt.sent, "above every generation sent")
		})
	}
}

func TestResend(t *testing.T) {
	tests := []struct {
		name  string
		from  order.State
		kind  string
		state order.State
	}{
		{"download mail of a sent order", order.StateMailSent, order.MailDownloadLinks, order.StateLinksReady},
		{"download mail of an order needing attention", order.StateNeedsAttention, order.MailDownloadLinks, order.StateLinksReady},
		{"payment notice", order.StatePaymentFailed, order.MailPaymentFailed, order.StatePaymentFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := order.Restore(order.Snapshot{SessionID: "cs_test_1", State: tt.from, Reason: "the mail service refused the address", LastError: "acs answered 500",
				Attempts: 3, MailKind: tt.kind, MailGeneration: 2, SentGeneration: 1, Mail: []byte(`{"generation":2}`), CustomerEmail: "jane@example.com"})
			m := order.MailJob{Kind: tt.kind, SessionID: "cs_test_1", Generation: o.NextGeneration()}
			want := o
			want = ordertest.Edit(want, func(s *order.Snapshot) {
				s.State, s.MailGeneration, s.Mail = tt.state, 3, []byte(`{"generation":3}`)
				s.Reason, s.LastError, s.Attempts = "", "", 0
			})
			o.Resend(m, []byte(`{"generation":3}`))
			require.Equal(t, want, o, "the new generation is the last mail; the sent one stays")
		})
	}
}

func TestMode(t *testing.T) {
	require.Equal(t, "live", order.Mode(true))
	require.Equal(t, "test", order.Mode(false))
}
