package order_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

// TestStateChanges: each change of state is one method of Order, which
// keeps the rules: a state never goes back, a newer generation is minted
// once, and an order that got further is left as it is.
func TestStateChanges(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	mail := order.MailJob{Version: 1, Kind: order.MailDownloadLinks, SessionID: "cs_test_1", EventID: "evt_2", Generation: 2,
		Customer: order.Customer{Email: "ada@example.com"}, Items: []order.Item{{Title: "a", FileName: "a.jpg"}}}
	queued, err := json.Marshal(mail)
	require.NoError(t, err)
	tests := []struct {
		name   string
		from   order.Snapshot
		change func(o *order.Order)
		want   func(s *order.Snapshot)
	}{
		{"received: a new order", order.Snapshot{}, (*order.Order).Receive,
			func(s *order.Snapshot) { s.State = order.StateReceived }},
		{"received: an order with a state keeps it", order.Snapshot{State: order.StateLinksReady}, (*order.Order).Receive,
			func(*order.Snapshot) {}},
		{"links ready", order.Snapshot{State: order.StateReceived}, func(o *order.Order) { o.LinksReady(1, now) },
			func(s *order.Snapshot) { s.State, s.PaidAt, s.LinksReadyAt = order.StateLinksReady, now, now }},
		{"links ready after the mail was sent: never back", order.Snapshot{State: order.StateMailSent, SentGeneration: 1, PaidAt: now.Add(-time.Hour)},
			func(o *order.Order) { o.LinksReady(1, now) },
			func(s *order.Snapshot) { s.LinksReadyAt = now }},
		{"a newer generation queued: minted by its message", order.Snapshot{MailGeneration: 1, MailEventID: "evt_1"},
			func(o *order.Order) { o.MailQueued(2, "evt_2", []byte("m2")) },
			func(s *order.Snapshot) { s.MailGeneration, s.MailEventID, s.Mail = 2, "evt_2", []byte("m2") }},
		{"the same generation queued again: the mail only", order.Snapshot{MailGeneration: 2, MailEventID: "evt_1"},
			func(o *order.Order) { o.MailQueued(2, "evt_2", []byte("m2")) },
			func(s *order.Snapshot) { s.Mail = []byte("m2") }},
		{"an older generation queued: nothing", order.Snapshot{MailGeneration: 3},
			func(o *order.Order) { o.MailQueued(2, "evt_2", []byte("m2")) },
			func(*order.Snapshot) {}},
		{"payment failed", order.Snapshot{State: order.StateReceived}, func(o *order.Order) { o.PaymentFailed(now) },
			func(s *order.Snapshot) { s.State, s.PaymentFailedAt = order.StatePaymentFailed, now }},
		{"awaiting payment: the last failure cleared", order.Snapshot{State: order.StateReceived, Reason: "r", LastError: "e", Attempts: 2, Holds: 1},
			(*order.Order).AwaitingPayment,
			func(s *order.Snapshot) {
				s.State, s.Reason, s.LastError, s.Attempts, s.Holds = order.StateAwaitingPayment, "", "", 0, 0
			}},
		{"awaiting payment after the links: left as it is", order.Snapshot{State: order.StateLinksReady, LastError: "e"},
			(*order.Order).AwaitingPayment, func(*order.Snapshot) {}},
		{"mail sent: a generation never recorded as queued is kept", order.Snapshot{State: order.StateReceived, MailGeneration: 1},
			func(o *order.Order) { o.MailSent(mail, "op-2", now) },
			func(s *order.Snapshot) {
				s.State, s.MailKind, s.MailGeneration, s.Mail, s.SentGeneration = order.StateMailSent, order.MailDownloadLinks, 2, queued, 2
				s.OperationID, s.MailSentAt = "op-2", now
			}},
		{"mail sent after the budget was spent: resumed", order.Snapshot{State: order.StateNeedsAttention, Reason: "gave up", BudgetSpent: true,
			MailKind: order.MailDownloadLinks, MailGeneration: 2},
			func(o *order.Order) { o.MailSent(mail, "op-2", now) },
			func(s *order.Snapshot) {
				s.State, s.Reason, s.BudgetSpent, s.SentGeneration, s.OperationID, s.MailSentAt = order.StateMailSent, "", false, 2, "op-2", now
			}},
		{"needs attention: since now", order.Snapshot{State: order.StateReceived, LeaseOwner: "p"},
			func(o *order.Order) { o.NeedAttention("original missing", now) },
			func(s *order.Snapshot) {
				s.State, s.Reason, s.AttentionAt, s.Attentions, s.LeaseOwner = order.StateNeedsAttention, "original missing", now, 1, ""
			}},
		{"needs attention again: the new reason, since the first time", order.Snapshot{State: order.StateNeedsAttention,
			Reason: "gave up", AttentionAt: now.Add(-time.Hour), Attentions: 1, BudgetSpent: true},
			func(o *order.Order) { o.NeedAttention("refunded", now) },
			func(s *order.Snapshot) { s.Reason, s.BudgetSpent = "refunded", false }},
		{"needs attention after it was resumed: once more, since now", order.Snapshot{State: order.StateLinksReady,
			AttentionAt: now.Add(-time.Hour), Attentions: 1},
			func(o *order.Order) { o.NeedAttention("refunded", now) },
			func(s *order.Snapshot) {
				s.State, s.Reason, s.AttentionAt, s.Attentions = order.StateNeedsAttention, "refunded", now, 2
			}},
		{"an older generation sent: the newer stays the last", order.Snapshot{State: order.StateLinksReady, MailKind: order.MailDownloadLinks,
			MailGeneration: 3, SentGeneration: 3},
			func(o *order.Order) { o.MailSent(mail, "op-2", now) },
			func(s *order.Snapshot) { s.State, s.OperationID, s.MailSentAt = order.StateMailSent, "op-2", now }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := order.Restore(tt.from)
			tt.change(&o)
			want := tt.from
			tt.want(&want)
			require.Equal(t, want, o.Snapshot())
		})
	}
}
