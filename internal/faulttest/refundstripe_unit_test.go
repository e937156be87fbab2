package faulttest

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/stripeapi"
)

// TestStripeFakeRefunds reads the fake's charges, sessions by payment
// intent and sessions through the pipeline's own Stripe client, and checks
// that a refundDuring session's first fetch waits for the refund's lookup.
func TestStripeFakeRefunds(t *testing.T) {
	sh := shape("unit", 20, time.Minute)
	p := newPlan(sh, rand.New(rand.NewPCG(3, 4)))
	fake := startStripe(t, p, 0, 0, 5)
	client := stripeapi.New(stripeKey, stripeapi.Options{APIURL: fake.URL}, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	refunded, by := p.refunded()
	require.Len(t, refunded, minRefunds)
	require.Equal(t, 1, by[refundDuring])

	for _, s := range refunded {
		ch, err := client.Charge(ctx, chargeID(s.id))
		require.NoError(t, err)
		require.Equal(t, stripeapi.Charge{ID: chargeID(s.id), PaymentIntent: paymentIntent(s.id),
			Amount: s.amount(), AmountRefunded: s.amount(), Refunded: true}, ch)
		if s.refund == refundDuring {
			continue // looked up below
		}
		id, err := client.SessionOfPayment(ctx, paymentIntent(s.id))
		require.NoError(t, err)
		require.Equal(t, s.id, id)
		sess, err := client.Session(ctx, s.id)
		require.NoError(t, err)
		require.Equal(t, paymentIntent(s.id), sess.PaymentIntent)
	}

	var during *session
	for _, s := range refunded {
		if s.refund == refundDuring {
			during = s
		}
	}
	fetched := make(chan error, 1)
	go func() { _, err := client.Session(ctx, during.id); fetched <- err }()
	select {
	case <-fake.refunds.fetched[during.id]: // the fetch is held now
	case <-time.After(maxRefundHold):
		t.Fatal("the refundDuring session's fetch did not arrive")
	}
	require.Empty(t, fetched, "the fetch was answered before the refund looked the session up")
	id, err := client.SessionOfPayment(ctx, paymentIntent(during.id))
	require.NoError(t, err)
	require.Equal(t, during.id, id)
	require.NoError(t, <-fetched)
	require.Equal(t, refundStats{held: 1, charges: len(refunded), lookup: len(refunded)}, fake.refunds.stats())
}
