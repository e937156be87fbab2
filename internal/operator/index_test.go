package operator

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
)

func TestResenderMailTo(t *testing.T) {
	now := time.Date(2024, 1, 20, 12, 0, 0, 0, time.UTC)
	rec := order.Restore(order.Snapshot{SessionID: "cs_test_typo", State: order.StateMailSent, MailKind: order.MailDownloadLinks, CustomerEmail: "jane@exmaple.com",
		MailGeneration: 1, SentGeneration: 1, Mail: pageMail(t, "cs_test_typo", 1)})
	recs, mails := newRecords(rec), &memQueue{}
	rs, err := NewResender(ResenderDeps{Records: recs, Mails: mails, Orders: &memQueue{}, Now: func() time.Time { return now }})
	require.NoError(t, err)
	got, err := rs.MailTo(context.Background(), recs.get(rec.SessionID), false, "jane@example.com")
	require.NoError(t, err)
	require.Equal(t, "jane@example.com", got.Customer.Email)
	require.Equal(t, 2, got.Generation)
	queued, err := order.DecodeMailJob(mails.data()[0])
	require.NoError(t, err)
	require.Equal(t, got, queued)
	stored := recs.get(rec.SessionID)
	last, err := order.DecodeMailJob(stored.Mail)
	require.NoError(t, err)
	require.Equal(t, "jane@example.com", last.Customer.Email, "the order's last mail names the corrected address")
	require.Equal(t, "jane@exmaple.com", stored.CustomerEmail, "the address Stripe has stays the customer's")
}

func TestIndex(t *testing.T) {
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	sent := order.Restore(order.Snapshot{SessionID: "cs_test_sent", State: order.StateMailSent, CustomerEmail: "Ada@Customer.example", SentGeneration: 1,
		MailKind: order.MailDownloadLinks, OrderedAt: at})
	resent := order.MailJob{Kind: order.MailDownloadLinks, SessionID: sent.SessionID, Generation: 2, Customer: order.Customer{Email: "ada@work.example"}}
	sent.RecordSend(order.MailJob{Kind: order.MailDownloadLinks, SessionID: sent.SessionID, Generation: 1, Customer: order.Customer{Email: "ada@customer.example"}},
		order.StatusSent, "", at)
	sent.RecordSend(resent, order.StatusAccepted, "", at)
	waiting := order.Restore(order.Snapshot{SessionID: "cs_test_waiting", State: order.StateLinksReady, CustomerEmail: "bob@customer.example",
		MailKind: order.MailDownloadLinks})
	idx := ordertest.NewLedger()
	steps := 0
	for range 2 { // idempotent
		sum, err := Index(context.Background(), idx, []order.Order{sent, waiting}, at.Add(time.Hour), func(IndexSummary) { steps++ })
		require.NoError(t, err)
		require.Equal(t, IndexSummary{Orders: 1, Addresses: 2, Mails: 2, Skipped: 1}, sum)
	}
	require.Equal(t, 4, steps)
	require.Equal(t, []string{"cs_test_sent"}, idx.Indexed("ada@customer.example"))
	require.Equal(t, []string{"cs_test_sent"}, idx.Indexed("ADA@work.example"), "the address an operator resent it to")
	require.Empty(t, idx.Indexed("bob@customer.example"), "an order not fulfilled is listed under no address")
	got, err := idx.OrdersOf(context.Background(), "ada@customer.example")
	require.NoError(t, err)
	require.Equal(t, at, got[0].At, "under the order's date")
	session, err := idx.SessionOfMail(context.Background(), resent.Key())
	require.NoError(t, err)
	require.Equal(t, "cs_test_sent", session)
}
