package cli

import (
	"bytes"
	"context"
	"io"
	"maps"
	"mime/quotedprintable"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/storage/blobstore"
	"github.com/filedrop/filedrop/internal/stripeapi"
	"github.com/filedrop/filedrop/internal/stripeapi/stripetest"
)

// shop is handler local on Azurite with the test Stripe and the order page:
// the whole pipeline, driven by signed webhooks.
type shop struct {
	*ops
	srv     *stripetest.Server
	local   *program
	webhook string
	client  *http.Client
}

func newShop(t *testing.T) *shop {
	t.Helper()
	srv := stripetest.NewServer(t)
	o := newOps(t, map[string]string{"STRIPE_API_KEY": stripetest.Key, "STRIPE_API_URL": srv.URL})
	delete(o.settings, "PUBLIC_BASE_URL") // handler local uses its own address
	ctx := context.Background()
	originals, err := blobstore.New(o.acct, blobstore.Options{Container: "originals", TTL: time.Hour}, time.Now)
	require.NoError(t, err)
	for _, name := range fixtureOriginals {
		require.NoError(t, originals.Upload(ctx, name, []byte("\xff\xd8\xff "+name)))
	}
	local, base := startLocal(t, o.settings)
	o.settings = maps.Clone(o.settings)  // the running handler keeps its own
	o.settings["PUBLIC_BASE_URL"] = base // for the operator's commands
	return &shop{ops: o, srv: srv, local: local, webhook: base + "/api/CheckoutComplete",
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// buy has the test Stripe serve a paid session with the id and payment
// intent, sends its checkout.session.completed webhook, waits for the
// download mail and returns the order page's link from it.
func (s *shop) buy(t *testing.T, session, paymentIntent string) string {
	t.Helper()
	s.srv.Edit(func(m map[string]any) { m["id"], m["payment_intent"] = session, paymentIntent })
	_, stderr, err := s.run(t, "simulate", "checkout", "--session", session, "--url", s.webhook)
	require.NoError(t, err, stderr)
	waitFor(t, s.local, "the mail of "+session, func() bool { return s.sent(t, session) == 1 })
	raw, err := os.ReadFile(filepath.Join(s.settings["EMAIL_OUTBOX_DIR"], order.MailKey(session, order.MailDownloadLinks, 1)+".eml"))
	require.NoError(t, err)
	eml, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
	require.NoError(t, err)
	page := orderLink.FindString(string(eml))
	require.Contains(t, page, session, "the mail links to the order page")
	return page
}

// send sends a signed refund or dispute webhook through the real endpoint
// and returns its answer, which must be 200.
func (s *shop) send(t *testing.T, eventID, eventType, objectID, paymentIntent string) string {
	t.Helper()
	body, header, err := stripeapi.SimulatedPaymentEvent(eventID, eventType, objectID, paymentIntent, false, testSecret, time.Now())
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, s.webhook, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Stripe-Signature", header)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", answer)
	return string(answer)
}

// pay sends a signed refund or dispute webhook through the real endpoint
// and waits until ProcessOrder has recorded it on the session's order.
func (s *shop) pay(t *testing.T, session, eventID, eventType, objectID, paymentIntent string) {
	t.Helper()
	require.Contains(t, s.send(t, eventID, eventType, objectID, paymentIntent), `"queued":true`)
	waitFor(t, s.local, eventType+" "+eventID, func() bool {
		return slices.Contains(s.record(t, session).EventIDs, eventID)
	})
}

// redeliver sends the signed refund or dispute webhook of eventID again,
// as Stripe redelivers an event, and waits until ProcessOrder has handled
// it (the process-order queue is empty again).
func (s *shop) redeliver(t *testing.T, eventID, eventType, objectID, paymentIntent string) {
	t.Helper()
	s.send(t, eventID, eventType, objectID, paymentIntent)
	waitFor(t, s.local, "the redelivery of "+eventID+" to be handled", func() bool {
		n, err := s.queues.Queue("process-order").Count(context.Background())
		return err == nil && n == 0
	})
}

// click presses the page's first Download button and returns the status.
func (s *shop) click(t *testing.T, page string) int {
	t.Helper()
	resp, err := s.client.PostForm(page, url.Values{"file": {"0"}})
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// view returns the page's HTML.
func (s *shop) view(t *testing.T, page string) string {
	t.Helper()
	resp, err := s.client.Get(page)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return string(body)
}

// TestRefundsAndDisputesEndToEnd runs refunds and disputes through the
// whole pipeline: signed webhooks to CheckoutComplete, the process-order
// queue, ProcessOrder finding the order through the test Stripe's list of
// sessions by payment intent and re-reading the charge or dispute, the
// ledger on Azurite, and the order page a customer then sees.
func TestRefundsAndDisputesEndToEnd(t *testing.T) {
	s := newShop(t)
	open := func(t *testing.T, page string) {
		t.Helper()
		require.Contains(t, s.view(t, page), `<button type="submit"`)
		require.Equal(t, http.StatusSeeOther, s.click(t, page))
	}
	ended := func(t *testing.T, page string) {
		t.Helper()
		html := s.view(t, page)
		require.Contains(t, html, "Der Zugang zu dieser Bestellung ist beendet", "in the mail's language (the session's locale is de)")
		require.NotContains(t, html, "<button")
		require.Equal(t, http.StatusForbidden, s.click(t, page))
	}

	t.Run("partial refund keeps access, full refund ends it", func(t *testing.T) {
		const session, pi = "cs_test_refund1", "pi_Refund1"
		page := s.buy(t, session, pi)
		open(t, page)

		s.srv.SetCharge("ch_Refund1", pi, 2000, 500)
		s.pay(t, session, "evt_partial1", order.EventChargeRefunded, "ch_Refund1", pi)
		rec := s.record(t, session)
		require.Equal(t, int64(500), rec.RefundedAmount)
		require.Empty(t, rec.AccessHolds())
		open(t, page)

		s.srv.SetCharge("ch_Refund1", pi, 2000, 2000)
		s.pay(t, session, "evt_full1", order.EventChargeRefunded, "ch_Refund1", pi)
		rec = s.record(t, session)
		require.Equal(t, []order.Hold{{Kind: order.HoldRefund, Ref: "ch_Refund1", Event: "evt_full1", At: rec.AccessHolds()[0].At, Reason: "refunded in full (2000 of 2000)"}}, rec.AccessHolds())
		require.Equal(t, int64(2000), rec.RefundedAmount)
		ended(t, page)
		require.Equal(t, 2, rec.Files[0].Downloads, "the refused click is not counted")
	})

	t.Run("dispute suspends, won restores", func(t *testing.T) {
		const session, pi = "cs_test_dispute1", "pi_Dispute1"
		page := s.buy(t, session, pi)
		s.srv.SetDispute("dp_Won1", "ch_Dispute1", pi, "needs_response")
		s.pay(t, session, "evt_dispute1", order.EventDisputeCreated, "dp_Won1", pi)
		require.Equal(t, order.HoldDispute, s.record(t, session).AccessHolds()[0].Kind)
		ended(t, page)

		s.srv.SetDispute("dp_Won1", "ch_Dispute1", pi, order.DisputeWon)
		s.pay(t, session, "evt_won1", order.EventDisputeClosed, "dp_Won1", pi)
		rec := s.record(t, session)
		require.Empty(t, rec.AccessHolds())
		require.Equal(t, []order.Dispute{{ID: "dp_Won1", Status: order.DisputeWon}}, rec.Disputes)
		open(t, page)
	})

	t.Run("dispute lost keeps access revoked", func(t *testing.T) {
		const session, pi = "cs_test_dispute2", "pi_Dispute2"
		page := s.buy(t, session, pi)
		s.srv.SetDispute("du_Lost2", "ch_Dispute2", pi, "warning_needs_response")
		s.pay(t, session, "evt_dispute2", order.EventDisputeCreated, "du_Lost2", pi)
		ended(t, page)
		s.srv.SetDispute("du_Lost2", "ch_Dispute2", pi, order.DisputeLost)
		s.pay(t, session, "evt_lost2", order.EventDisputeClosed, "du_Lost2", pi)
		rec := s.record(t, session)
		require.Equal(t, order.HoldDisputeLost, rec.AccessHolds()[0].Kind)
		require.Equal(t, []order.Dispute{{ID: "du_Lost2", Status: order.DisputeLost}}, rec.Disputes)
		ended(t, page)
	})

	// A redelivered refund, or a later event of the same charge, does not
	// undo an operator's grant; a refund the grant did not see does close
	// access again.
	t.Run("grant is not undone by the refund read again", func(t *testing.T) {
		const session, pi = "cs_test_granted1", "pi_Granted1"
		page := s.buy(t, session, pi)
		s.srv.SetCharge("ch_Granted1", pi, 2000, 2000)
		s.pay(t, session, "evt_refund_g1", order.EventChargeRefunded, "ch_Granted1", pi)
		ended(t, page)
		_, stderr, err := s.run(t, "grant", session)
		require.NoError(t, err, stderr)
		open(t, page)

		s.redeliver(t, "evt_refund_g1", order.EventChargeRefunded, "ch_Granted1", pi)
		open(t, page)
		s.pay(t, session, "evt_refund_g1_later", order.EventChargeRefunded, "ch_Granted1", pi)
		open(t, page)
	})

	// An operator's revoke during an open dispute stands when the dispute
	// is won.
	t.Run("an operator's revoke during a dispute outlives the dispute won", func(t *testing.T) {
		const session, pi = "cs_test_fraud1", "pi_Fraud1"
		page := s.buy(t, session, pi)
		s.srv.SetDispute("dp_Fraud1", "ch_Fraud1", pi, "needs_response")
		s.pay(t, session, "evt_dispute_f1", order.EventDisputeCreated, "dp_Fraud1", pi)
		ended(t, page)
		out, stderr, err := s.run(t, "revoke", session, "--reason", "fraud confirmed")
		require.NoError(t, err, stderr)
		require.Contains(t, out, "revoked access to "+session)

		s.srv.SetDispute("dp_Fraud1", "ch_Fraud1", pi, order.DisputeWon)
		s.pay(t, session, "evt_won_f1", order.EventDisputeClosed, "dp_Fraud1", pi)
		ended(t, page)
		out, stderr, err = s.run(t, "orders", "show", session)
		require.NoError(t, err, stderr)
		require.Contains(t, out, "fraud confirmed")
	})

	t.Run("a refund of a payment that is no order of this shop is acknowledged", func(t *testing.T) {
		s.srv.SetCharge("ch_Elsewhere", "pi_Elsewhere", 900, 900)
		s.send(t, "evt_elsewhere", order.EventChargeRefunded, "ch_Elsewhere", "pi_Elsewhere")
		waitFor(t, s.local, "the refund to be acknowledged", func() bool {
			return strings.Contains(s.local.stderr.String(), "no Checkout Session has this payment intent")
		})
		require.Empty(t, s.peek(t, "process-order-poison"))
	})
	s.local.stop(t)
}
