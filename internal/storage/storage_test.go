package storage_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/storage"
)

// TestHTTPClientKeepsConnectionsUnderConcurrency sends rounds of calls that
// are all in flight at once (the server answers none until every one has
// arrived) and counts the connections opened: every round after the first
// reuses the first round's, also beyond azcore's default of 10 idle
// connections per host.
func TestHTTPClientKeepsConnectionsUnderConcurrency(t *testing.T) {
	for _, inFlight := range []int{4, 16, 32} {
		t.Run(fmt.Sprintf("%d in flight", inFlight), func(t *testing.T) {
			var opened atomic.Int64
			arrived := make(chan struct{}, inFlight)
			release := make(chan struct{})
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				arrived <- struct{}{}
				select {
				case <-release:
				case <-r.Context().Done():
				}
				_, _ = io.WriteString(w, "ok")
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					opened.Add(1)
				}
			}
			srv.Start()
			t.Cleanup(srv.Close)

			client := storage.NewHTTPClient()
			t.Cleanup(client.CloseIdleConnections)
			for range 3 {
				var wg sync.WaitGroup
				errs := make(chan error, inFlight)
				for range inFlight {
					wg.Go(func() {
						ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
						defer cancel()
						req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
						if err == nil {
							var resp *http.Response
							if resp, err = client.Do(req); err == nil {
								_, _ = io.Copy(io.Discard, resp.Body)
								err = resp.Body.Close()
							}
						}
						errs <- err
					})
				}
				for range inFlight {
					select {
					case <-arrived:
					case <-time.After(10 * time.Second):
						t.Fatal("the calls did not all arrive")
					}
				}
				close(release)
				wg.Wait()
				close(errs)
				for err := range errs {
					require.NoError(t, err)
				}
				release = make(chan struct{})
			}
			require.Equal(t, int64(inFlight), opened.Load(), "connections opened over 3 rounds of %d calls in flight", inFlight)
		})
	}
}

func TestNewAccountUsesTheSizedClient(t *testing.T) {
	a, err := storage.NewAccount(storage.Options{AccountName: "devstoreaccount1"})
	require.NoError(t, err)
	c, ok := a.Transport.(*http.Client)
	require.True(t, ok, "the account's transport is an *http.Client, not azcore's default")
	ow, ok := c.Transport.(storage.OneWrite)
	require.True(t, ok, "small requests go out in one write")
	tr, ok := ow.Next.(*http.Transport)
	require.True(t, ok)
	require.Equal(t, storage.IdleConnsPerHost, tr.MaxIdleConnsPerHost)
	require.Same(t, c, a.ClientOptions().Transport, "every client of the account shares it")
}

// opaqueBody is a request body of a type net/http does not know, as
// azcore's are.
type opaqueBody struct{ *strings.Reader }

func (opaqueBody) Close() error { return nil }

// writeCounter counts the writes on every connection it dials.
type writeCounter struct {
	net.Conn
	writes *atomic.Int64
}

func (c writeCounter) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestOneWriteSendsASmallRequestInOneWrite counts the write calls on the
// connection for one POST with a body of a type net/http does not know:
// two without OneWrite (net/http flushes the headers first), one with it;
// a body over MaxOneWriteBody still streams, and every body arrives whole.
func TestOneWriteSendsASmallRequestInOneWrite(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		got.Store(string(b))
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(srv.Close)
	small := strings.Repeat("<QueueMessage/>", 60)
	big := strings.Repeat("x", storage.MaxOneWriteBody+1)
	for _, tc := range []struct {
		name      string
		oneWrite  bool
		body      string
		minWrites int64
		maxWrites int64
	}{
		{"small body, plain transport", false, small, 2, 2},
		{"small body, OneWrite", true, small, 1, 1},
		{"body over the limit, OneWrite", true, big, 2, 1 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var writes atomic.Int64
			base := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return writeCounter{Conn: c, writes: &writes}, nil
			}}
			t.Cleanup(base.CloseIdleConnections)
			var rt http.RoundTripper = base
			if tc.oneWrite {
				rt = storage.OneWrite{Next: base}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, opaqueBody{strings.NewReader(tc.body)})
			require.NoError(t, err)
			req.ContentLength = int64(len(tc.body))
			resp, err := (&http.Client{Transport: rt}).Do(req)
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			require.NoError(t, resp.Body.Close())
			require.Equal(t, http.StatusCreated, resp.StatusCode)
			require.Equal(t, tc.body, got.Load(), "the body arrived whole")
			require.GreaterOrEqual(t, writes.Load(), tc.minWrites)
			require.LessOrEqual(t, writes.Load(), tc.maxWrites)
		})
	}
}

// TestOneWriteRefusesABodyOfAnotherLength: a body shorter or longer than
// its Content-Length is an error naming the request (never its query),
// not a truncated send.
func TestOneWriteRefusesABodyOfAnotherLength(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		length     int64
		wantIs     error
		wantText   string
	}{
		{"shorter", "abc", 10, io.ErrUnexpectedEOF, "unexpected EOF"},
		{"longer", "abcdefghijkl", 10, nil, "longer than its Content-Length 10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := storage.OneWrite{Next: roundTripFunc(func(*http.Request) (*http.Response, error) {
				t.Fatal("a body of another length was sent")
				return nil, nil
			})}
			req, err := http.NewRequest(http.MethodPut, "http://127.0.0.1:1/q?sig=secret", opaqueBody{strings.NewReader(tc.body)})
			require.NoError(t, err)
			req.ContentLength = tc.length
			_, err = rt.RoundTrip(req)
			require.Error(t, err)
			if tc.wantIs != nil {
				require.ErrorIs(t, err, tc.wantIs)
			}
			require.Contains(t, err.Error(), tc.wantText)
			require.Contains(t, err.Error(), "127.0.0.1:1/q")
			require.NotContains(t, err.Error(), "secret")
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
