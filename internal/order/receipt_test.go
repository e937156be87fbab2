package order_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

// TestMailJobReceipt checks the receipt is optional: a message queued
// before it existed decodes without one, and one with it round-trips under
// its stable JSON names.
func TestMailJobReceipt(t *testing.T) {
	old := `{"v":1,"kind":"payment_failed","session_id":"cs_test_1","generation":1,"customer":{"email":"a@b.example"},"locale":"de"}`
	m, err := order.DecodeMailJob([]byte(old))
	require.NoError(t, err)
	require.Nil(t, m.Receipt)

	m.Receipt = &order.Receipt{OrderedAt: time.Date(2025, 3, 14, 9, 20, 0, 0, time.UTC), Currency: "jpy", AmountTotal: 1200,
		Lines: []order.ReceiptLine{{Description: "Fern", Quantity: 2, AmountTotal: 1200}}}
	data, err := json.Marshal(m)
	require.NoError(t, err)
	require.Contains(t, string(data), `"receipt":{"ordered_at":"2025-03-14T09:20:00Z","currency":"jpy","amount_total":1200,"lines":[{"description":"Fern","quantity":2,"amount_total":1200}]}`)
	back, err := order.DecodeMailJob(data)
	require.NoError(t, err)
	require.Equal(t, m, back)

	free, err := json.Marshal(order.Receipt{Currency: "eur"})
	require.NoError(t, err)
	require.JSONEq(t, `{"currency":"eur","amount_total":0}`, string(free), "a free order says 0, an unknown date is left out")
}
