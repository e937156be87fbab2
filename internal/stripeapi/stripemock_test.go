package stripeapi

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/testenv"
)

// TestAgainstStripeMock proves that stripe-mock, which validates parameters
// against Stripe's OpenAPI spec, accepts the requests the client sends: the
// session with its nested expansions, a page of line items after a given
// one, the session of a payment intent, a charge and a dispute.
// stripe-mock's session is unpaid and has one line item.
func TestAgainstStripeMock(t *testing.T) {
	m := testenv.StartStripeMock(t, "")
	c := New("sk_test_123", Options{APIURL: m.URL}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()

	s, err := c.Session(ctx, "cs_test_a1filedrop")
	require.NoError(t, err)
	require.Equal(t, "cs_test_a1filedrop", s.ID)
	require.Equal(t, PaymentUnpaid, s.PaymentStatus)
	require.Equal(t, "example@example.com", s.CustomerEmail)
	require.Len(t, s.Items, 1)
	require.Equal(t, "prod_QXg1hqf4jFNsqG", s.Items[0].ProductID)
	require.Equal(t, "T-shirt", s.Items[0].ProductName)
	require.False(t, s.PaidAt.IsZero(), "the payment intent's latest charge is expanded")

	items, err := c.lineItems(ctx, "cs_test_a1filedrop", "li_1Pgc73B7WZ01zgkWx8kcmZPK", 1)
	require.NoError(t, err)
	require.NotEmpty(t, items)
	require.Equal(t, "prod_QXg1hqf4jFNsqG", items[0].ProductID, "the listed line items' products are expanded")

	// The reads refunds and disputes need: the session of a payment
	// intent, a charge, a dispute.
	id, err := c.SessionOfPayment(ctx, "pi_3OmA0aB2cD3eF4gH0xYz1234")
	require.NoError(t, err)
	require.NotEmpty(t, id, "stripe-mock lists its fixture session")
	ch, err := c.Charge(ctx, "ch_filedrop")
	require.NoError(t, err)
	require.NotEmpty(t, ch.ID)
	dp, err := c.Dispute(ctx, "dp_filedrop")
	require.NoError(t, err)
	require.NotEmpty(t, dp.Status)

	live := New("sk_live_123", Options{APIURL: m.URL, Livemode: true}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.True(t, live.Livemode())
	_, err = live.Session(ctx, "cs_test_a1filedrop")
	require.ErrorContains(t, err, "Stripe refused STRIPE_API_KEY", "stripe-mock refuses live keys with 401")
	require.Equal(t, order.ClassMisconfigured, order.Classify(err), "a refused key holds the order")
}
