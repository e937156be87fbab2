package operator

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

// downloadMail is a valid download mail of one file, as JSON.
func downloadMail(t *testing.T, session string, generation int, expires time.Time) []byte {
	t.Helper()
	data, err := json.Marshal(order.MailJob{Version: 1, Kind: order.MailDownloadLinks, SessionID: session, EventID: "evt_" + session,
		Generation: generation, Customer: order.Customer{Email: "jane@example.com", Name: "Jane"},
		Items: []order.Item{{Title: "Harbour", FileName: "harbour.jpg",
			URL: "https://acct.blob.core.windows.net/originals/harbour.jpg?sv=2024&sig=SECRET", ExpiresAt: expires}}})
	require.NoError(t, err)
	return data
}

// pageMail is a download mail of DOWNLOAD_LINKS=page: it links to the order
// page, whose link does not expire.
func pageMail(t *testing.T, session string, generation int) []byte {
	t.Helper()
	data, err := json.Marshal(order.MailJob{Version: 1, Kind: order.MailDownloadLinks, SessionID: session, EventID: "evt_" + session,
		Generation: generation, Customer: order.Customer{Email: "jane@example.com"}, Items: []order.Item{{Title: "Harbour", FileName: "harbour.jpg"}},
		OrderURL: "https://shop.example/api/download/" + session + ".token"})
	require.NoError(t, err)
	return data
}

func TestResenderMail(t *testing.T) {
	now := time.Date(2024, 1, 20, 12, 0, 0, 0, time.UTC)
	failedMail, err := json.Marshal(order.MailJob{Version: 1, Kind: order.MailPaymentFailed, SessionID: "cs_test_failed",
		Generation: 1, Customer: order.Customer{Email: "bob@example.com"}})
	require.NoError(t, err)
	tests := []struct {
		name       string
		rec        order.Order
		generation int
		state      order.State
	}{
		{"sent download mail", order.Restore(order.Snapshot{SessionID: "cs_test_sent", State: order.StateMailSent, MailKind: order.MailDownloadLinks,
			MailGeneration: 1, SentGeneration: 1, Mail: downloadMail(t, "cs_test_sent", 1, now.Add(24*time.Hour))}), 2, order.StateLinksReady},
		{"bounced resend", order.Restore(order.Snapshot{SessionID: "cs_test_bounced", State: order.StateNeedsAttention, Reason: "the mail service refused the address",
			MailKind: order.MailDownloadLinks, MailGeneration: 2, SentGeneration: 1, Mail: downloadMail(t, "cs_test_bounced", 2, now.Add(24*time.Hour))}),
			3, order.StateLinksReady},
		{"order page mail, weeks later: the same order page link", order.Restore(order.Snapshot{SessionID: "cs_test_page", State: order.StateMailSent, MailKind: order.MailDownloadLinks,
			MailGeneration: 1, SentGeneration: 1, Mail: pageMail(t, "cs_test_page", 1)}), 2, order.StateLinksReady},
		{"payment notice", order.Restore(order.Snapshot{SessionID: "cs_test_failed", State: order.StatePaymentFailed, MailKind: order.MailPaymentFailed,
			MailGeneration: 1, SentGeneration: 1, Mail: failedMail}), 2, order.StatePaymentFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, mails, orders := newRecords(tt.rec), &memQueue{}, &memQueue{}
			before := recs.get(tt.rec.SessionID)
			got, err := resender(t, ResenderDeps{Records: recs, Mails: mails, Orders: orders, Now: func() time.Time { return now }}).Mail(context.Background(), before, false)
			require.NoError(t, err)

			want, err := order.DecodeMailJob(before.Mail)
			require.NoError(t, err)
			want.Generation = tt.generation
			require.Equal(t, want, got, "the last mail, as a new generation")
			queued := mails.data()
			require.Len(t, queued, 1, "exactly one mail queued")
			sent, err := order.DecodeMailJob(queued[0])
			require.NoError(t, err)
			require.Equal(t, want, sent)
			require.Empty(t, orders.texts())

			rec := recs.get(tt.rec.SessionID)
			require.Equal(t, tt.generation, rec.MailGeneration())
			require.Equal(t, before.SentGeneration(), rec.SentGeneration())
			require.Equal(t, tt.state, rec.State())
			require.Empty(t, rec.Reason)
			require.Equal(t, now, rec.UpdatedAt)
			require.JSONEq(t, string(queued[0]), string(rec.Mail), "the ledger holds the mail queued")
		})
	}

	refused := []struct {
		name string
		rec  order.Order
		want string
		is   error
	}{
		{"expired links", order.Restore(order.Snapshot{SessionID: "cs_test_expired", State: order.StateMailSent, MailKind: order.MailDownloadLinks, MailGeneration: 1,
			SentGeneration: 1, Mail: downloadMail(t, "cs_test_expired", 1, now.Add(-time.Hour))}), "expires 2024-01-20T11:00:00Z: use resend --new-links", nil},
		{"links expire within the hour", order.Restore(order.Snapshot{SessionID: "cs_test_soon", State: order.StateMailSent, MailGeneration: 1,
			Mail: downloadMail(t, "cs_test_soon", 1, now.Add(MinLinkLife-time.Second))}), "use resend --new-links", nil},
		{"no mail ever queued", order.Restore(order.Snapshot{SessionID: "cs_test_nomail", State: order.StateNeedsAttention, Reason: "original missing"}),
			"order cs_test_nomail (needs_attention) has no mail to resend", ErrNoMail},
		{"mail does not decode", order.Restore(order.Snapshot{SessionID: "cs_test_garbled", State: order.StateMailSent, MailGeneration: 1, Mail: []byte(`{"v":1}`)}),
			"the last mail does not decode", nil},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			recs, mails := newRecords(tt.rec), &memQueue{}
			before := recs.get(tt.rec.SessionID)
			_, err := resender(t, ResenderDeps{Records: recs, Mails: mails, Orders: &memQueue{}, Now: func() time.Time { return now }}).Mail(context.Background(), before, false)
			require.ErrorContains(t, err, tt.want)
			if tt.is != nil {
				require.ErrorIs(t, err, tt.is)
			}
			require.Empty(t, mails.texts(), "nothing queued")
			require.Equal(t, before, recs.get(tt.rec.SessionID), "nothing recorded")
		})
	}

	t.Run("no record", func(t *testing.T) {
		recs, mails := newRecords(), &memQueue{}
		_, err := resender(t, ResenderDeps{Records: recs, Mails: mails, Orders: &memQueue{}, Now: time.Now}).Mail(context.Background(), order.Order{SessionID: "cs_test_gone"}, false)
		require.ErrorIs(t, err, order.ErrNotFound)
		require.Empty(t, mails.texts())
		require.Empty(t, recs.get("cs_test_gone").ETag, "no record is made up")
	})

	t.Run("queueing fails after recording", func(t *testing.T) {
		rec := order.Restore(order.Snapshot{SessionID: "cs_test_sent", State: order.StateMailSent, MailKind: order.MailDownloadLinks, MailGeneration: 1,
			SentGeneration: 1, Mail: downloadMail(t, "cs_test_sent", 1, now.Add(24*time.Hour))})
		recs, mails := newRecords(rec), &memQueue{sendErr: errors.New("queue down")}
		_, err := resender(t, ResenderDeps{Records: recs, Mails: mails, Orders: &memQueue{}, Now: func() time.Time { return now }}).Mail(context.Background(), recs.get(rec.SessionID), false)
		require.ErrorContains(t, err, "the ledger records mail generation 2 of cs_test_sent but queueing it failed (run resend again): queue down")
		require.Equal(t, 2, recs.get(rec.SessionID).MailGeneration(), "the next resend takes generation 3")
	})
}

func TestResenderNewLinks(t *testing.T) {
	now := time.Date(2024, 1, 20, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		rec     order.Order
		sendErr error
		want    string // the error, "" for none
	}{
		{name: "needs attention, live", rec: order.Restore(order.Snapshot{SessionID: "cs_live_1", State: order.StateNeedsAttention, Livemode: true})},
		{name: "mail sent", rec: order.Restore(order.Snapshot{SessionID: "cs_test_sent", State: order.StateMailSent, SentGeneration: 1})},
		{name: "payment failed", rec: order.Restore(order.Snapshot{SessionID: "cs_test_failed", State: order.StatePaymentFailed}), want: "the payment failed"},
		{name: "awaiting payment", rec: order.Restore(order.Snapshot{SessionID: "cs_test_waiting", State: order.StateAwaitingPayment}), want: "awaits its payment"},
		{name: "the queue fails", rec: order.Restore(order.Snapshot{SessionID: "cs_test_sent", State: order.StateMailSent}), sendErr: errors.New("queue down"),
			want: "queue down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, mails, orders := newRecords(tt.rec), &memQueue{}, &memQueue{sendErr: tt.sendErr}
			before := recs.get(tt.rec.SessionID)
			got, err := resender(t, ResenderDeps{Records: recs, Mails: mails, Orders: orders, Now: func() time.Time { return now }}).NewLinks(context.Background(), before, false)
			require.Equal(t, before, recs.get(tt.rec.SessionID), "ProcessOrder records the new links, not the resend")
			require.Empty(t, mails.texts())
			if tt.want != "" {
				require.ErrorContains(t, err, tt.want)
				require.Empty(t, orders.texts(), "nothing queued")
				return
			}
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(got.EventID, "evt_resend_"), got.EventID)
			require.Equal(t, order.ProcessJob{Version: 1, EventID: got.EventID, EventType: order.EventCompleted, SessionID: tt.rec.SessionID,
				Livemode: tt.rec.Livemode, Created: now.Unix(), Trigger: order.TriggerOperator, NewLinks: true}, got)
			queued := orders.data()
			require.Len(t, queued, 1)
			m, err := order.DecodeProcessJob(queued[0])
			require.NoError(t, err)
			require.Equal(t, got, m)
		})
	}
}

// resender builds a Resender from d.
func resender(t *testing.T, d ResenderDeps) *Resender {
	t.Helper()
	rs, err := NewResender(d)
	require.NoError(t, err)
	return rs
}
