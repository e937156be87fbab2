package order_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

// TestOriginalOf pins the one rule of what a product delivers, which
// ProcessOrder and the catalog commands share.
func TestOriginalOf(t *testing.T) {
	require.Equal(t, "landscapes/harbour.jpg", order.OriginalOf("prod_Harbour", "landscapes/harbour.jpg"))
	require.Equal(t, "prod_Harbour.jpg", order.OriginalOf("prod_Harbour", ""))
}
