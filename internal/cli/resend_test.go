package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/orderlink"
	"github.com/filedrop/filedrop/internal/storage/blobstore"
	"github.com/filedrop/filedrop/internal/stripeapi/stripetest"
)

func TestResend(t *testing.T) {
	o := newOps(t, nil)
	now := time.Now().UTC()
	failedMail, err := json.Marshal(order.MailJob{Version: 1, Kind: order.MailPaymentFailed, SessionID: "cs_test_failed",
		Generation: 1, Customer: order.Customer{Email: "bob@example.com"}})
	require.NoError(t, err)
	o.seed(t,
		order.Restore(order.Snapshot{SessionID: "cs_test_sent", State: order.StateMailSent, MailKind: order.MailDownloadLinks, MailGeneration: 1,
			SentGeneration: 1, Mail: downloadMail(t, "cs_test_sent", 1, now.Add(24*time.Hour))}),
		order.Restore(order.Snapshot{SessionID: "cs_test_bounced", State: order.StateNeedsAttention, Reason: "the mail service refused the address",
			MailKind: order.MailDownloadLinks, MailGeneration: 2, SentGeneration: 1, Mail: downloadMail(t, "cs_test_bounced", 2, now.Add(24*time.Hour))}),
		order.Restore(order.Snapshot{SessionID: "cs_test_failed", State: order.StatePaymentFailed, MailKind: order.MailPaymentFailed, MailGeneration: 1,
			SentGeneration: 1, Mail: failedMail}),
		order.Restore(order.Snapshot{SessionID: "cs_test_expired", State: order.StateMailSent, MailKind: order.MailDownloadLinks, MailGeneration: 1,
			SentGeneration: 1, Mail: downloadMail(t, "cs_test_expired", 1, now.Add(-time.Hour))}),
		order.Restore(order.Snapshot{SessionID: "cs_test_nomail", State: order.StateNeedsAttention, Reason: "original missing"}),
		order.Restore(order.Snapshot{SessionID: "cs_test_live", State: order.StateNeedsAttention, Livemode: true}),
	)

	tests := []struct {
		session    string
		generation int
		state      order.State
		kind       string
	}{
		{"cs_test_sent", 2, order.StateLinksReady, order.MailDownloadLinks},
		{"cs_test_bounced", 3, order.StateLinksReady, order.MailDownloadLinks},
		{"cs_test_failed", 2, order.StatePaymentFailed, order.MailPaymentFailed},
	}
	for _, tt := range tests {
		t.Run("mail again: "+tt.session, func(t *testing.T) {
			t.Cleanup(func() { require.NoError(t, o.queues.Queue("send-link").Clear(context.Background())) })
			before := o.record(t, tt.session)
			out, stderr, err := o.run(t, "resend", tt.session)
			require.NoError(t, err, stderr)
			key := order.MailKey(tt.session, tt.kind, tt.generation)
			require.Contains(t, out, "generation "+strconv.Itoa(tt.generation))
			require.Contains(t, out, key)

			queued := o.peek(t, "send-link")
			require.Len(t, queued, 1, "exactly one mail queued")
			got, err := order.DecodeMailJob(queued[0])
			require.NoError(t, err)
			want, err := order.DecodeMailJob(before.Mail)
			require.NoError(t, err)
			want.Generation = tt.generation
			require.Equal(t, want, got, "the last mail, as a new generation")
			require.Equal(t, key, got.Key())

			rec := o.record(t, tt.session)
			require.Equal(t, tt.generation, rec.MailGeneration())
			require.Equal(t, before.SentGeneration(), rec.SentGeneration())
			require.Equal(t, tt.state, rec.State())
			require.Empty(t, rec.Reason)
			require.JSONEq(t, string(queued[0]), string(rec.Mail), "the ledger holds the mail queued")
		})
	}

	t.Run("new links", func(t *testing.T) {
		t.Cleanup(func() { require.NoError(t, o.queues.Queue("process-order").Clear(context.Background())) })
		out, stderr, err := o.run(t, "resend", "cs_test_live", "--new-links", "--json")
		require.NoError(t, err, stderr)
		msgs := o.orderMessages(t)
		require.Len(t, msgs, 1)
		m := msgs[0]
		require.True(t, strings.HasPrefix(m.EventID, "evt_resend_"), m.EventID)
		require.WithinDuration(t, time.Now(), time.Unix(m.Created, 0), time.Minute)
		require.Equal(t, order.ProcessJob{Version: 1, EventID: m.EventID, EventType: order.EventCompleted, SessionID: "cs_test_live",
			Livemode: true, Created: m.Created, Trigger: order.TriggerOperator, NewLinks: true}, m)
		var r resent
		require.NoError(t, json.Unmarshal([]byte(out), &r))
		require.Equal(t, resent{SessionID: "cs_test_live", Queue: "process-order", EventID: m.EventID}, r)
		require.Empty(t, o.peek(t, "send-link"))
	})

	refused := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown session", []string{"resend", "cs_test_unknown"}, ExitNotFound, "no order for session cs_test_unknown"},
		{"unknown session, new links", []string{"resend", "cs_test_unknown", "--new-links"}, ExitNotFound, "no order"},
		{"expired links", []string{"resend", "cs_test_expired"}, ExitFailure, "use resend --new-links"},
		{"no mail ever queued", []string{"resend", "cs_test_nomail"}, ExitFailure, "resend --new-links"},
		{"new links for a failed payment", []string{"resend", "--new-links", "cs_test_failed"}, ExitFailure, "the payment failed"},
		{"no session", []string{"resend"}, ExitUsage, "one Checkout Session id"},
		{"bad flag", []string{"resend", "cs_test_sent", "--new-link"}, ExitUsage, "flag provided but not defined"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := o.run(t, tt.args...)
			require.Equal(t, tt.code, exitCode(err), "%v", err)
			require.ErrorContains(t, err, tt.want)
			require.Empty(t, o.peek(t, "send-link"), "nothing queued")
			require.Empty(t, o.peek(t, "process-order"), "nothing queued")
		})
	}
	require.Equal(t, 1, o.record(t, "cs_test_expired").MailGeneration(), "a refused resend records nothing")
}

// fixtureOriginals are the files the stripetest session's products name.
var fixtureOriginals = []string{"landscapes/sunset-harbour.jpg", "städte/Zürich – Nacht.jpg", "prod_PmFern0003.jpg", "landscapes/dunes.jpg"}

// TestResendProducesExactlyOneNewMail runs the whole pipeline (handler
// local, the outbox, Stripe's fixture session) to the customer's first mail,
// then resends it: exactly one more mail arrives, under the next
// generation's key.
func TestResendProducesExactlyOneNewMail(t *testing.T) {
	srv := stripetest.NewServer(t)
	o := newOps(t, map[string]string{"STRIPE_API_KEY": stripetest.Key, "STRIPE_API_URL": srv.URL})
	ctx := context.Background()
	originals, err := blobstore.New(o.acct, blobstore.Options{Container: "originals", TTL: time.Hour}, time.Now)
	require.NoError(t, err)
	for _, name := range fixtureOriginals {
		require.NoError(t, originals.Upload(ctx, name, []byte("\xff\xd8\xff "+name)))
	}
	local, base := startLocal(t, o.settings)
	url := base + "/api/CheckoutComplete"
	_, stderr, err := o.run(t, "simulate", "checkout", "--session", stripetest.SessionID, "--url", url)
	require.NoError(t, err, stderr)

	outbox := o.settings["EMAIL_OUTBOX_DIR"]
	first := order.MailKey(stripetest.SessionID, order.MailDownloadLinks, 1) + ".eml"
	waitFor(t, local, "the first mail", func() bool { return o.sent(t, stripetest.SessionID) == 1 })
	require.Equal(t, []string{first}, mails(t, outbox))

	out, stderr, err := o.run(t, "resend", stripetest.SessionID)
	require.NoError(t, err, stderr)
	require.Contains(t, out, "generation 2")

	second := order.MailKey(stripetest.SessionID, order.MailDownloadLinks, 2) + ".eml"
	waitFor(t, local, "the resent mail", func() bool { return o.sent(t, stripetest.SessionID) == 2 })
	require.ElementsMatch(t, []string{first, second}, mails(t, outbox), "exactly one new mail, under a new key")
	rec := o.record(t, stripetest.SessionID)
	require.Equal(t, order.StateMailSent, rec.State())
	require.Equal(t, 2, rec.MailGeneration())
	require.Equal(t, strings.TrimSuffix(second, ".eml"), rec.OperationID)
	require.Empty(t, o.peek(t, "send-link"))
	local.stop(t)
	require.Len(t, mails(t, outbox), 2)
}

// sent returns the session's SentGeneration, 0 while it has no record.
func (o *ops) sent(t *testing.T, session string) int {
	rec, err := o.ledger.Get(context.Background(), session)
	if err != nil {
		return 0
	}
	return rec.SentGeneration()
}

// waitFor waits up to 30 s for cond while the program runs.
func waitFor(t *testing.T, p *program, what string, cond func() bool) {
	t.Helper()
	for range 300 {
		if cond() {
			return
		}
		select {
		case err := <-p.done:
			t.Fatalf("the program exited waiting for %s: %v\nstderr: %s", what, err, p.stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("no %s within 30s; stderr: %s", what, p.stderr.String())
}

// mails lists the .eml files of the outbox.
func mails(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	require.NoError(t, err)
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	return names
}

// TestResendAfterRotationMailsTheNewLink: with ORDER_LINK_SECRET="NEW,OLD",
// a resent mail carries a link signed with NEW, the first secret when it
// is sent, not the link signed with OLD that was queued before the
// rotation.
func TestResendAfterRotationMailsTheNewLink(t *testing.T) {
	const rotated = "rotated-order-link-secret-0123456789abcdef"
	o := newOps(t, map[string]string{"ORDER_LINK_SECRET": rotated + "," + testOrderLinkSecret})
	const session = "cs_test_rotated"
	old, err := orderlink.New("https://shop.example", []string{testOrderLinkSecret})
	require.NoError(t, err)
	fresh, err := orderlink.New("https://shop.example", []string{rotated})
	require.NoError(t, err)
	mail, err := json.Marshal(order.MailJob{Version: 1, Kind: order.MailDownloadLinks, SessionID: session, EventID: "evt_rotated", Generation: 1,
		Customer: order.Customer{Email: "jane@example.com"}, Items: []order.Item{{Title: "Harbour", FileName: "harbour.jpg"}}, OrderURL: old.URL(session)})
	require.NoError(t, err)
	now := time.Now().UTC()
	o.seed(t, order.Restore(order.Snapshot{SessionID: session, State: order.StateMailSent, MailKind: order.MailDownloadLinks, MailGeneration: 1, SentGeneration: 1,
		Mail: mail, PaidAt: now, CreatedAt: now, Files: []order.File{{Title: "Harbour", Blob: "harbour.jpg", FileName: "harbour.jpg", Size: 5}}}))

	_, stderr, err := o.run(t, "resend", session)
	require.NoError(t, err, stderr)
	local, _ := startLocal(t, o.settings)
	waitFor(t, local, "the resent mail", func() bool { return o.sent(t, session) == 2 })
	raw, err := os.ReadFile(filepath.Join(o.settings["EMAIL_OUTBOX_DIR"], order.MailKey(session, order.MailDownloadLinks, 2)+".eml"))
	require.NoError(t, err)
	eml, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
	require.NoError(t, err)
	require.Contains(t, string(eml), fresh.URL(session), "the link is signed with the first secret")
	require.NotContains(t, string(eml), old.URL(session), "not with the one it was queued with")
}

// TestResendOfARevokedOrder: resend, and resend --new-links, of an order
// whose access a hold closes are refused with a message that names grant
// (exit 1), and queue nothing; --force sends anyway, with a warning.
func TestResendOfARevokedOrder(t *testing.T) {
	o := newOps(t, nil)
	const session = "cs_test_revoked"
	now := time.Now().UTC()
	o.seed(t, order.Restore(order.Snapshot{SessionID: session, State: order.StateMailSent, MailKind: order.MailDownloadLinks, MailGeneration: 1, SentGeneration: 1,
		Mail: downloadMail(t, session, 1, now.Add(24*time.Hour)), PaidAt: now, CreatedAt: now, LinksReadyAt: now,
		Files:       []order.File{{Title: "Harbour", Blob: "harbour.jpg", FileName: "harbour.jpg", Size: 5, Downloads: 2}},
		AccessHolds: []order.Hold{{Kind: order.HoldRefund, Ref: "ch_1", Event: "evt_r", At: now, Reason: "refunded in full (2000 of 2000)"}}}))

	for _, args := range [][]string{{"resend", session}, {"resend", session, "--new-links"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, _, err := o.run(t, args...)
			require.Equal(t, ExitFailure, exitCode(err), "%v", err)
			require.ErrorContains(t, err, "handler grant "+session)
			require.ErrorContains(t, err, "refund of ch_1")
			require.Empty(t, o.peek(t, "send-link"))
			require.Empty(t, o.peek(t, "process-order"))
			rec := o.record(t, session)
			require.Equal(t, order.StateMailSent, rec.State())
			require.Equal(t, 1, rec.MailGeneration())
		})
	}
	t.Run("--force", func(t *testing.T) {
		out, stderr, err := o.run(t, "resend", session, "--force")
		require.NoError(t, err, stderr)
		require.Contains(t, out, "warning: access to "+session+" is closed by refund of ch_1")
		require.Len(t, o.peek(t, "send-link"), 1)
	})
	t.Run("--new-links --force", func(t *testing.T) {
		_, stderr, err := o.run(t, "resend", session, "--new-links", "--force")
		require.NoError(t, err, stderr)
		msgs := o.orderMessages(t)
		require.Len(t, msgs, 1)
		require.True(t, msgs[0].Force, "ProcessOrder mints links although access is closed")
	})
}
