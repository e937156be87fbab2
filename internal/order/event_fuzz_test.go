package order_test

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

// FuzzDecodeEvent: whatever a queue holds, DecodeEvent never panics; what
// it accepts is valid, within every bound, and encodes to bytes that decode
// to the same event.
func FuzzDecodeEvent(f *testing.F) {
	for _, typ := range order.EventTypes() {
		data, err := json.Marshal(sampleEvent(typ))
		require.NoError(f, err)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := order.DecodeEvent(data)
		if err != nil {
			require.True(t, order.IsPermanent(err), "the same bytes never decode: %v", err)
			return
		}
		require.NoError(t, e.Validate())
		require.LessOrEqual(t, len(e.ID), order.MaxIDBytes)
		require.LessOrEqual(t, len(e.Order.SessionID), order.MaxIDBytes)
		require.LessOrEqual(t, len(e.Order.Items), order.MaxEventItems)
		for _, it := range e.Order.Items {
			require.LessOrEqual(t, utf8.RuneCountInString(it.Title), order.MaxReceiptDescription)
		}
		require.LessOrEqual(t, utf8.RuneCountInString(e.Customer.Name), order.MaxCustomerName)
		require.LessOrEqual(t, len(e.Order.PageURL), order.MaxPageURL)
		again, err := order.EncodeEvent(e)
		if err != nil {
			// Only the size bound can refuse what decoded: JSON escapes
			// can make the encoding longer than the input.
			require.ErrorContains(t, err, "send fewer items")
			return
		}
		e2, err := order.DecodeEvent(again)
		require.NoError(t, err, "%s", again)
		require.Equal(t, utcTimes(e), utcTimes(e2))
	})
}

// utcTimes returns e with its times in UTC (a decoded time keeps its
// offset as a *time.Location, which a second decode allocates anew) and
// no items as nil ("items" is omitted when empty).
func utcTimes(e order.Event) order.Event {
	e.Time = e.Time.UTC()
	e.Order.PaidAt = e.Order.PaidAt.UTC()
	if len(e.Order.Items) == 0 {
		e.Order.Items = nil
	}
	return e
}
