package ordertest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

// TestRecords runs the contract every order.Records keeps, the one the
// stages and order.Mutate rely on, against a fresh ledger from open for each
// case. It is run against Ledger and against the Table ledger on Azurite.
func TestRecords(t *testing.T, open func(t *testing.T) order.Records) {
	cases := []struct {
		name string
		run  func(t *testing.T, ctx context.Context, recs order.Records)
	}{
		{"get of a missing record wraps ErrNotFound", func(t *testing.T, ctx context.Context, recs order.Records) {
			_, err := recs.Get(ctx, "cs_test_missing")
			require.ErrorIs(t, err, order.ErrNotFound)
		}},
		{"create returns the record with an ETag, as get reads it", func(t *testing.T, ctx context.Context, recs order.Records) {
			want := sample("cs_test_1")
			want.ETag = "ignored"
			created, err := recs.Create(ctx, want)
			require.NoError(t, err)
			require.NotEmpty(t, created.ETag)
			require.NotEqual(t, "ignored", created.ETag, "create ignores the ETag it is given")
			got, err := recs.Get(ctx, "cs_test_1")
			require.NoError(t, err)
			require.Equal(t, created, got)
			want.ETag = created.ETag
			require.Equal(t, want, got)
		}},
		{"create of an existing record wraps ErrConflict and changes nothing", func(t *testing.T, ctx context.Context, recs order.Records) {
			first := create(t, ctx, recs, sample("cs_test_1"))
			again := sample("cs_test_1")
			again = Edit(again, func(s *order.Snapshot) { s.State = order.StateNeedsAttention })
			_, err := recs.Create(ctx, again)
			require.ErrorIs(t, err, order.ErrConflict)
			require.Equal(t, first, get(t, ctx, recs, "cs_test_1"))
		}},
		{"update with the current ETag replaces the record and changes the ETag", func(t *testing.T, ctx context.Context, recs order.Records) {
			first := create(t, ctx, recs, sample("cs_test_1"))
			changed := Edit(first, func(s *order.Snapshot) {
				s.State, s.SentGeneration, s.EventIDs = order.StateMailSent, 1, []string{"evt_3"}
			})
			updated, err := recs.Update(ctx, changed)
			require.NoError(t, err)
			require.NotEqual(t, first.ETag, updated.ETag, "every write gives a new ETag")
			changed.ETag = updated.ETag
			require.Equal(t, changed, updated)
			require.Equal(t, updated, get(t, ctx, recs, "cs_test_1"))
			again, err := recs.Update(ctx, updated)
			require.NoError(t, err, "the ETag an update returns is the current one")
			require.NotEqual(t, updated.ETag, again.ETag)
		}},
		{"update with a stale ETag wraps ErrConflict and changes nothing", func(t *testing.T, ctx context.Context, recs order.Records) {
			stale := create(t, ctx, recs, sample("cs_test_1"))
			won := stale
			won.Attempts = 7
			won, err := recs.Update(ctx, won)
			require.NoError(t, err)
			stale = Edit(stale, func(s *order.Snapshot) { s.State = order.StateNeedsAttention })
			_, err = recs.Update(ctx, stale)
			require.ErrorIs(t, err, order.ErrConflict)
			require.Equal(t, won, get(t, ctx, recs, "cs_test_1"))
		}},
		{"update of a missing record wraps ErrConflict", func(t *testing.T, ctx context.Context, recs order.Records) {
			o := create(t, ctx, recs, sample("cs_test_1"))
			o.SessionID = "cs_test_2"
			_, err := recs.Update(ctx, o)
			require.ErrorIs(t, err, order.ErrConflict, "a record deleted since it was read is not the one the ETag names")
			_, err = recs.Get(ctx, "cs_test_2")
			require.ErrorIs(t, err, order.ErrNotFound, "update never inserts")
		}},
		{"update without an ETag is permanent", func(t *testing.T, ctx context.Context, recs order.Records) {
			o := create(t, ctx, recs, sample("cs_test_1"))
			o.ETag = ""
			_, err := recs.Update(ctx, o)
			require.Error(t, err)
			require.True(t, order.IsPermanent(err), "%v", err)
		}},
		{"two writers with the same ETag: exactly one wins", func(t *testing.T, ctx context.Context, recs order.Records) {
			read := create(t, ctx, recs, sample("cs_test_1"))
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i := range errs {
				wg.Go(func() {
					o := read
					o.LeaseOwner = []string{"inv-a", "inv-b"}[i]
					_, errs[i] = recs.Update(ctx, o)
				})
			}
			wg.Wait()
			var won, lost int
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case errors.Is(err, order.ErrConflict):
					lost++
				default:
					t.Fatalf("unexpected error: %v", err)
				}
			}
			require.Equal(t, 1, won)
			require.Equal(t, 1, lost)
		}},
		{"records are copies: changing a slice given or returned changes nothing stored", func(t *testing.T, ctx context.Context, recs order.Records) {
			in := sample("cs_test_1")
			created, err := recs.Create(ctx, in)
			require.NoError(t, err)
			in.EventIDs[0], in.Mail[0] = "evt_changed", 'X'
			created.EventIDs[0], created.Mail[0] = "evt_changed", 'X'
			got := get(t, ctx, recs, "cs_test_1")
			require.Equal(t, []string{"evt_1", "evt_2"}, got.EventIDs)
			require.Equal(t, `{"mail":1}`, string(got.Mail))

			got.EventIDs[1], got.Mail[1] = "evt_changed", 'X'
			updated, err := recs.Update(ctx, got)
			require.NoError(t, err)
			got.EventIDs[1], got.Mail[1] = "evt_again", 'Y'
			updated.EventIDs[0], updated.Mail[0] = "evt_again", 'Y'
			again := get(t, ctx, recs, "cs_test_1")
			require.Equal(t, []string{"evt_1", "evt_changed"}, again.EventIDs)
			require.Equal(t, `{Xmail":1}`, string(again.Mail))
			again.EventIDs[0] = "evt_changed"
			require.Equal(t, "evt_1", get(t, ctx, recs, "cs_test_1").EventIDs[0], "a read is a copy too")
		}},
		{"holds, disputes and the grant are copies", func(t *testing.T, ctx context.Context, recs order.Records) {
			in := sample("cs_test_1")
			created, err := recs.Create(ctx, in)
			require.NoError(t, err)
			in.Snapshot().AccessHolds[0].Reason, in.Disputes[0].Status, in.Granted.Disputes[0].Status = "changed", "changed", "changed"
			created.Snapshot().AccessHolds[0].Reason, created.Disputes[0].Status = "changed", "changed"
			got := get(t, ctx, recs, "cs_test_1")
			require.Equal(t, sample("cs_test_1").AccessHolds(), got.AccessHolds())
			require.Equal(t, sample("cs_test_1").Disputes, got.Disputes)
			require.Equal(t, sample("cs_test_1").Granted, got.Granted)
		}},
		{"empty EventIDs and Mail read back nil", func(t *testing.T, ctx context.Context, recs order.Records) {
			o := sample("cs_test_1")
			o.EventIDs, o.Mail = []string{}, []byte{}
			created := create(t, ctx, recs, o)
			require.Nil(t, created.EventIDs)
			require.Nil(t, created.Mail)
			got := get(t, ctx, recs, "cs_test_1")
			require.Nil(t, got.EventIDs)
			require.Nil(t, got.Mail)
		}},
		{"mails and their reports are copies and read back as written", func(t *testing.T, ctx context.Context, recs order.Records) {
			in := sample("cs_test_1")
			created, err := recs.Create(ctx, in)
			require.NoError(t, err)
			in.Snapshot().Mails[1].Report.Status, created.Snapshot().Mails[0].To = "changed", "changed"
			got := get(t, ctx, recs, "cs_test_1")
			require.Equal(t, sample("cs_test_1").Mails(), got.Mails())
			got.Snapshot().Mails[1].Report.Message = "changed"
			require.Equal(t, sample("cs_test_1").Mails(), get(t, ctx, recs, "cs_test_1").Mails(), "a read is a copy too")
		}},
		{"the outbox and each sink's delivery are copies and read back as written", func(t *testing.T, ctx context.Context, recs order.Records) {
			in := sample("cs_test_1")
			created, err := recs.Create(ctx, in)
			require.NoError(t, err)
			in.Snapshot().Outbox[0].Sinks[0].Error, created.Snapshot().Outbox[1].Attention.Reason = "changed", "changed"
			got := get(t, ctx, recs, "cs_test_1")
			require.Equal(t, sample("cs_test_1").Outbox(), got.Outbox())
			require.Equal(t, 1, got.EventsDropped())
			require.True(t, got.EventDelivered(got.Outbox()[0].ID, "webhook:hooks.example/1a2b3c4d", time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)))
			updated, err := recs.Update(ctx, got)
			require.NoError(t, err)
			require.Equal(t, updated, get(t, ctx, recs, "cs_test_1"))
		}},
		{"a listing selects by the order events", func(t *testing.T, ctx context.Context, recs order.Records) {
			l, ok := recs.(lister)
			if !ok {
				t.Skip("this ledger lists nothing")
			}
			at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
			waiting := order.Restore(order.Snapshot{SessionID: "cs_test_waiting", State: order.StateMailSent, CreatedAt: at,
				Outbox: []order.OutboxEvent{{ID: "oevt_1", Type: order.TypePaid, At: at, State: order.StateMailSent}}})
			failing := order.Restore(order.Snapshot{SessionID: "cs_test_failing", State: order.StateMailSent, CreatedAt: at,
				Outbox: []order.OutboxEvent{{ID: "oevt_2", Type: order.TypePaid, At: at, State: order.StateMailSent,
					Sinks: []order.SinkDelivery{{Sink: "dataverse", QueuedAt: at, Attempts: 1, Error: "503", FailedAt: at}}}}})
			queued := order.Restore(order.Snapshot{SessionID: "cs_test_queued", State: order.StateMailSent, CreatedAt: at,
				Outbox: []order.OutboxEvent{{ID: "oevt_3", Type: order.TypePaid, At: at, State: order.StateMailSent,
					Sinks: []order.SinkDelivery{{Sink: "dataverse", QueuedAt: at}}}}})
			delivered := order.Restore(order.Snapshot{SessionID: "cs_test_delivered", State: order.StateMailSent, CreatedAt: at,
				Outbox: []order.OutboxEvent{{ID: "oevt_4", Type: order.TypePaid, At: at, State: order.StateMailSent,
					Sinks: []order.SinkDelivery{{Sink: "dataverse", QueuedAt: at, DeliveredAt: at}}}}})
			for _, o := range []order.Order{waiting, failing, queued, delivered, sample("cs_test_none")} {
				create(t, ctx, recs, o)
			}
			ids := func(f order.Filter) []string {
				got, err := l.List(ctx, f)
				require.NoError(t, err)
				var out []string
				for _, o := range got {
					out = append(out, o.SessionID)
				}
				return out
			}
			require.Equal(t, []string{"cs_test_waiting"}, ids(order.Filter{EventsWaitingBefore: at.Add(time.Nanosecond)}))
			require.Empty(t, ids(order.Filter{EventsWaitingBefore: at}), "waiting since before it, not at it")
			require.Equal(t, []string{"cs_test_failing", "cs_test_none", "cs_test_queued", "cs_test_waiting"}, ids(order.Filter{EventsUndelivered: true}))
			require.Equal(t, []string{"cs_test_failing", "cs_test_none"}, ids(order.Filter{EventsFailing: true}))
		}},
		{"each session has its own record", func(t *testing.T, ctx context.Context, recs order.Records) {
			one := create(t, ctx, recs, sample("cs_test_1"))
			two := create(t, ctx, recs, sample("cs_test_2"))
			two.Items = 9
			_, err := recs.Update(ctx, two)
			require.NoError(t, err)
			require.Equal(t, one, get(t, ctx, recs, "cs_test_1"))
		}},
	}
	for _, tc := range append(cases, indexCases...) {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, t.Context(), open(t))
		})
	}
}

// lister is a ledger that lists its records (both ledgers do).
type lister interface {
	List(ctx context.Context, f order.Filter) ([]order.Order, error)
}

// sample is a record with every kind of field set, in values every ledger
// keeps as they are (UTC, whole milliseconds, short text).
func sample(sessionID string) order.Order {
	at := time.Date(2025, 3, 14, 9, 26, 53, 123_000_000, time.UTC)
	return order.Restore(order.Snapshot{
		SessionID:      sessionID,
		State:          order.StateLinksReady,
		Reason:         "reason",
		LastError:      "stripe: 503",
		Attempts:       2,
		CustomerEmail:  "ada@customer.example",
		Livemode:       true,
		EventIDs:       []string{"evt_1", "evt_2"},
		Items:          3,
		MailKind:       order.MailDownloadLinks,
		MailGeneration: 1,
		MailEventID:    "evt_2",
		OperationID:    "op-1",
		Mail:           []byte(`{"mail":1}`),
		LeaseOwner:     "invocation:inv-1",
		LeaseUntil:     at.Add(2 * time.Minute),
		ThrottledUntil: at.Add(time.Minute),
		CreatedAt:      at,
		UpdatedAt:      at.Add(time.Second),
		PaidAt:         at,
		OrderedAt:      at.Add(-time.Minute),
		LinksReadyAt:   at.Add(time.Second),
		Files: []order.File{
			{Title: "Harbour at dawn", Blob: "photos/harbour.jpg", FileName: "harbour.jpg", Size: 5_000_000_000, Downloads: 2,
				DownloadedAt: []time.Time{at.Add(time.Minute), at.Add(2 * time.Minute)}, Clicks: []string{"click-1", "click-2"}},
			{Title: "Ünïcode", Blob: "b.png", FileName: "b.png", Size: 1},
		},
		PaymentIntent: "pi_123",
		AccessUntil:   at.Add(720 * time.Hour),
		AccessHolds: []order.Hold{
			{Kind: order.HoldDispute, Ref: "dp_1", Event: "evt_2", At: at.Add(time.Hour), Reason: "the payment is disputed (needs_response)"},
			{Kind: order.HoldOperator, At: at.Add(2 * time.Hour), Reason: "fraud confirmed"},
		},
		RefundedAmount: 1 << 40,
		Disputes:       []order.Dispute{{ID: "dp_1", Status: "needs_response"}},
		Granted:        order.Grant{At: at.Add(30 * time.Minute), Refunded: 500, Disputes: []order.Dispute{{ID: "dp_0", Status: "won"}}},
		Mails: []order.MailRecord{
			{OperationID: order.MailKey(sessionID, order.MailDownloadLinks, 1), Kind: order.MailDownloadLinks, Generation: 1,
				To: "ada@customer.example", Send: order.StatusSending, StartedAt: at},
			{OperationID: order.MailKey(sessionID, order.MailDownloadLinks, 2), ServiceID: "svc-2", Kind: order.MailDownloadLinks, Generation: 2,
				To: "ada@customer.example", Send: order.StatusSent, StartedAt: at.Add(time.Minute), SentAt: at.Add(2 * time.Minute),
				Report: &order.MailReport{Status: order.MailBounced, Message: "550 5.1.1 mailbox unknown (ü)", At: at.Add(3 * time.Minute), EventID: "ev-1"}},
		},
		Outbox: []order.OutboxEvent{
			{ID: order.NewEventID(sessionID, order.TypePaid, ""), Type: order.TypePaid, At: at, State: order.StateLinksReady,
				Sinks: []order.SinkDelivery{{Sink: "webhook:hooks.example/1a2b3c4d", QueuedAt: at.Add(time.Second)},
					{Sink: "dataverse", QueuedAt: at.Add(time.Second), DeliveredAt: at.Add(2 * time.Second)}}},
			{ID: order.NewEventID(sessionID, order.TypeNeedsAttention, "x"), Type: order.TypeNeedsAttention, At: at.Add(time.Minute),
				State: order.StateNeedsAttention, Attention: &order.EventAttention{Reason: "the original is missing (ü)"},
				Sinks: []order.SinkDelivery{{Sink: "dataverse", QueuedAt: at.Add(time.Minute), Attempts: 3, Error: "dataverse: 503",
					FailedAt: at.Add(2 * time.Minute), GaveUp: true}}},
			{ID: order.NewEventID(sessionID, order.TypeMailNotDelivered, "y"), Type: order.TypeMailNotDelivered, At: at.Add(time.Hour),
				State: order.StateLinksReady, Mail: &order.EventMail{Kind: order.MailDownloadLinks, Generation: 2, Status: "Bounced"}},
		},
		EventsDropped: 1,
	})
}

func create(t *testing.T, ctx context.Context, recs order.Records, o order.Order) order.Order {
	t.Helper()
	created, err := recs.Create(ctx, o)
	require.NoError(t, err)
	return created
}

func get(t *testing.T, ctx context.Context, recs order.Records, sessionID string) order.Order {
	t.Helper()
	o, err := recs.Get(ctx, sessionID)
	require.NoError(t, err)
	return o
}
