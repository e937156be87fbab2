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

// TestCatalogAgainstStripeMock proves that stripe-mock, which validates
// parameters against Stripe's OpenAPI spec, accepts every catalog request
// the client sends: the three lists (payment links with their line items
// expanded), a product created and updated with its original in the
// metadata, a price with a transferred lookup key, a price archived, a
// payment link created and deactivated.
func TestCatalogAgainstStripeMock(t *testing.T) {
	m := testenv.StartStripeMock(t, "")
	c := New("sk_test_123", Options{APIURL: m.URL}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()

	var products []Product
	require.NoError(t, c.ListProducts(ctx, func(p Product) error { products = append(products, p); return nil }))
	require.NotEmpty(t, products)
	require.NotEmpty(t, products[0].ID)
	var prices []Price
	require.NoError(t, c.ListActivePrices(ctx, func(p Price) error { prices = append(prices, p); return nil }))
	require.NotEmpty(t, prices)
	var links []PaymentLink
	require.NoError(t, c.ListPaymentLinks(ctx, func(l PaymentLink) error { links = append(links, l); return nil }))
	require.NotEmpty(t, links)
	require.NotEmpty(t, links[0].Items, "the line items are expanded")
	require.NotEmpty(t, links[0].Items[0].Price.ID)
	require.NotEmpty(t, links[0].Items[0].Price.Product, "the price names its product")

	desc := "Harbour at dawn, 6000 x 4000 px"
	pr, err := c.CreateProduct(ctx, ProductFields{Name: "Harbour at dawn", Description: &desc, Original: "landscapes/harbour.jpg", Active: true}, "k-create-product")
	require.NoError(t, err)
	require.NotEmpty(t, pr.ID)
	_, err = c.UpdateProduct(ctx, "prod_QXg1hqf4jFNsqG", ProductFields{Name: "Harbour", Original: "harbour.jpg", Active: false, DefaultPrice: "price_1"}, "k-update-product")
	require.NoError(t, err)
	cleared := ""
	_, err = c.UpdateProduct(ctx, "prod_QXg1hqf4jFNsqG", ProductFields{Name: "Harbour", Description: &cleared, Original: "harbour.jpg", Active: true}, "k-clear")
	require.NoError(t, err)

	price, err := c.CreatePrice(ctx, NewPrice{Product: "prod_QXg1hqf4jFNsqG", Currency: "jpy", UnitAmount: 1500, LookupKey: "filedrop:prod_QXg1hqf4jFNsqG",
		Metadata: map[string]string{OriginalKey: "harbour.jpg"}}, "k-price")
	require.NoError(t, err)
	require.NotEmpty(t, price.ID)
	_, err = c.ArchivePrice(ctx, "price_1PgafmB7WZ01zgkW02Hf9z6c", "k-archive")
	require.NoError(t, err)

	link, err := c.CreatePaymentLink(ctx, NewPaymentLink{Price: "price_1PgafmB7WZ01zgkW02Hf9z6c", Metadata: map[string]string{OriginalKey: "harbour.jpg"}}, "k-link")
	require.NoError(t, err)
	require.NotEmpty(t, link.URL)
	_, err = c.SetPaymentLinkActive(ctx, link.ID, false, "k-deactivate")
	require.NoError(t, err)
}
