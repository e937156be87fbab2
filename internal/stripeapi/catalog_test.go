package stripeapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/testenv"
)

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

// TestCatalogErrors pins how catalog failures are classified: a refused
// permission names what a restricted key needs, and a Stripe that does not
// answer is ErrUnreachable.
func TestCatalogErrors(t *testing.T) {
	forbidden := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"error":{"type":"invalid_request_error","message":"The provided key 'rk_test_***' does not have the required permissions for this endpoint"}}`)
	}))
	defer forbidden.Close()
	c := New("rk_test_123", Options{APIURL: forbidden.URL}, slog.New(slog.DiscardHandler))
	_, err := c.CreateProduct(context.Background(), ProductFields{Name: "x", Original: "x.jpg", Active: true}, "k")
	require.Equal(t, order.ClassMisconfigured, order.Classify(err), "%v", err)
	require.ErrorContains(t, err, CatalogPermissions)

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	c = New("sk_test_123", Options{APIURL: closed.URL}, slog.New(slog.DiscardHandler))
	err = c.ListProducts(context.Background(), func(Product) error { return nil })
	require.True(t, errors.Is(err, ErrUnreachable), "%v", err)
}
