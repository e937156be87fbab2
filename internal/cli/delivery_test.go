package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/deliveryreport"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/stripeapi/stripetest"
)

// readMail returns the outbox's mail name, decoded from quoted-printable.
func readMail(t *testing.T, dir, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err)
	eml, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
	require.NoError(t, err)
	return string(eml)
}

// TestDeliveryReportsEndToEnd runs a bounce through handler local: the
// order's mail is accepted (the outbox has no reports), simulate delivery
// puts an Event Grid report on the delivery-reports queue, the
// DeliveryReport function records it, orders show and orders list
// --status undelivered show it, and resend --to mails a corrected address.
func TestDeliveryReportsEndToEnd(t *testing.T) {
	s := newShop(t)
	const session = stripetest.SessionID
	s.buy(t, session, stripetest.PaymentIntent)
	rec := s.record(t, session)
	first, ok := rec.LastMail()
	require.True(t, ok)
	require.Equal(t, order.StatusAccepted, first.Status(), "the outbox takes the mail and never reports on it")
	require.Equal(t, "jane.doe@example.com", first.To)

	out, stderr, err := s.run(t, "orders", "show", session)
	require.NoError(t, err, stderr)
	require.Contains(t, out, "download_links 1")
	require.Contains(t, out, "to jane.doe@example.com: accepted")

	out, stderr, err = s.run(t, "simulate", "delivery", "--session", session, "--status", "bounced", "--message", "550 5.1.1 mailbox unknown")
	require.NoError(t, err, stderr)
	require.Contains(t, out, "queued a Bounced report of download_links mail generation 1 of "+session)
	waitFor(t, s.local, "the report recorded", func() bool {
		o := s.record(t, session)
		m, _ := o.LastMail()
		return m.Undelivered()
	})
	require.Equal(t, 1, strings.Count(s.local.stderr.String(), "mail not delivered"), "one warning line")
	require.NotContains(t, s.local.stderr.String(), "jane.doe@example.com", "the address is not logged")

	out, stderr, err = s.run(t, "orders", "show", session)
	require.NoError(t, err, stderr)
	require.Contains(t, out, "NOT DELIVERED: Bounced")
	require.Contains(t, out, "550 5.1.1 mailbox unknown")
	out, stderr, err = s.run(t, "orders", "list", "--status", "undelivered")
	require.NoError(t, err, stderr)
	require.Contains(t, out, session)
	require.Contains(t, out, "mail not delivered (Bounced): 550 5.1.1 mailbox unknown")
	out, stderr, err = s.run(t, "orders", "show", session, "--json")
	require.NoError(t, err, stderr)
	var v orderView
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	require.Len(t, v.Mails, 1)
	require.Equal(t, "not_delivered", v.Mails[0].Status)
	require.Equal(t, "Bounced", v.Mails[0].Report.Status)

	out, stderr, err = s.run(t, "resend", session, "--to", "jane@corrected.example")
	require.NoError(t, err, stderr)
	require.Contains(t, out, "generation 2 for "+session+" to jane@corrected.example")
	waitFor(t, s.local, "the resent mail", func() bool { return s.sent(t, session) == 2 })
	resent := order.MailKey(session, order.MailDownloadLinks, 2)
	require.True(t, strings.Contains(readMail(t, s.settings["EMAIL_OUTBOX_DIR"], resent+".eml"), "\r\nTo: \"Jane Doe\" <jane@corrected.example>\r\n"),
		"the resent mail goes to the corrected address")
	rec = s.record(t, session)
	last, _ := rec.LastMail()
	require.Equal(t, order.MailRecord{OperationID: resent, Kind: order.MailDownloadLinks, Generation: 2, To: "jane@corrected.example",
		Send: order.StatusAccepted, StartedAt: last.StartedAt, SentAt: last.SentAt}, last)
	require.Equal(t, "jane.doe@example.com", rec.CustomerEmail, "Stripe's address stays the customer's")
	out, stderr, err = s.run(t, "orders", "list", "--status", "undelivered")
	require.NoError(t, err, stderr)
	require.Contains(t, out, "no orders match", "the last mail is the resent one")
	indexed, err := s.ledger.OrdersOf(context.Background(), "JANE@corrected.example")
	require.NoError(t, err)
	require.Len(t, indexed, 1, "the corrected address finds the order on the lost page")

	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"resend", session, "--to", "Jane <jane@example.com>"}, ExitUsage},
		{[]string{"resend", session, "--to", "not an address"}, ExitUsage},
		{[]string{"resend", session, "--to", "jane@example.com", "--new-links"}, ExitUsage},
		{[]string{"simulate", "delivery", "--session", session, "--status", "Lost"}, ExitUsage},
		{[]string{"simulate", "delivery", "--status", "Bounced"}, ExitUsage},
		{[]string{"simulate", "delivery", "--session", "cs_test_nobody"}, ExitNotFound},
	} {
		_, _, err := s.run(t, tc.args...)
		require.Equal(t, tc.code, exitCode(err), "%q: %v", tc.args, err)
	}
	s.local.stop(t)
}

// TestOrdersIndex: the backfill lists the fulfilled orders that exist under
// their addresses and their mails by operation id, and is idempotent.
func TestOrdersIndex(t *testing.T) {
	o := newOps(t, nil)
	now := time.Now().UTC().Truncate(time.Second)
	sent := order.Restore(order.Snapshot{SessionID: "cs_test_old_sent", State: order.StateMailSent, CustomerEmail: "Jane@Example.com",
		MailKind: order.MailDownloadLinks, MailGeneration: 1, SentGeneration: 1, PaidAt: now.Add(-48 * time.Hour), CreatedAt: now.Add(-48 * time.Hour),
		UpdatedAt: now.Add(-48 * time.Hour)})
	waiting := order.Restore(order.Snapshot{SessionID: "cs_test_old_waiting", State: order.StateLinksReady, CustomerEmail: "bob@example.com",
		CreatedAt: now, UpdatedAt: now})
	sent.RecordSend(order.MailJob{Kind: order.MailDownloadLinks, SessionID: sent.SessionID, Generation: 1, Customer: order.Customer{Email: "Jane@Example.com"}},
		order.StatusAccepted, "", now.Add(-48*time.Hour))
	o.seed(t, sent, waiting)
	for range 2 {
		out, stderr, err := o.run(t, "orders", "index")
		require.NoError(t, err, stderr)
		require.Equal(t, "read 2 orders: indexed 1 order under 1 address, 1 mail by operation id; 1 order not fulfilled (no address lists them)\n", out)
	}
	got, err := o.ledger.OrdersOf(context.Background(), "jane@example.com")
	require.NoError(t, err)
	require.Equal(t, []order.IndexedOrder{{SessionID: sent.SessionID, At: sent.PaidAt}}, got)
	none, err := o.ledger.OrdersOf(context.Background(), "bob@example.com")
	require.NoError(t, err)
	require.Empty(t, none)
	session, err := o.ledger.SessionOfMail(context.Background(), sent.Mails()[0].OperationID)
	require.NoError(t, err)
	require.Equal(t, sent.SessionID, session)

	out, stderr, err := o.run(t, "orders", "index", "--json")
	require.NoError(t, err, stderr)
	require.JSONEq(t, `{"Orders":1,"Addresses":1,"Mails":1,"Skipped":1,"read":2}`, out)
}

// outboxMails returns the outbox's mails other than those named in known.
func outboxMails(t *testing.T, dir string, known ...string) []string {
	t.Helper()
	return slices.DeleteFunc(mails(t, dir), func(n string) bool { return slices.Contains(known, n) })
}

// TestPoisonedReports: poison list decodes the delivery reports a ledger
// outage poisoned, and names what is wrong with the ones that never decode.
func TestPoisonedReports(t *testing.T) {
	o := newOps(t, nil)
	key := order.MailKey("cs_test_bounced", order.MailDownloadLinks, 1)
	good, err := deliveryreport.Event(deliveryreport.Simulated{EventID: "ev-poisoned", OperationID: key, Status: order.MailBounced, At: time.Now()})
	require.NoError(t, err)
	q := o.queues.Queue("delivery-reports-poison")
	require.NoError(t, q.Send(context.Background(), good, 0))
	require.NoError(t, q.Send(context.Background(), []byte(`{"id":"ev-bad","eventType":"Microsoft.Communication.EmailDeliveryReportReceived","data":{"messageId":"../x"}}`), 0))
	out, stderr, err := o.run(t, "poison", "list", "--queue", "DeliveryReport")
	require.NoError(t, err, stderr)
	for _, want := range []string{"delivery-reports-poison (DeliveryReport, back to delivery-reports): about 2 messages", "ev-poisoned",
		"Bounced of mail " + key, `invalid: invalid delivery report: messageId "../x" is not an operation id`} {
		require.Contains(t, out, want)
	}
}
