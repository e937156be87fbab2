package stripeapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/paymentlink"
	"github.com/stripe/stripe-go/v76/price"
	"github.com/stripe/stripe-go/v76/product"

	"github.com/filedrop/filedrop/internal/order"
)

// MaxListedCatalog bounds the products, prices or payment links one list
// call reads.
const MaxListedCatalog = 100_000

// catalogPage is how many objects one catalog list request asks for
// (Stripe's maximum).
const catalogPage = 100

// CatalogPermissions is what a restricted key needs for the catalog
// commands, named by the error of a refused request.
const CatalogPermissions = "write access to Products, Prices and Payment Links (read access for catalog check)"

// Product is a Stripe product as the catalog needs it.
type Product struct {
	ID          string
	Name        string
	Description string
	Active      bool
	// Metadata holds the product's metadata; OriginalKey names its
	// original.
	Metadata map[string]string
	// DefaultPrice is the id of the product's default price, or "".
	DefaultPrice string
	// Created and Updated are Unix times, as Stripe gives them.
	Created, Updated int64
}

// Original returns the blob the product delivers (order.OriginalOf).
func (p Product) Original() string { return order.OriginalOf(p.ID, p.Metadata[OriginalKey]) }

// Price is a Stripe price as the catalog needs it. UnitAmount is in the
// currency's smallest unit.
type Price struct {
	ID      string
	Product string
	Active  bool
	// OneTime is false for a recurring price.
	OneTime    bool
	Currency   string
	UnitAmount int64
	LookupKey  string
	Metadata   map[string]string
}

// PaymentLink is a Stripe payment link with its line items.
type PaymentLink struct {
	ID       string
	URL      string
	Active   bool
	Metadata map[string]string
	Items    []LinkItem
	// MoreItems is set when Stripe embedded only the first of its line
	// items.
	MoreItems bool
}

// LinkItem is one line item of a payment link.
type LinkItem struct {
	Price    Price
	Quantity int64
}

// ProductFields are what the catalog writes on a product.
type ProductFields struct {
	Name string
	// Description, when not nil, is written ("" clears it).
	Description *string
	// Original is written as the metadata value under OriginalKey.
	Original string
	Active   bool
	// DefaultPrice, when set, becomes the product's default price.
	DefaultPrice string
}

// NewPrice is a one-time price to create.
type NewPrice struct {
	Product    string
	Currency   string
	UnitAmount int64
	// LookupKey is moved to the new price from any price that holds it.
	LookupKey string
	Metadata  map[string]string
}

// NewPaymentLink is a payment link for one unit of one price.
type NewPaymentLink struct {
	Price    string
	Metadata map[string]string
}

// ListProducts calls fn for every product of the account, active or
// archived. Errors are translated as CreateProduct's are; an error from fn
// stops the listing and is returned as it is.
func (c *Client) ListProducts(ctx context.Context, fn func(Product) error) error {
	p := &stripe.ProductListParams{}
	p.Context = ctx
	p.Limit = stripe.Int64(catalogPage)
	it := c.products().List(p)
	return each("list products", it.Next, it.Product, it.Err, productOf, fn)
}

// ListActivePrices calls fn for every active price of the account.
func (c *Client) ListActivePrices(ctx context.Context, fn func(Price) error) error {
	p := &stripe.PriceListParams{Active: stripe.Bool(true)}
	p.Context = ctx
	p.Limit = stripe.Int64(catalogPage)
	it := c.prices().List(p)
	return each("list prices", it.Next, it.Price, it.Err, priceOf, fn)
}

// ListPaymentLinks calls fn for every payment link of the account, active
// or not, with its line items.
func (c *Client) ListPaymentLinks(ctx context.Context, fn func(PaymentLink) error) error {
	p := &stripe.PaymentLinkListParams{}
	p.Context = ctx
	p.Limit = stripe.Int64(catalogPage)
	p.AddExpand("data.line_items")
	it := c.paymentLinks().List(p)
	return each("list payment links", it.Next, it.PaymentLink, it.Err, linkOf, fn)
}

// each calls fn with every object a list iterator (next, current, err)
// pages through, shaped by shape, and stops after MaxListedCatalog.
func each[S, T any](what string, next func() bool, current func() S, err func() error, shape func(S) T, fn func(T) error) error {
	for n := 0; next(); n++ {
		if n == MaxListedCatalog {
			return fmt.Errorf("%s: more than %d", what, MaxListedCatalog)
		}
		if err := fn(shape(current())); err != nil {
			return err
		}
	}
	return catalogError(what, err())
}

// CreateProduct creates a product with the fields, under the idempotency
// key. Errors are translated as Session's are, except that a refused
// permission names CatalogPermissions.
func (c *Client) CreateProduct(ctx context.Context, f ProductFields, key string) (Product, error) {
	p := productParams(ctx, f, key)
	if f.Description != nil && *f.Description == "" {
		p.Description = nil // Stripe refuses to "unset" what a new product does not have
	}
	pr, err := c.products().New(p)
	if err != nil {
		return Product{}, catalogError("create product for "+f.Original, err)
	}
	return productOf(pr), nil
}

// UpdateProduct writes the fields on the product id, under the idempotency
// key.
func (c *Client) UpdateProduct(ctx context.Context, id string, f ProductFields, key string) (Product, error) {
	pr, err := c.products().Update(id, productParams(ctx, f, key))
	if err != nil {
		return Product{}, catalogError("update product "+id, err)
	}
	return productOf(pr), nil
}

// CreatePrice creates the one-time price, taking its lookup key over from
// any price that holds it, under the idempotency key.
func (c *Client) CreatePrice(ctx context.Context, np NewPrice, key string) (Price, error) {
	p := &stripe.PriceParams{
		Product:    stripe.String(np.Product),
		Currency:   stripe.String(np.Currency),
		UnitAmount: stripe.Int64(np.UnitAmount),
		Metadata:   np.Metadata,
	}
	if np.LookupKey != "" {
		p.LookupKey, p.TransferLookupKey = stripe.String(np.LookupKey), stripe.Bool(true)
	}
	p.Context = ctx
	p.SetIdempotencyKey(key)
	pr, err := c.prices().New(p)
	if err != nil {
		return Price{}, catalogError("create price for product "+np.Product, err)
	}
	return priceOf(pr), nil
}

// ArchivePrice makes the price id inactive, under the idempotency key.
func (c *Client) ArchivePrice(ctx context.Context, id, key string) (Price, error) {
	p := &stripe.PriceParams{Active: stripe.Bool(false)}
	p.Context = ctx
	p.SetIdempotencyKey(key)
	pr, err := c.prices().Update(id, p)
	if err != nil {
		return Price{}, catalogError("archive price "+id, err)
	}
	return priceOf(pr), nil
}

// CreatePaymentLink creates a payment link for one unit of the price,
// under the idempotency key.
func (c *Client) CreatePaymentLink(ctx context.Context, nl NewPaymentLink, key string) (PaymentLink, error) {
	p := &stripe.PaymentLinkParams{
		LineItems: []*stripe.PaymentLinkLineItemParams{{Price: stripe.String(nl.Price), Quantity: stripe.Int64(1)}},
		Metadata:  nl.Metadata,
	}
	p.Context = ctx
	p.SetIdempotencyKey(key)
	pl, err := c.paymentLinks().New(p)
	if err != nil {
		return PaymentLink{}, catalogError("create payment link for price "+nl.Price, err)
	}
	return linkOf(pl), nil
}

// SetPaymentLinkActive activates or deactivates the payment link id, under
// the idempotency key. The answer carries no line items.
func (c *Client) SetPaymentLinkActive(ctx context.Context, id string, active bool, key string) (PaymentLink, error) {
	p := &stripe.PaymentLinkParams{Active: stripe.Bool(active)}
	p.Context = ctx
	p.SetIdempotencyKey(key)
	pl, err := c.paymentLinks().Update(id, p)
	if err != nil {
		return PaymentLink{}, catalogError("update payment link "+id, err)
	}
	return linkOf(pl), nil
}

func productParams(ctx context.Context, f ProductFields, key string) *stripe.ProductParams {
	p := &stripe.ProductParams{
		Name:        stripe.String(f.Name),
		Description: f.Description,
		Active:      stripe.Bool(f.Active),
		Metadata:    map[string]string{OriginalKey: f.Original},
	}
	if f.DefaultPrice != "" {
		p.DefaultPrice = stripe.String(f.DefaultPrice)
	}
	p.Context = ctx
	p.SetIdempotencyKey(key)
	return p
}

// catalogError translates as translate does, but a refused permission
// (403) names what the catalog needs rather than what the pipeline reads,
// and an error without any answer from Stripe also wraps ErrUnreachable.
func catalogError(what string, err error) error {
	if err == nil {
		return nil
	}
	var se *stripe.Error
	if errors.As(err, &se) && se.HTTPStatusCode == http.StatusForbidden {
		return order.Misconfigured(fmt.Errorf("%s: STRIPE_API_KEY lacks a permission: give the restricted key %s: %s",
			what, CatalogPermissions, describe(se)), KeySetting)
	}
	if errors.As(err, &se) && se.LastResponse != nil && se.LastResponse.Header.Get("Idempotent-Replayed") == "true" {
		what += " (Stripe answers this write as it did the first time for 24 hours: its idempotency key is derived from what it writes)"
	}
	return markUnreachable(translate(what, err))
}

func productOf(p *stripe.Product) Product {
	out := Product{ID: p.ID, Name: p.Name, Description: p.Description, Active: p.Active, Metadata: p.Metadata,
		Created: p.Created, Updated: p.Updated}
	if p.DefaultPrice != nil {
		out.DefaultPrice = p.DefaultPrice.ID
	}
	return out
}

func priceOf(p *stripe.Price) Price {
	out := Price{ID: p.ID, Active: p.Active, OneTime: p.Type == stripe.PriceTypeOneTime, Currency: string(p.Currency),
		UnitAmount: p.UnitAmount, LookupKey: p.LookupKey, Metadata: p.Metadata}
	if p.Product != nil {
		out.Product = p.Product.ID
	}
	return out
}

func linkOf(pl *stripe.PaymentLink) PaymentLink {
	out := PaymentLink{ID: pl.ID, URL: pl.URL, Active: pl.Active, Metadata: pl.Metadata}
	if pl.LineItems != nil {
		out.MoreItems = pl.LineItems.HasMore
		for _, li := range pl.LineItems.Data {
			item := LinkItem{Quantity: li.Quantity}
			if li.Price != nil {
				item.Price = priceOf(li.Price)
			}
			out.Items = append(out.Items, item)
		}
	}
	return out
}

// products, prices and paymentLinks use the sessions client's backend and
// key, as charges does.
func (c *Client) products() product.Client {
	return product.Client{B: c.sessions.B, Key: c.sessions.Key}
}

func (c *Client) prices() price.Client { return price.Client{B: c.sessions.B, Key: c.sessions.Key} }

func (c *Client) paymentLinks() paymentlink.Client {
	return paymentlink.Client{B: c.sessions.B, Key: c.sessions.Key}
}
