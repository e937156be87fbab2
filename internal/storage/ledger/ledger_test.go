package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/storage"
	"github.com/filedrop/filedrop/internal/testenv"
)

// startLedger starts Azurite and returns a ledger on a fresh table, reached
// the way the program reaches it: from the connection string.
func startLedger(t *testing.T) (*Ledger, storage.Account) {
	t.Helper()
	az := testenv.StartAzurite(t)
	acct := az.Account(t)
	l, err := New(acct, "orders")
	require.NoError(t, err)
	created, err := l.CreateTable(t.Context())
	require.NoError(t, err)
	require.True(t, created)
	return l, acct
}

func TestRecords(t *testing.T) {
	l, acct := startLedger(t)

	t.Run("round trip", func(t *testing.T) {
		extremes := order.Restore(order.Snapshot{
			SessionID:      "cs_test_extremes'x",
			Reason:         strings.Repeat("ü", MaxTextBytes), // cut to fit
			LastError:      "line 1\nline 2\t\u2603",
			Attempts:       math.MaxInt32,
			Items:          math.MinInt32,
			MailGeneration: -1,
			Mail:           make([]byte, MaxMailBytes),
			EventIDs:       make([]string, order.MaxEventIDs),
			CreatedAt:      minTime,
			UpdatedAt:      maxTime,
			PaidAt:         time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),    // whole seconds
			MailSentAt:     time.Date(2025, 1, 2, 3, 4, 5, 100, time.UTC),  // one tick
			AttentionAt:    time.Date(2025, 1, 2, 3, 4, 5, 99, time.Local), // under one tick
		})
		for i := range extremes.EventIDs {
			extremes.EventIDs[i] = fmt.Sprintf("evt_%030d", i)
		}
		for _, o := range []order.Order{fullOrder("cs_test_full"), {SessionID: "cs_test_minimal"}, extremes} {
			t.Run(o.SessionID, func(t *testing.T) {
				want, err := normalize(o)
				require.NoError(t, err)
				want.ETag = ""

				created, err := l.Create(t.Context(), o)
				require.NoError(t, err)
				require.NotEmpty(t, created.ETag)
				got, err := l.Get(t.Context(), o.SessionID)
				require.NoError(t, err)
				requireSameOrder(t, created, got, "Create returns the record as Get reads it")
				got.ETag = ""
				requireSameOrder(t, want, got, "round trip")

				changed := ordertest.Edit(created, func(s *order.Snapshot) {
					s.State, s.Attempts, s.Mail = order.StateMailSent, s.Attempts/2, nil
					s.SentGeneration++
					s.CustomerEmail, s.LeaseUntil = "", time.Time{}
				})
				updated, err := l.Update(t.Context(), changed)
				require.NoError(t, err)
				require.NotEqual(t, created.ETag, updated.ETag)
				got, err = l.Get(t.Context(), o.SessionID)
				require.NoError(t, err)
				requireSameOrder(t, updated, got, "Update replaces every property")
			})
		}
	})

	t.Run("errors", func(t *testing.T) {
		claimed, err := l.Create(t.Context(), order.Restore(order.Snapshot{SessionID: "cs_test_taken", State: order.StateReceived}))
		require.NoError(t, err)
		moved, err := l.Update(t.Context(), claimed)
		require.NoError(t, err)
		gone, err := l.Create(t.Context(), order.Order{SessionID: "cs_test_gone"})
		require.NoError(t, err)
		_, err = l.c.DeleteEntity(t.Context(), gone.SessionID, RowKey, nil)
		require.NoError(t, err)
		noTable, err := New(acct, "missing")
		require.NoError(t, err)

		tests := []struct {
			name      string
			call      func() error
			want      error  // errors.Is
			permanent bool   // order.IsPermanent
			text      string // in the message
		}{
			{name: "create twice", want: order.ErrConflict, call: func() error {
				_, err := l.Create(t.Context(), order.Order{SessionID: claimed.SessionID})
				return err
			}},
			{name: "update with a stale etag", want: order.ErrConflict, call: func() error {
				_, err := l.Update(t.Context(), claimed)
				return err
			}},
			{name: "update of a deleted record", want: order.ErrConflict, call: func() error {
				_, err := l.Update(t.Context(), gone)
				return err
			}},
			{name: "get of a missing id", want: order.ErrNotFound, call: func() error {
				_, err := l.Get(t.Context(), "cs_test_missing")
				return err
			}},
			{name: "missing table is not a missing record", text: "table missing does not exist", call: func() error {
				_, err := noTable.Get(t.Context(), "cs_test_missing")
				return err
			}},
			{name: "update without an etag", permanent: true, text: "no ETag", call: func() error {
				_, err := l.Update(t.Context(), order.Order{SessionID: claimed.SessionID})
				return err
			}},
			{name: "mail over the limit", permanent: true, text: "over the ledger's", call: func() error {
				_, err := l.Create(t.Context(), order.Order{SessionID: "cs_test_big", Mail: make([]byte, MaxMailBytes+1)})
				return err
			}},
			{name: "string over the service's limit", permanent: true, text: "PropertyValueTooLarge", call: func() error {
				_, err := l.Create(t.Context(), order.Order{SessionID: "cs_test_big", CustomerEmail: strings.Repeat("a", 65*1024)})
				return err
			}},
			{name: "invalid session id", permanent: true, text: "holds a character", call: func() error {
				_, err := l.Get(t.Context(), "cs_test/../x")
				return err
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				err := tc.call()
				require.Error(t, err)
				for _, sentinel := range []error{order.ErrConflict, order.ErrNotFound} {
					require.Equal(t, sentinel == tc.want, errors.Is(err, sentinel), "errors.Is(%v, %v)", err, sentinel)
				}
				require.Equal(t, tc.permanent, order.IsPermanent(err), "permanent: %v", err)
				require.ErrorContains(t, err, tc.text)
			})
		}
		got, err := l.Get(t.Context(), claimed.SessionID)
		require.NoError(t, err)
		require.Equal(t, moved, got, "the failed writes changed nothing")
	})

	t.Run("create table again", func(t *testing.T) {
		for range 2 {
			created, err := l.CreateTable(t.Context())
			require.NoError(t, err)
			require.False(t, created)
		}
		_, err := l.Get(t.Context(), "cs_test_taken")
		require.NoError(t, err, "the table and its records are still there")
	})
}

// requireSameOrder is require.Equal, without printing a 64 KiB Mail twice.
func requireSameOrder(t *testing.T, want, got order.Order, msg string) {
	t.Helper()
	require.True(t, bytes.Equal(want.Mail, got.Mail), "%s: Mail differs: want %d bytes, got %d", msg, len(want.Mail), len(got.Mail))
	require.Equal(t, want.Mail == nil, got.Mail == nil, "%s: Mail nil", msg)
	want.Mail, got.Mail = nil, nil
	require.Equal(t, want, got, msg)
}

func TestMutateCountsEveryConcurrentWriter(t *testing.T) {
	l, _ := startLedger(t)
	const (
		writers = 16
		tries   = 20 // Mutate calls per writer; each tries MaxMutateAttempts times
	)
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	start := make(chan struct{})
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-start
			var err error
			for range tries {
				_, err = order.Mutate(context.Background(), l, "cs_test_counted", now, func(o *order.Order) error {
					o.Attempts++
					o.SeeEvent(fmt.Sprintf("evt_%02d", w))
					return nil
				})
				if !errors.Is(err, order.ErrConflict) {
					break
				}
			}
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	o, err := l.Get(t.Context(), "cs_test_counted")
	require.NoError(t, err)
	require.Equal(t, writers, o.Attempts, "every increment is kept exactly once")
	require.Len(t, o.EventIDs, writers)
	require.Equal(t, now, o.CreatedAt)
}

func TestOneClaimWins(t *testing.T) {
	l, _ := startLedger(t)
	for round := range 10 {
		id := fmt.Sprintf("cs_test_race_%d", round)
		start := make(chan struct{})
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for w := range errs {
			wg.Go(func() {
				<-start
				_, errs[w] = l.Create(context.Background(), order.Restore(order.Snapshot{SessionID: id, State: order.StateReceived, LeaseOwner: fmt.Sprint("worker-", w)}))
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for w, err := range errs {
			if err == nil {
				require.Equal(t, -1, winner, "round %d: two claims won", round)
				winner = w
				continue
			}
			require.ErrorIs(t, err, order.ErrConflict)
		}
		require.NotEqual(t, -1, winner, "round %d: no claim won", round)
		o, err := l.Get(t.Context(), id)
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint("worker-", winner), o.LeaseOwner, "the record is the winner's")
	}
}

func TestNewWithTokenCredential(t *testing.T) {
	var seen *http.Request
	acct := storage.Account{
		Options:    storage.Options{AccountName: "acct", TableURL: "https://acct.table.core.windows.net", Identity: true},
		Credential: tokenFunc(func() string { return "t0ken" }),
		Transport: transportFunc(func(r *http.Request) (*http.Response, error) {
			seen = r
			return &http.Response{StatusCode: http.StatusNotFound, Request: r,
				Header: http.Header{"Content-Type": {"application/json"}, "X-Ms-Error-Code": {"ResourceNotFound"}},
				Body:   io.NopCloser(strings.NewReader(`{"odata.error":{"code":"ResourceNotFound","message":{"value":"gone"}}}`))}, nil
		}),
	}
	l, err := New(acct, "orders")
	require.NoError(t, err)
	_, err = l.Get(t.Context(), "cs_test_1")
	require.ErrorIs(t, err, order.ErrNotFound)
	require.NotNil(t, seen)
	require.Equal(t, "Bearer t0ken", seen.Header.Get("Authorization"))
	require.Equal(t, "acct.table.core.windows.net", seen.URL.Host)
	require.Equal(t, "/orders(PartitionKey='cs_test_1',RowKey='order')", seen.URL.Path)
}

type tokenFunc func() string

func (f tokenFunc) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: f(), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

type transportFunc func(*http.Request) (*http.Response, error)

func (f transportFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// TestLegacyRecordMigratesOnRead: a record written when access had one
// cause (RevokedBy, FullyRefunded, Dispute) reads as holds, and its next
// write keeps the holds and drops the old properties.
func TestLegacyRecordMigratesOnRead(t *testing.T) {
	l, _ := startLedger(t)
	entity := `{"PartitionKey":"cs_test_legacy","RowKey":"order","State":"mail_sent","RevokedBy":"dispute",
		"RevokeReason":"the payment is disputed (needs_response)","RevokedAt":"2025-06-01T12:30:52Z","RevokedAt@odata.type":"Edm.DateTime",
		"Dispute":"needs_response","PaidAt":"2025-06-01T12:00:00Z","PaidAt@odata.type":"Edm.DateTime",
		"Files":"[{\"title\":\"Harbour\",\"blob\":\"harbour.jpg\",\"file_name\":\"harbour.jpg\",\"size\":12}]"}`
	_, err := l.c.AddEntity(t.Context(), []byte(entity), nil)
	require.NoError(t, err)

	o, err := l.Get(t.Context(), "cs_test_legacy")
	require.NoError(t, err)
	revokedAt := time.Date(2025, 6, 1, 12, 30, 52, 0, time.UTC)
	require.Equal(t, []order.Hold{{Kind: order.HoldDispute, At: revokedAt, Reason: "the payment is disputed (needs_response)"}}, o.AccessHolds())
	require.Equal(t, order.AccessSuspended, o.Access(revokedAt, 720*time.Hour))

	// An operator revokes during the dispute; the dispute is then won.
	require.True(t, o.Revoke("fraud confirmed", revokedAt.Add(time.Hour)))
	require.True(t, o.ApplyDispute("evt_won", order.Dispute{ID: "dp_1", Status: order.DisputeWon}, revokedAt.Add(2*time.Hour)))
	o, err = l.Update(t.Context(), o)
	require.NoError(t, err)
	got, err := l.Get(t.Context(), "cs_test_legacy")
	require.NoError(t, err)
	requireSameOrder(t, o, got, "the holds are written and read back")
	require.Equal(t, order.AccessRevoked, got.Access(revokedAt.Add(3*time.Hour), 720*time.Hour), "the operator's hold stands")
	require.Equal(t, []order.Dispute{{ID: "dp_1", Status: order.DisputeWon}}, got.Disputes, "the event adopted the dispute's id")

	raw, err := l.c.GetEntity(t.Context(), "cs_test_legacy", RowKey, nil)
	require.NoError(t, err)
	for _, legacy := range []string{propRevokedBy, propRevokeReason, propRevokedAt, propFullyRefunded, propDispute} {
		require.NotContains(t, string(raw.Value), `"`+legacy+`"`, "the write drops the old properties")
	}
}
