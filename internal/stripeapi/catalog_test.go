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
)

// TestCatalogErrors pins how catalog failures are classified: a refused
// permission names what a restricted key needs, a failure Stripe replays
// from the write's idempotency key says so, and a Stripe that does not
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

	replayed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Idempotent-Replayed", "true")
		w.Header().Set("Stripe-Should-Retry", "false")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"error":{"type":"api_error","message":"An unknown error occurred"}}`)
	}))
	defer replayed.Close()
	c = New("sk_test_123", Options{APIURL: replayed.URL}, slog.New(slog.DiscardHandler))
	_, err = c.CreatePrice(context.Background(), NewPrice{Product: "prod_1", Currency: "eur", UnitAmount: 100}, "k")
	require.Equal(t, order.ClassTransient, order.Classify(err), "%v", err)
	require.ErrorContains(t, err, "Stripe answers this write as it did the first time for 24 hours")

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	c = New("sk_test_123", Options{APIURL: closed.URL}, slog.New(slog.DiscardHandler))
	err = c.ListProducts(context.Background(), func(Product) error { return nil })
	require.True(t, errors.Is(err, ErrUnreachable), "%v", err)
}
