package functions

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// chunked hides the body's length so the request goes out chunked, as the
// host sends it.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestDecodeInvocation(t *testing.T) {
	const msg = `{"v":1,"session_id":"cs_test_1"}`
	tests := []struct {
		name      string
		body      string
		binary    bool
		wantData  string
		wantCount int
		wantID    string
		wantErr   string
	}{
		{
			name:      "binary data, metadata JSON-encoded as the real host sends it",
			binary:    true,
			body:      `{"Data":{"msg":"eyJ2IjoxLCJzZXNzaW9uX2lkIjoiY3NfdGVzdF8xIn0="},"Metadata":{"DequeueCount":"1","ExpirationTime":"2025-06-08T12:00:00+00:00","Id":"\"0c5c1a51-7d6a-4c0a-9b1e-5f4a5a8f6c11\"","InsertionTime":"2025-06-01T12:00:00+00:00","NextVisibleTime":"2025-06-01T12:10:00+00:00","PopReceipt":"\"AgAAAAMAAAAAAAAA\"","sys":{"MethodName":"ProcessOrder","UtcNow":"2025-06-01T12:00:01.5Z","RandGuid":"1a2b"}}}`,
			wantData:  msg,
			wantCount: 1,
			wantID:    "0c5c1a51-7d6a-4c0a-9b1e-5f4a5a8f6c11",
		},
		{
			name:      "binary data, metadata plain as the docs show it",
			binary:    true,
			body:      `{"Data":{"msg":"eyJ2IjoxLCJzZXNzaW9uX2lkIjoiY3NfdGVzdF8xIn0="},"Metadata":{"DequeueCount":3,"Id":"0c5c1a51"}}`,
			wantData:  msg,
			wantCount: 3,
			wantID:    "0c5c1a51",
		},
		{
			name:      "string data JSON-encoded twice (no dataType)",
			body:      `{"Data":{"msg":"\"{\\\"v\\\":1,\\\"session_id\\\":\\\"cs_test_1\\\"}\""},"Metadata":{"DequeueCount":"2","Id":"\"abc\"","v":"1","session_id":"\"cs_test_1\""}}`,
			wantData:  msg,
			wantCount: 2,
			wantID:    "abc",
		},
		{
			name:      "string data encoded once, as in the public docs",
			body:      `{"Data":{"msg":"{\"v\":1,\"session_id\":\"cs_test_1\"}"},"Metadata":{"DequeueCount":1}}`,
			wantData:  msg,
			wantCount: 1,
		},
		{
			name:     "object data (older hosts)",
			body:     `{"Data":{"msg":{"v":1,"session_id":"cs_test_1"}},"Metadata":{}}`,
			wantData: msg,
		},
		{
			name:     "binding name matched case-insensitively",
			binary:   true,
			body:     `{"Data":{"Msg":"eyJ2IjoxLCJzZXNzaW9uX2lkIjoiY3NfdGVzdF8xIn0="},"Metadata":{}}`,
			wantData: msg,
		},
		{name: "binary that is not base64", binary: true, body: `{"Data":{"msg":"not base64!"},"Metadata":{}}`, wantErr: "not base64"},
		{name: "binary that is not a string", binary: true, body: `{"Data":{"msg":{"a":1}},"Metadata":{}}`, wantErr: "base64 string"},
		{name: "missing binding", body: `{"Data":{"other":"x"},"Metadata":{}}`, wantErr: `no "msg" binding`},
		{name: "not JSON", body: `hello`, wantErr: "bad invocation"},
		{name: "dequeue count not a number", binary: true, body: `{"Data":{"msg":"aGk="},"Metadata":{"DequeueCount":"\"x\""}}`, wantErr: "DequeueCount"},
	}
	for _, tc := range tests {
		for _, isChunked := range []bool{false, true} {
			name := tc.name
			if isChunked {
				name += "/chunked"
			}
			t.Run(name, func(t *testing.T) {
				var body io.Reader = bytes.NewBufferString(tc.body)
				if isChunked {
					body = chunked{body}
				}
				req := httptest.NewRequest(http.MethodPost, "/ProcessOrder", body)
				req.Header.Set("X-Azure-Functions-InvocationId", "inv-1")
				inv, err := DecodeInvocation(req, "msg", tc.binary)
				if tc.wantErr != "" {
					require.ErrorContains(t, err, tc.wantErr)
					require.ErrorIs(t, err, ErrBadInvocation)
					return
				}
				require.NoError(t, err)
				require.JSONEq(t, tc.wantData, string(inv.Data))
				require.Equal(t, tc.wantCount, inv.DequeueCount)
				require.Equal(t, tc.wantID, inv.MessageID)
				require.Equal(t, "inv-1", inv.ID)
			})
		}
	}
}

func TestDecodeInvocationKeepsBinaryBytesExact(t *testing.T) {
	// Bytes that are not valid UTF-8 must survive binary mode untouched.
	req := httptest.NewRequest(http.MethodPost, "/SendLink", bytes.NewBufferString(`{"Data":{"msg":"/wD+"},"Metadata":{"DequeueCount":"1"}}`))
	inv, err := DecodeInvocation(req, "msg", true)
	require.NoError(t, err)
	require.Equal(t, []byte{0xff, 0x00, 0xfe}, inv.Data)
}

func TestDecodeInvocationRefusesHugeBodies(t *testing.T) {
	big := `{"Data":{"msg":"` + string(bytes.Repeat([]byte("A"), MaxInvocationBytes)) + `"}}`
	req := httptest.NewRequest(http.MethodPost, "/SendLink", chunked{bytes.NewBufferString(big)})
	_, err := DecodeInvocation(req, "msg", true)
	require.ErrorContains(t, err, "over")
}
