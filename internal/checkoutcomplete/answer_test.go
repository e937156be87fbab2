package checkoutcomplete

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/functions"
)

// TestWriteQueuedEqualsTheEncodedAnswer holds the queued answer's
// pre-encoded bytes, as functions.WriteEncodedJSON writes them, to what
// functions.WriteJSON writes for it: status, headers and body.
func TestWriteQueuedEqualsTheEncodedAnswer(t *testing.T) {
	want := httptest.NewRecorder()
	functions.WriteJSON(want, http.StatusOK, queuedAnswer())
	got := httptest.NewRecorder()
	functions.WriteEncodedJSON(got, http.StatusOK, queuedJSON)
	require.Equal(t, want.Code, got.Code)
	require.Equal(t, want.Body.String(), got.Body.String())
	for _, h := range []string{"Content-Type", "X-Content-Type-Options"} {
		require.Equal(t, want.Header().Get(h), got.Header().Get(h), h)
	}
	require.Equal(t, "32", got.Header().Get("Content-Length"))
}
