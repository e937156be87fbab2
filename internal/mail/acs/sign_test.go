package acs

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSignVectors reproduces the test vectors of the official SDKs
// (azure-sdk-for-js, communication-common).
func TestSignVectors(t *testing.T) {
	key, err := base64.StdEncoding.DecodeString("pw==")
	require.NoError(t, err)
	require.Equal(t, "88EC05aAS9iXnaimtNO78JLjiPtfWryQB/5QYEzEsu8=", signature(key, "banana"))
	require.Equal(t, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", contentHash(nil))

	date, err := time.Parse(http.TimeFormat, "Wed, 13 Apr 2022 18:09:12 GMT")
	require.NoError(t, err)
	tests := []struct {
		target string
		want   string
	}{
		{"/testPath?testQuery=test", "DGdgwggJWnQyc6EHjR/Vbqg1ES64KpD6U2XwTDDj3tU="},
		{"/testPath", "+6tWkg3lNKVjQHHmxkdGQcJjUgzclsWTMebnuCz1ngU="},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, "https://example.com"+tt.target, nil)
			require.NoError(t, err)
			signRequest(req, key, nil, date)
			require.Equal(t, "Wed, 13 Apr 2022 18:09:12 GMT", req.Header.Get("x-ms-date"))
			require.Equal(t, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", req.Header.Get("x-ms-content-sha256"))
			auth := req.Header.Get("Authorization")
			require.True(t, strings.HasPrefix(auth, "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature="), auth)
			require.Equal(t, "Signature="+tt.want, auth[strings.LastIndex(auth, "&")+1:])
		})
	}
}
