package stripeapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/stripeapi"
	"github.com/filedrop/filedrop/internal/stripeapi/stripetest"
)

func TestPaymentReads(t *testing.T) {
	srv := stripetest.NewServer(t)
	srv.SetCharge("ch_1", stripetest.PaymentIntent, 2000, 500)
	srv.SetDispute("dp_1", "ch_1", stripetest.PaymentIntent, "needs_response")
	c := newClient(srv.URL)
	ctx := context.Background()

	ch, err := c.Charge(ctx, "ch_1")
	require.NoError(t, err)
	require.Equal(t, stripeapi.Charge{ID: "ch_1", PaymentIntent: stripetest.PaymentIntent, Amount: 2000, AmountRefunded: 500}, ch)

	dp, err := c.Dispute(ctx, "dp_1")
	require.NoError(t, err)
	require.Equal(t, stripeapi.Dispute{ID: "dp_1", PaymentIntent: stripetest.PaymentIntent, Status: "needs_response"}, dp)

	id, err := c.SessionOfPayment(ctx, stripetest.PaymentIntent)
	require.NoError(t, err)
	require.Equal(t, stripetest.SessionID, id)
	id, err = c.SessionOfPayment(ctx, "pi_NotACheckoutPayment")
	require.NoError(t, err)
	require.Empty(t, id, "a payment made outside Checkout has no session")
	require.Contains(t, srv.Requests(), "/v1/checkout/sessions?limit=1&payment_intent="+stripetest.PaymentIntent)

	_, err = c.Charge(ctx, "ch_missing")
	require.ErrorIs(t, err, order.ErrNotFound)
	require.True(t, order.IsPermanent(err))
	_, err = c.Dispute(ctx, "dp_missing")
	require.ErrorIs(t, err, order.ErrNotFound)

	srv.Fail(http.StatusTooManyRequests, "rate_limit", http.Header{"Retry-After": {"2"}})
	_, err = c.SessionOfPayment(ctx, stripetest.PaymentIntent)
	require.Equal(t, order.ClassThrottled, order.Classify(err))
	_, err = c.Charge(ctx, "ch_1")
	require.Equal(t, order.ClassThrottled, order.Classify(err))
}
