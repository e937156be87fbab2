package stripeapi

import (
	"context"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/charge"
	"github.com/stripe/stripe-go/v76/dispute"
)

// Charge is a charge as the refund rules need it. Amounts are in the
// currency's smallest unit.
type Charge struct {
	ID            string
	Livemode      bool
	PaymentIntent string
	Amount        int64
	// AmountRefunded is the total refunded so far; Refunded is set once the
	// charge is refunded in full.
	AmountRefunded int64
	Refunded       bool
}

// Dispute is a dispute as the access rules need it.
type Dispute struct {
	ID            string
	Livemode      bool
	PaymentIntent string
	// Status is Stripe's: needs_response, under_review, won, lost,
	// warning_closed, ...
	Status string
}

// Charge fetches the charge id. Errors are translated as Session's are.
func (c *Client) Charge(ctx context.Context, id string) (Charge, error) {
	p := &stripe.ChargeParams{}
	p.Context = ctx
	ch, err := c.charges().Get(id, p)
	if err != nil {
		return Charge{}, translate("get charge "+id, err)
	}
	out := Charge{ID: ch.ID, Livemode: ch.Livemode, Amount: ch.Amount, AmountRefunded: ch.AmountRefunded, Refunded: ch.Refunded}
	if ch.PaymentIntent != nil {
		out.PaymentIntent = ch.PaymentIntent.ID
	}
	return out, nil
}

// Dispute fetches the dispute id. Errors are translated as Session's are.
func (c *Client) Dispute(ctx context.Context, id string) (Dispute, error) {
	p := &stripe.DisputeParams{}
	p.Context = ctx
	dp, err := c.disputes().Get(id, p)
	if err != nil {
		return Dispute{}, translate("get dispute "+id, err)
	}
	out := Dispute{ID: dp.ID, Livemode: dp.Livemode, Status: string(dp.Status)}
	if dp.PaymentIntent != nil {
		out.PaymentIntent = dp.PaymentIntent.ID
	}
	return out, nil
}

// SessionOfPayment returns the id of the Checkout Session whose payment
// intent is paymentIntent (GET /v1/checkout/sessions?payment_intent=...),
// or "" when Stripe lists none: the payment was not made through Checkout.
// Errors are translated as ListSessions's are.
func (c *Client) SessionOfPayment(ctx context.Context, paymentIntent string) (string, error) {
	p := &stripe.CheckoutSessionListParams{PaymentIntent: stripe.String(paymentIntent)}
	p.Context = ctx
	p.Limit = stripe.Int64(1)
	p.Single = true // one page: a payment intent has at most one session
	it := c.sessions.List(p)
	if it.Next() {
		return it.CheckoutSession().ID, nil
	}
	if err := it.Err(); err != nil {
		return "", listError(err)
	}
	return "", nil
}

// charges and disputes use the sessions client's backend and key: one
// backend per Client, never stripe-go's package-level one.
func (c *Client) charges() charge.Client {
	return charge.Client{B: c.sessions.B, Key: c.sessions.Key}
}

func (c *Client) disputes() dispute.Client {
	return dispute.Client{B: c.sessions.B, Key: c.sessions.Key}
}
