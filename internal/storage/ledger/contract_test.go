package ledger

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
)

// TestContract runs the contract the in-memory ordertest.Ledger is held to
// against the Table ledger, each case on a fresh table of one Azurite.
func TestContract(t *testing.T) {
	_, acct := startLedger(t)
	tables := 0
	ordertest.TestRecords(t, func(t *testing.T) order.Records {
		tables++
		l, err := New(acct, fmt.Sprintf("contract%d", tables))
		require.NoError(t, err)
		created, err := l.CreateTable(t.Context())
		require.NoError(t, err)
		require.True(t, created)
		return l
	})
}
