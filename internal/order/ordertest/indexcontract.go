package ordertest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

// indexOf returns the ledger's Index: every ledger keeps one.
func indexOf(t *testing.T, recs order.Records) Index {
	t.Helper()
	idx, ok := recs.(Index)
	require.True(t, ok, "%T keeps no index", recs)
	return idx
}

// indexCases are the index's part of TestRecords.
var indexCases = []struct {
	name string
	run  func(t *testing.T, ctx context.Context, recs order.Records)
}{
	{"a mail's session is found by its operation id, in any case", func(t *testing.T, ctx context.Context, recs order.Records) {
		idx := indexOf(t, recs)
		op := order.MailKey("cs_test_1", order.MailDownloadLinks, 1)
		require.NoError(t, idx.IndexMail(ctx, op, "cs_test_1"))
		require.NoError(t, idx.IndexMail(ctx, op, "cs_test_1"), "indexing again is harmless")
		require.NoError(t, idx.IndexMail(ctx, order.MailKey("cs_test_2", order.MailDownloadLinks, 1), "cs_test_2"))
		for _, id := range []string{op, strings.ToUpper(op)} {
			got, err := idx.SessionOfMail(ctx, id)
			require.NoError(t, err)
			require.Equal(t, "cs_test_1", got)
		}
		_, err := idx.SessionOfMail(ctx, order.MailKey("cs_test_3", order.MailDownloadLinks, 1))
		require.ErrorIs(t, err, order.ErrNotFound)
	}},
	{"an address's orders, newest first, in any letter case", func(t *testing.T, ctx context.Context, recs order.Records) {
		idx := indexOf(t, recs)
		at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
		require.NoError(t, idx.IndexOrder(ctx, "Ada@Customer.example", "cs_test_old", at))
		require.NoError(t, idx.IndexOrder(ctx, "ada@customer.example", "cs_test_new", at.Add(time.Hour)))
		require.NoError(t, idx.IndexOrder(ctx, " ADA@customer.EXAMPLE", "cs_test_new", at.Add(time.Hour)), "indexing again lists it once")
		require.NoError(t, idx.IndexOrder(ctx, "bob@customer.example", "cs_test_bob", at))
		got, err := idx.OrdersOf(ctx, "ada@CUSTOMER.example")
		require.NoError(t, err)
		require.Equal(t, []order.IndexedOrder{{SessionID: "cs_test_new", At: at.Add(time.Hour)}, {SessionID: "cs_test_old", At: at}}, got)
		none, err := idx.OrdersOf(ctx, "nobody@customer.example")
		require.NoError(t, err)
		require.Empty(t, none)
	}},
	{"an address's orders are bounded to the newest", func(t *testing.T, ctx context.Context, recs order.Records) {
		idx := indexOf(t, recs)
		at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
		for i := range order.MaxIndexedOrders + 2 {
			require.NoError(t, idx.IndexOrder(ctx, "ada@customer.example", "cs_test_"+string(rune('a'+i%26))+strings.Repeat("x", i/26), at.Add(time.Duration(i)*time.Minute)))
		}
		got, err := idx.OrdersOf(ctx, "ada@customer.example")
		require.NoError(t, err)
		require.Len(t, got, order.MaxIndexedOrders)
		require.Equal(t, at.Add(time.Duration(order.MaxIndexedOrders+1)*time.Minute), got[0].At)
	}},
	{"a quota is stored; an unchanged one is not written", func(t *testing.T, ctx context.Context, recs order.Records) {
		idx := indexOf(t, recs)
		now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
		q, err := idx.MutateQuota(ctx, "ada@customer.example", func(q *order.LinksQuota) error {
			require.Equal(t, order.LinksQuota{}, *q, "an address without a quota")
			_, ok := q.Take(now, 3, time.Minute)
			require.True(t, ok)
			return nil
		})
		require.NoError(t, err)
		want := order.LinksQuota{Day: "2025-03-14", Today: 1, Total: 1, Last: now}
		require.Equal(t, want, q)
		q, err = idx.MutateQuota(ctx, "ADA@customer.example", func(q *order.LinksQuota) error {
			require.Equal(t, want, *q)
			q.Total = 99
			return order.ErrUnchanged
		})
		require.NoError(t, err)
		require.Equal(t, want, q)
		boom := errors.New("boom")
		_, err = idx.MutateQuota(ctx, "ada@customer.example", func(q *order.LinksQuota) error { q.Total = 98; return boom })
		require.ErrorIs(t, err, boom)
		q, err = idx.MutateQuota(ctx, "ada@customer.example", func(*order.LinksQuota) error { return order.ErrUnchanged })
		require.NoError(t, err)
		require.Equal(t, want, q, "nothing was written")
	}},
	{"two quota writers at once both count", func(t *testing.T, ctx context.Context, recs order.Records) {
		idx := indexOf(t, recs)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() {
				_, errs[i] = idx.MutateQuota(ctx, "ada@customer.example", func(q *order.LinksQuota) error { q.Total++; return nil })
			})
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		q, err := idx.MutateQuota(ctx, "ada@customer.example", func(*order.LinksQuota) error { return order.ErrUnchanged })
		require.NoError(t, err)
		require.Equal(t, len(errs), q.Total)
	}},
}
