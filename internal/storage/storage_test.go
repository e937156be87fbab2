package storage_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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
	tr, ok := c.Transport.(*http.Transport)
	require.True(t, ok)
	require.Equal(t, storage.IdleConnsPerHost, tr.MaxIdleConnsPerHost)
	require.Same(t, c, a.ClientOptions().Transport, "every client of the account shares it")
}
