package stripeapi

import (
	"context"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// Payment statuses of a Checkout Session (Stripe's own names).
const (
	PaymentPaid        = "paid"
	PaymentUnpaid      = "unpaid"
	PaymentNotRequired = "no_payment_required"
)

// OriginalKey is the product metadata key that names a product's original
// (a blob path inside the originals container).
const OriginalKey = "original"

// MaxLineItems bounds the line items read for one session; a cart that large
// cannot be mailed as one message anyway.
const MaxLineItems = 1000

// lineItemPage is how many line items one page request asks for (Stripe's
// maximum).
const lineItemPage = 100

// Session is a Checkout Session as the pipeline needs it.
type Session struct {
	ID       string
	Livemode bool
	// PaymentStatus is PaymentPaid, PaymentUnpaid or PaymentNotRequired.
	PaymentStatus string
	// CustomerEmail is customer_details.email, else customer_email; it may be
	// empty.
	CustomerEmail string
	CustomerName  string
	// Locale is the locale Checkout showed (such as "fr" or "pt-BR"), or ""
	// when unknown or "auto".
	Locale string
	// Created is when the session was created.
	Created time.Time
	// PaidAt is when the customer paid: the creation of the payment
	// intent's latest charge; zero when the session has none (no payment
	// required).
	PaidAt time.Time
	// Currency is the lowercase ISO 4217 code ("eur"); AmountTotal the
	// total in its minor unit (cents; yen for zero-decimal currencies).
	Currency    string
	AmountTotal int64
	// Items are every line item, in Stripe's order.
	Items []LineItem
	// PaymentIntent is the id of the session's payment intent, "" for none
	// (no payment required); refunds and disputes name it.
	PaymentIntent string
}

// LineItem is one line of a Checkout Session.
type LineItem struct {
	ID          string
	ProductID   string
	ProductName string
	Description string
	Quantity    int64
	// AmountTotal is the line's total, in the session's currency's minor
	// unit.
	AmountTotal int64
	// Original is the product's metadata value under OriginalKey, or "".
	Original string
}

// Session fetches the Checkout Session id with all of its line items and
// their products, and its payment intent's latest charge (when the customer
// paid). A missing session is permanent and wraps order.ErrNotFound;
// throttling (429) is order.Throttled; network faults and 5xx are retryable.
func (c *Client) Session(ctx context.Context, id string) (Session, error) {
	p := &stripe.CheckoutSessionParams{}
	p.Context = ctx
	p.AddExpand("line_items")
	p.AddExpand("line_items.data.price.product")
	p.AddExpand("payment_intent.latest_charge")
	cs, err := c.sessions.Get(id, p)
	if err != nil {
		return Session{}, translate("get checkout session "+id, err)
	}
	s := shape(cs)
	if cs.LineItems == nil {
		return s, fmt.Errorf("get checkout session %s: line_items missing although expanded", id)
	}
	for _, li := range cs.LineItems.Data {
		s.Items = append(s.Items, lineItem(li))
	}
	if cs.LineItems.HasMore && len(cs.LineItems.Data) > 0 {
		rest, err := c.lineItems(ctx, id, cs.LineItems.Data[len(cs.LineItems.Data)-1].ID, len(s.Items))
		if err != nil {
			return Session{}, err
		}
		s.Items = append(s.Items, rest...)
	}
	return s, nil
}

// shape returns the session without its line items, in the domain's terms.
func shape(cs *stripe.CheckoutSession) Session {
	s := Session{
		ID:            cs.ID,
		Livemode:      cs.Livemode,
		PaymentStatus: string(cs.PaymentStatus),
		CustomerEmail: cs.CustomerEmail,
		Currency:      string(cs.Currency),
		AmountTotal:   cs.AmountTotal,
	}
	if cs.Created != 0 {
		s.Created = time.Unix(cs.Created, 0).UTC()
	}
	if d := cs.CustomerDetails; d != nil {
		if d.Email != "" {
			s.CustomerEmail = d.Email
		}
		s.CustomerName = d.Name
	}
	if cs.Locale != "auto" {
		s.Locale = cs.Locale
	}
	if pi := cs.PaymentIntent; pi != nil {
		s.PaymentIntent = pi.ID
		if ch := pi.LatestCharge; ch != nil && ch.Created != 0 {
			s.PaidAt = time.Unix(ch.Created, 0).UTC()
		}
	}
	return s
}

// lineItems lists the session's line items after the one with id after,
// page by page, with their products.
func (c *Client) lineItems(ctx context.Context, id, after string, have int) ([]LineItem, error) {
	p := &stripe.CheckoutSessionListLineItemsParams{Session: stripe.String(id)}
	p.Context = ctx
	p.StartingAfter = stripe.String(after)
	p.Limit = stripe.Int64(lineItemPage)
	p.AddExpand("data.price.product")
	var items []LineItem
	it := c.sessions.ListLineItems(p)
	for it.Next() {
		if have+len(items) >= MaxLineItems {
			return nil, permanentf("list line items of %s: more than %d line items", id, MaxLineItems)
		}
		items = append(items, lineItem(it.LineItem()))
	}
	if err := it.Err(); err != nil {
		return nil, translate("list line items of "+id, err)
	}
	return items, nil
}

func lineItem(li *stripe.LineItem) LineItem {
	out := LineItem{ID: li.ID, Description: li.Description, Quantity: li.Quantity, AmountTotal: li.AmountTotal}
	if li.Price != nil && li.Price.Product != nil {
		pr := li.Price.Product
		out.ProductID, out.ProductName, out.Original = pr.ID, pr.Name, pr.Metadata[OriginalKey]
	}
	return out
}
