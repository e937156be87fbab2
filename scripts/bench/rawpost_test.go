package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRawPoster holds the bench's webhook client to what net/http's would
// do: the request arrives whole, with the forwarded headers; connections
// are kept and reused; only a 200 succeeds; an answer of any length, or
// one that closes the connection, leaves the next request unharmed.
func TestRawPoster(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"checkout.session.completed"}`)
	for _, tc := range []struct {
		name string
		// answer writes the answer to request i.
		answer func(w http.ResponseWriter, i int)
		// wantErr is in the error of every request, "" for success.
		wantErr string
		// wantConns is how many connections 5 requests in a row open.
		wantConns int
	}{
		{name: "200 on one kept connection", wantConns: 1,
			answer: func(w http.ResponseWriter, _ int) { _, _ = io.WriteString(w, `{"received":true}`) }},
		{name: "an answer longer than what is kept of it", wantConns: 1,
			answer: func(w http.ResponseWriter, _ int) { _, _ = io.WriteString(w, strings.Repeat("x", 10_000)) }},
		{name: "a chunked answer", wantConns: 1,
			answer: func(w http.ResponseWriter, _ int) {
				_, _ = io.WriteString(w, "part one ")
				w.(http.Flusher).Flush()
				_, _ = io.WriteString(w, "part two")
			}},
		{name: "the server closes each connection", wantConns: 5,
			answer: func(w http.ResponseWriter, _ int) {
				w.Header().Set("Connection", "close")
				_, _ = io.WriteString(w, "ok")
			}},
		{name: "a refusal is an error with its status and text", wantConns: 1, wantErr: "status 400: bad signature",
			answer: func(w http.ResponseWriter, _ int) { http.Error(w, "bad signature", http.StatusBadRequest) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var conns, requests atomic.Int32
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, err := io.ReadAll(r.Body)
				assert.NoError(t, err)
				assert.Equal(t, body, got)
				assert.Equal(t, http.MethodPost, r.Method)
				assert.Equal(t, "/api/CheckoutComplete?code=k", r.URL.RequestURI())
				assert.Equal(t, "t=1,v1=abc", r.Header.Get("Stripe-Signature"))
				assert.Equal(t, "application/json; charset=utf-8", r.Header.Get("Content-Type"))
				assert.NotEmpty(t, r.Header.Get("X-Azure-Functions-InvocationId"))
				tc.answer(w, int(requests.Add(1)))
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()
			u, err := url.Parse(srv.URL + "/api/CheckoutComplete?code=k")
			require.NoError(t, err)
			require.Equal(t, "127.0.0.1", u.Hostname())
			p := newRawPoster(u, 1)
			defer p.close()
			req := rawRequest(u, body, "t=1,v1=abc")
			for i := range 5 {
				d, err := p.post(context.Background(), req)
				if tc.wantErr != "" {
					require.ErrorContains(t, err, tc.wantErr, "request %d", i)
					continue
				}
				require.NoError(t, err, "request %d", i)
				assert.Positive(t, d)
			}
			assert.EqualValues(t, 5, requests.Load())
			assert.EqualValues(t, tc.wantConns, conns.Load())
		})
	}
}

// TestRawPosterReportsADeadServer: a server gone between two requests is
// an error, not a hang.
func TestRawPosterReportsADeadServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	p := newRawPoster(u, 1)
	defer p.close()
	req := rawRequest(u, []byte("{}"), "t=1,v1=abc")
	_, err = p.post(context.Background(), req)
	require.NoError(t, err)
	srv.Close()
	_, err = p.post(context.Background(), req)
	require.Error(t, err)
}
