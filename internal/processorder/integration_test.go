package processorder_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/processorder"
	"github.com/filedrop/filedrop/internal/storage"
	"github.com/filedrop/filedrop/internal/storage/blobstore"
	"github.com/filedrop/filedrop/internal/stripeapi"
	"github.com/filedrop/filedrop/internal/stripeapi/stripetest"
	"github.com/filedrop/filedrop/internal/testenv"
)

var quiet = slog.New(slog.DiscardHandler)

// TestUnpaidSessionFromStripeMock runs the stage with the real Stripe
// client against stripe-mock, whose session is unpaid: the request is
// accepted, and nothing is fulfilled.
func TestUnpaidSessionFromStripeMock(t *testing.T) {
	m := testenv.StartStripeMock(t, "")
	client := stripeapi.New("sk_test_123", stripeapi.Options{APIURL: m.URL}, quiet)
	recs, queue := ordertest.NewLedger(), &fakeQueue{}
	orig := &fakeOriginals{ExistsFunc: func(context.Context, string) (bool, error) {
		t.Error("an unpaid order must not touch the originals")
		return false, nil
	}}
	stage, err := processorder.New(processorder.Deps{Sessions: client, Originals: orig, Mail: queue, Records: recs,
		Budget: delivery.BudgetFor(5 * time.Minute), Log: quiet})
	require.NoError(t, err)

	msg := order.ProcessJob{Version: 1, EventID: "evt_mock", EventType: order.EventCompleted, SessionID: "cs_test_a1filedrop"}
	require.NoError(t, stage.Handle(context.Background(), delivery.Attempt{}, msg))

	rec := recs.Record(t, msg.SessionID)
	require.Equal(t, order.StateAwaitingPayment, rec.State())
	require.Equal(t, "example@example.com", rec.CustomerEmail)
	require.Empty(t, queue.sent)
	require.Zero(t, orig.links)
}

// originalsOfFixture are the files the fixture session's products name.
var originalsOfFixture = map[string][]byte{
	"landscapes/sunset-harbour.jpg": []byte("\xff\xd8\xff sunset over the harbour"),
	"städte/Zürich – Nacht.jpg":     []byte("\xff\xd8\xff zürich bei nacht"),
	"prod_PmFern0003.jpg":           []byte("\xff\xd8\xff fern"),
	"landscapes/dunes.jpg":          []byte("\xff\xd8\xff dunes"),
}

// TestAgainstAzurite runs the stage with the real adapters: the Stripe
// client against the fixture server, the originals and the send-link queue
// in Azurite. Every minted link is then downloaded with plain net/http.
func TestAgainstAzurite(t *testing.T) {
	az := testenv.StartAzurite(t)
	acct := az.Account(t)
	ctx := context.Background()
	originals, err := blobstore.New(acct, blobstore.Options{Container: "originals", TTL: time.Hour}, time.Now)
	require.NoError(t, err)
	_, err = originals.CreateContainer(ctx)
	require.NoError(t, err)
	for name, data := range originalsOfFixture {
		require.NoError(t, originals.Upload(ctx, name, data))
	}
	queues, err := storage.NewQueues(acct)
	require.NoError(t, err)
	_, err = queues.Create(ctx, "send-link")
	require.NoError(t, err)
	sendLink := queues.Queue("send-link")
	msg := order.ProcessJob{Version: 1, EventID: "evt_1OmPaid", EventType: order.EventCompleted, SessionID: stripetest.SessionID}

	t.Run("paid cart of five line items", func(t *testing.T) {
		srv := stripetest.NewServer(t)
		recs := ordertest.NewLedger()
		stage, err := processorder.New(processorder.Deps{Sessions: stripeapi.New(stripetest.Key, stripeapi.Options{APIURL: srv.URL}, quiet),
			Originals: originals, Mail: sendLink, Records: recs, Budget: delivery.BudgetFor(5 * time.Minute), Log: quiet})
		require.NoError(t, err)
		require.NoError(t, stage.Handle(ctx, delivery.Attempt{}, msg))
		require.Len(t, srv.Requests(), 3, "the session, then two more pages of line items")

		got, err := sendLink.Receive(ctx, 32, time.Minute)
		require.NoError(t, err)
		require.Len(t, got, 1)
		m, err := order.DecodeMailJob(got[0].Data)
		require.NoError(t, err)
		require.NoError(t, sendLink.Delete(ctx, got[0]))
		require.Equal(t, order.Customer{Email: "jane.doe@example.com", Name: "Jane Doe"}, m.Customer)
		require.Equal(t, "de", m.Locale)
		require.Equal(t, 1, m.Generation)

		// Five line items, four products: the sunset bought twice is one link.
		var titles, files []string
		for _, it := range m.Items {
			titles, files = append(titles, it.Title), append(files, it.FileName)
			require.WithinDuration(t, time.Now().Add(time.Hour), it.ExpiresAt, time.Minute)
		}
		require.Equal(t, []string{"Sunset over the harbour", "Zürich bei Nacht", "Fern", "Dunes"}, titles)
		require.Equal(t, []string{"sunset-harbour.jpg", "Zürich – Nacht.jpg", "prod_PmFern0003.jpg", "dunes.jpg"}, files)

		blobs := []string{"landscapes/sunset-harbour.jpg", "städte/Zürich – Nacht.jpg", "prod_PmFern0003.jpg", "landscapes/dunes.jpg"}
		for i, it := range m.Items {
			resp, err := http.Get(it.URL)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode, it.Redacted())
			require.Equal(t, originalsOfFixture[blobs[i]], body)
			require.Equal(t, blobstore.ContentDisposition(path.Base(blobs[i])), resp.Header.Get("Content-Disposition"))
		}
		require.Contains(t, m.Items[1].URL, "rscd=")
		resp, err := http.Get(m.Items[1].URL)
		require.NoError(t, err)
		resp.Body.Close()
		require.Contains(t, resp.Header.Get("Content-Disposition"), "filename*=UTF-8''Z%C3%BCrich%20%E2%80%93%20Nacht.jpg")

		rec := recs.Record(t, stripetest.SessionID)
		require.Equal(t, order.StateLinksReady, rec.State())
		require.Equal(t, 4, rec.Items)

		// Stripe delivers the event again: nothing more is queued.
		require.NoError(t, stage.Handle(ctx, delivery.Attempt{}, msg))
		again, err := sendLink.Peek(ctx, 32)
		require.NoError(t, err)
		require.Empty(t, again)
		require.Len(t, srv.Requests(), 3, "a duplicate does not call Stripe")
	})

	tests := []struct {
		name       string
		msg        func(order.ProcessJob) order.ProcessJob
		edit       func(session map[string]any)
		fail       func(*stripetest.Server)
		class      order.Class
		throttle   time.Duration
		state      order.State
		reason     string
		notFound   bool
		checkOrder func(*testing.T, order.Order)
	}{
		{name: "no customer email",
			edit:  func(s map[string]any) { s["customer_details"].(map[string]any)["email"] = nil },
			class: order.ClassPermanent, state: order.StateNeedsAttention, reason: "has no customer email"},
		{name: "unknown product: no original in the container",
			edit:  func(s map[string]any) { stripetest.Product(stripetest.LineItems(s)[2])["id"] = "prod_NotUploaded" },
			class: order.ClassPermanent, state: order.StateNeedsAttention,
			reason: `original "prod_NotUploaded.jpg" for product prod_NotUploaded ("Fern") is not in container originals: upload it, then run handler resend ` + stripetest.SessionID},
		{name: "original named in metadata is missing",
			edit: func(s map[string]any) {
				stripetest.Product(stripetest.LineItems(s)[3])["metadata"] = map[string]any{"original": "landscapes/dunes-v2.jpg"}
			},
			class: order.ClassPermanent, state: order.StateNeedsAttention, reason: `original "landscapes/dunes-v2.jpg" for product prod_PmDunes004 ("Dunes") is not in container originals`},
		{name: "invalid blob name in metadata",
			edit: func(s map[string]any) {
				stripetest.Product(stripetest.LineItems(s)[0])["metadata"] = map[string]any{"original": "../../other-container/secret.jpg"}
			},
			class: order.ClassPermanent, state: order.StateNeedsAttention, reason: `invalid blob name "../../other-container/secret.jpg"`},
		{name: "live session with a test key",
			edit:  func(s map[string]any) { s["livemode"] = true },
			class: order.ClassPermanent, state: order.StateNeedsAttention, reason: "live-mode session but STRIPE_API_KEY is a test-mode key"},
		{name: "session not found",
			msg:   func(m order.ProcessJob) order.ProcessJob { m.SessionID = "cs_test_b1NoSuchSession"; return m },
			class: order.ClassPermanent, state: order.StateNeedsAttention, reason: "No such checkout.session", notFound: true},
		{name: "stripe throttles",
			fail: func(s *stripetest.Server) {
				s.Fail(http.StatusTooManyRequests, "rate_limit", http.Header{"Retry-After": {"3"}})
			},
			class: order.ClassThrottled, throttle: 3 * time.Second, state: order.StateReceived,
			checkOrder: func(t *testing.T, rec order.Order) { require.False(t, rec.ThrottledUntil.IsZero()) }},
		{name: "stripe fails with 500",
			fail:  func(s *stripetest.Server) { s.Fail(http.StatusInternalServerError, "", nil) },
			class: order.ClassTransient, state: order.StateReceived,
			checkOrder: func(t *testing.T, rec order.Order) {
				require.Equal(t, 1, rec.Attempts)
				require.Contains(t, rec.LastError, "stripe answered 500")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := stripetest.NewServer(t)
			if tt.edit != nil {
				srv.Edit(tt.edit)
			}
			if tt.fail != nil {
				tt.fail(srv)
			}
			m := msg
			if tt.msg != nil {
				m = tt.msg(m)
			}
			recs, queue := ordertest.NewLedger(), &fakeQueue{}
			stage, err := processorder.New(processorder.Deps{Sessions: stripeapi.New(stripetest.Key, stripeapi.Options{APIURL: srv.URL}, quiet),
				Originals: originals, Mail: queue, Records: recs, Budget: delivery.BudgetFor(5 * time.Minute), Log: quiet})
			require.NoError(t, err)

			err = stage.Handle(ctx, delivery.Attempt{}, m)
			require.Error(t, err)
			require.Equal(t, tt.class, order.Classify(err), "%v", err)
			if tt.class == order.ClassThrottled {
				after, _ := order.RetryAfter(err)
				require.Equal(t, tt.throttle, after)
			}
			if tt.notFound {
				require.ErrorIs(t, err, order.ErrNotFound)
			}
			require.Empty(t, queue.sent, "nothing is queued")
			rec := recs.Record(t, m.SessionID)
			require.Equal(t, tt.state, rec.State())
			require.Contains(t, rec.Reason, tt.reason)
			require.Empty(t, rec.LeaseOwner, "the lease is released")
			if tt.checkOrder != nil {
				tt.checkOrder(t, rec)
			}
		})
	}
}
