package functions_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop"
	"github.com/filedrop/filedrop/internal/functions"
)

func TestDownloadFunctionLoads(t *testing.T) {
	app, err := functions.LoadApp(filedrop.AppFiles, func(string) string { return "" })
	require.NoError(t, err)
	f, ok := app.Functions["Download"]
	require.True(t, ok)
	require.Equal(t, "httpTrigger", f.Trigger)
	require.Equal(t, []string{"get", "head", "post"}, f.Methods, "HEAD renders the page like GET, without counting")
	require.Equal(t, "download/{*rest}", f.Route)
	require.Equal(t, 2, f.Bindings, "exactly one httpTrigger and one http output, so the host forwards the request")
	require.NotContains(t, app.QueueFunctions(), f)
}

func TestMatchRoute(t *testing.T) {
	download := functions.Function{Name: "Download", Route: "download/{*rest}"}
	webhook := functions.Function{Name: "CheckoutComplete"}
	item := functions.Function{Name: "Item", Route: "items/{id}/files"}
	tests := []struct {
		f    functions.Function
		path string
		want bool
	}{
		{download, "/api/download/cs_test_1.abc", true},
		{download, "/API/Download/cs_test_1.abc", true},
		{download, "/api/download/", true},
		{download, "/api/download", true},
		{download, "/api/download/a/b", true},
		{download, "/api/downloads/x", false},
		{download, "/download/x", false},
		{webhook, "/api/CheckoutComplete", true},
		{webhook, "/api/checkoutcomplete", true},
		{webhook, "/api/CheckoutComplete/x", false},
		{item, "/api/items/7/files", true},
		{item, "/api/items//files", false},
		{item, "/api/items/7", false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, tt.f.MatchRoute(tt.path), "%s %s", tt.f.Name, tt.path)
	}
}
