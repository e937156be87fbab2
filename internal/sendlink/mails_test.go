package sendlink_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/mail"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/sendlink"
)

// receiptSender answers every send with status, as ACS does for an
// operation that Succeeded (Sent) or was still running (Accepted).
func receiptSender(status mail.SendStatus, check func(m mail.Message)) sendlink.SenderFunc {
	return func(_ context.Context, m mail.Message) (mail.Receipt, error) {
		if check != nil {
			check(m)
		}
		return mail.Receipt{OperationID: m.Key, Status: status}, nil
	}
}

// TestHandleRecordsEachMail: SendLink lists the mail on the order before it
// sends (sending), and records what the transport answered: accepted or
// sent. The mail's operation id and, for a download mail, the order under
// its address are indexed before the send.
func TestHandleRecordsEachMail(t *testing.T) {
	for _, tc := range []struct {
		receipt mail.SendStatus
		want    order.MailStatus
	}{{mail.Accepted, order.StatusAccepted}, {mail.Sent, order.StatusSent}} {
		t.Run(string(tc.receipt), func(t *testing.T) {
			rec := linksReady()
			rec.OrderedAt = now.Add(-time.Hour)
			recs := ordertest.NewLedger(rec)
			msg := message()
			sends := 0
			send := receiptSender(tc.receipt, func(m mail.Message) {
				sends++
				got, err := recs.SessionOfMail(context.Background(), m.Key)
				require.NoError(t, err, "the operation id is indexed before the send")
				require.Equal(t, session, got)
				require.Equal(t, []string{session}, recs.Indexed("ADA@customer.example"), "the order is indexed under its address before the send")
				o := recs.Record(t, session)
				listed, ok := o.MailOf(m.Key)
				require.True(t, ok, "the claim lists the mail")
				require.Equal(t, order.StatusSending, listed.Status())
			})
			stage := newStage(t, sendlink.Deps{Sender: send, Records: recs, Index: recs, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)})
			require.NoError(t, stage.Handle(context.Background(), attempt(nil, "inv-1"), msg))
			require.NoError(t, stage.Handle(context.Background(), attempt(nil, "inv-2"), msg), "a redelivery")
			require.Equal(t, 1, sends)

			o := recs.Record(t, session)
			require.Equal(t, order.StateMailSent, o.State(), "the order's state after a send is mail_sent either way")
			require.Equal(t, []order.MailRecord{{OperationID: msg.Key(), Kind: order.MailDownloadLinks, Generation: 1, To: "ada@customer.example",
				Send: tc.want, StartedAt: now, SentAt: now}}, o.Mails())
			got, err := recs.OrdersOf(context.Background(), "ada@customer.example")
			require.NoError(t, err)
			require.Equal(t, []order.IndexedOrder{{SessionID: session, At: now.Add(-time.Hour)}}, got, "listed under the order's date")
		})
	}
}

// TestHandlePaymentNoticeIsNotIndexedByEmail: only a download mail fulfils
// an order, so only it lists the order under the customer's address.
func TestHandlePaymentNoticeIsNotIndexedByEmail(t *testing.T) {
	rec := ordertest.Edit(linksReady(), func(s *order.Snapshot) { s.State, s.MailKind = order.StatePaymentFailed, order.MailPaymentFailed })
	recs := ordertest.NewLedger(rec)
	msg := message()
	msg.Kind, msg.Items = order.MailPaymentFailed, nil
	stage := newStage(t, sendlink.Deps{Sender: receiptSender(mail.Accepted, nil), Records: recs, Index: recs, Now: func() time.Time { return now },
		Log: slog.New(slog.DiscardHandler)})
	require.NoError(t, stage.Handle(context.Background(), attempt(nil, "inv-1"), msg))
	require.Empty(t, recs.Indexed("ada@customer.example"))
	got, err := recs.SessionOfMail(context.Background(), msg.Key())
	require.NoError(t, err)
	require.Equal(t, session, got)
}

// TestHandleMarksAPermanentFailure: a send refused for good leaves the mail
// failed, with the reason, beside the order's needs_attention.
func TestHandleMarksAPermanentFailure(t *testing.T) {
	recs := ordertest.NewLedger(linksReady())
	var sent sentMails
	stage := newStage(t, sendlink.Deps{Sender: sent.sender(order.Permanentf("acs: InvalidEmailAddress")), Records: recs, Index: recs,
		Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)})
	err := stage.Handle(context.Background(), attempt(nil, "inv-1"), message())
	require.Equal(t, order.ClassPermanent, order.Classify(err))
	o := recs.Record(t, session)
	require.Equal(t, order.StateNeedsAttention, o.State())
	m, ok := o.LastMail()
	require.True(t, ok)
	require.Equal(t, order.StatusFailed, m.Status())
	require.Contains(t, m.Error, "InvalidEmailAddress")
}

// fulfilled is an order whose download mail went out.
func fulfilled() order.Order {
	o := ordertest.Edit(linksReady(), func(s *order.Snapshot) { s.State, s.SentGeneration = order.StateMailSent, 1 })
	o.LastError, o.Attempts = "", 0
	o.OperationID = message().Key()
	o.Mail = []byte(`{"v":1}`)
	o.StartMail(message(), now.Add(-time.Hour))
	return o
}

// linksMessage lists two orders of the customer, on the newer one (session).
func linksMessage(gen int) order.MailJob {
	return order.MailJob{Version: order.MailJobVersion, Kind: order.MailOrderLinks, SessionID: session, Generation: gen,
		Customer: order.Customer{Email: "ada@customer.example"},
		Orders: []order.OrderLink{
			{SessionID: session, OrderedAt: now, Items: []string{"Harbour"}, URL: "https://shop.example/api/download/" + session + ".queued"},
			{SessionID: "cs_test_older", OrderedAt: now.Add(-48 * time.Hour), Items: []string{"Fern"}, URL: "https://shop.example/api/download/cs_test_older.queued"},
		}}
}

// TestOrderLinksMail: the mail that lists a customer's orders is sent once
// per generation under its own key, with each order's link signed when it
// is sent, and changes nothing of the order it is recorded on but its mails.
func TestOrderLinksMail(t *testing.T) {
	recs := ordertest.NewLedger(fulfilled())
	before := recs.Record(t, session)
	var sent sentMails
	stage := newStage(t, sendlink.Deps{Sender: sent.sender(nil), Records: recs, Index: recs,
		OrderPage: func(s string) string { return "https://shop.example/api/download/" + s + ".fresh" },
		Now:       func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)})

	msg := linksMessage(1)
	require.NoError(t, stage.Handle(context.Background(), attempt(nil, "inv-1"), msg))
	require.NoError(t, stage.Handle(context.Background(), attempt(nil, "inv-2"), msg), "a redelivery sends nothing")
	require.Equal(t, 1, sent.count())
	m := sent.mails[0]
	require.Equal(t, msg.Key(), m.Key)
	require.Contains(t, m.Text, "https://shop.example/api/download/"+session+".fresh")
	require.Contains(t, m.Text, "https://shop.example/api/download/cs_test_older.fresh")
	require.NotContains(t, m.Text, ".queued", "every link is signed when the mail is sent")

	o := recs.Record(t, session)
	require.Equal(t, before.State(), o.State())
	require.Equal(t, before.SentGeneration(), o.SentGeneration())
	require.Equal(t, before.MailGeneration(), o.MailGeneration())
	require.Equal(t, before.OperationID, o.OperationID)
	require.Equal(t, before.Mail, o.Mail, "resend still sends the download mail")
	require.Empty(t, o.LeaseOwner)
	last, _ := o.LastMail()
	require.Equal(t, order.MailRecord{OperationID: msg.Key(), Kind: order.MailOrderLinks, Generation: 1, To: "ada@customer.example",
		Send: order.StatusAccepted, StartedAt: now, SentAt: now}, last)
	require.Empty(t, recs.Indexed("ada@customer.example"), "only a download mail indexes the order by address")

	require.NoError(t, stage.Handle(context.Background(), attempt(nil, "inv-3"), linksMessage(2)))
	require.Equal(t, 2, sent.count(), "the next request's mail is another mail")
}

// TestOrderLinksMailFailures: a failed order_links mail is not the order's
// failure: a permanent one marks the mail failed and is acknowledged, a
// transient one releases the lease for the route to retry; the order's
// state, reason and last error stay.
func TestOrderLinksMailFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		class order.Class
		want  order.MailStatus
	}{
		{"permanent", order.Permanentf("acs: EmailDroppedAllRecipientsSuppressed"), order.ClassPermanent, order.StatusFailed},
		{"transient", order.Transient(errors.New("acs: 503")), order.ClassTransient, order.StatusSending},
		{"retryable", errors.New("connection reset"), order.ClassRetryable, order.StatusSending},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := ordertest.NewLedger(fulfilled())
			var sent sentMails
			stage := newStage(t, sendlink.Deps{Sender: sent.sender(tc.err), Records: recs, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)})
			err := stage.Handle(context.Background(), attempt(nil, "inv-1"), linksMessage(1))
			require.Equal(t, tc.class, order.Classify(err), "%v", err)
			o := recs.Record(t, session)
			require.Equal(t, order.StateMailSent, o.State())
			require.Empty(t, o.Reason)
			require.Empty(t, o.LastError)
			require.Zero(t, o.Attempts)
			require.Empty(t, o.LeaseOwner, "the lease is released")
			m, _ := o.MailOf(linksMessage(1).Key())
			require.Equal(t, tc.want, m.Status())
		})
	}
}

// TestHandleIndexesTheServicesOwnID: a service that names the send by an
// id of its own gets that id indexed too, and kept on the mail, so that
// its delivery reports find the mail either way.
func TestHandleIndexesTheServicesOwnID(t *testing.T) {
	recs := ordertest.NewLedger(linksReady())
	const own = "0a1b2c3d-0000-4000-8000-00000000abcd"
	send := sendlink.SenderFunc(func(context.Context, mail.Message) (mail.Receipt, error) {
		return mail.Receipt{OperationID: own, Status: mail.Sent}, nil
	})
	stage := newStage(t, sendlink.Deps{Sender: send, Records: recs, Index: recs, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)})
	require.NoError(t, stage.Handle(context.Background(), attempt(nil, "inv-1"), message()))
	for _, id := range []string{own, message().Key()} {
		got, err := recs.SessionOfMail(context.Background(), id)
		require.NoError(t, err, id)
		require.Equal(t, session, got)
	}
	o := recs.Record(t, session)
	m, ok := o.MailOf(own)
	require.True(t, ok)
	require.Equal(t, message().Key(), m.OperationID)
	require.Equal(t, own, m.ServiceID)
}
