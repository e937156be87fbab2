package ordertest_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
)

func TestLedger(t *testing.T) {
	ordertest.TestRecords(t, func(*testing.T) order.Records { return ordertest.NewLedger() })
}

func TestLedgerHooks(t *testing.T) {
	ctx := t.Context()
	l := ordertest.NewLedger(order.Order{SessionID: "cs_test_1", Items: 1})
	boom := errors.New("table service unavailable")
	l.BeforeGet = func(n int) error {
		if n == 2 {
			return boom
		}
		return nil
	}
	var writes []int
	l.BeforeWrite = func(n int, o order.Order) error {
		writes = append(writes, n)
		if n == 1 { // another writer wins the race
			cur := l.Record(t, o.SessionID)
			cur.Items = 100
			l.Put(cur)
		}
		return nil
	}

	o, err := l.Get(ctx, "cs_test_1")
	require.NoError(t, err)
	require.Equal(t, "1", o.ETag, "ETags count the writes")
	_, err = l.Get(ctx, "cs_test_1")
	require.ErrorIs(t, err, boom, "the hook's error is Get's")
	require.Equal(t, 2, l.Gets())

	o.Items++
	_, err = l.Update(ctx, o)
	require.ErrorIs(t, err, order.ErrConflict, "a Put from the hook makes the write lose")
	o = l.Record(t, "cs_test_1")
	require.Equal(t, 100, o.Items)
	o.Items++
	o, err = l.Update(ctx, o)
	require.NoError(t, err)
	require.Equal(t, 101, o.Items)
	require.Equal(t, []int{1, 2}, writes)
	require.Equal(t, 2, l.Gets(), "Record and Lookup are not Gets")

	_, ok := l.Lookup("cs_test_2")
	require.False(t, ok)
}
