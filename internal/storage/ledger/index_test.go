package ledger

import (
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

// TestIndexesStayOutOfTheRecords checks what the contract cannot see: the
// index entities never show among the records, no key holds an address,
// and the hash key is the table's, so another handler (or a restart) finds
// what one indexed.
func TestIndexesStayOutOfTheRecords(t *testing.T) {
	l, acct := startLedger(t)
	ctx := t.Context()
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	_, err := l.Create(ctx, order.Restore(order.Snapshot{SessionID: "cs_test_1", State: order.StateMailSent, CustomerEmail: "ada@customer.example"}))
	require.NoError(t, err)
	require.NoError(t, l.IndexMail(ctx, order.MailKey("cs_test_1", order.MailDownloadLinks, 1), "cs_test_1"))
	require.NoError(t, l.IndexOrder(ctx, "Ada@Customer.example", "cs_test_1", at))
	_, err = l.MutateQuota(ctx, "ada@customer.example", func(q *order.LinksQuota) error { q.Take(at, 3, 0); return nil })
	require.NoError(t, err)

	recs, err := l.List(ctx, order.Filter{})
	require.NoError(t, err)
	require.Len(t, recs, 1, "List reads the records only")

	pager := l.c.NewListEntitiesPager(&aztables.ListEntitiesOptions{})
	indexed := 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		require.NoError(t, err)
		for _, data := range page.Entities {
			e, err := decodeEntity(data)
			require.NoError(t, err)
			if e.rowKey == RowKey {
				continue // the record holds the address, as it always has
			}
			indexed++
			require.NotContains(t, strings.ToLower(string(data)), "customer.example", "an index entity holds the address")
		}
	}
	require.Equal(t, 4, indexed, "the mail, the order, the quota and the hash key")

	other, err := New(acct, "orders")
	require.NoError(t, err)
	got, err := other.OrdersOf(ctx, "ADA@customer.example")
	require.NoError(t, err)
	require.Equal(t, []order.IndexedOrder{{SessionID: "cs_test_1", At: at}}, got, "a second handler shares the table's hash key")
}

func TestIndexRefusesBadIDs(t *testing.T) {
	l, _ := startLedger(t)
	err := l.IndexMail(t.Context(), "not/an id", "cs_test_1")
	require.True(t, order.IsPermanent(err), "%v", err)
	_, err = l.SessionOfMail(t.Context(), "not/an id")
	require.ErrorIs(t, err, order.ErrNotFound)
	err = l.IndexOrder(t.Context(), "ada@customer.example", "cs/1", time.Now())
	require.True(t, order.IsPermanent(err), "%v", err)
}
