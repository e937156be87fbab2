package app

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop"
	"github.com/filedrop/filedrop/internal/functions"
)

// shortLimits are short enough for the tests to take a second or two.
func shortLimits() connLimits {
	return connLimits{readHeader: 300 * time.Millisecond, read: 600 * time.Millisecond, idle: 300 * time.Millisecond, maxHeaderBytes: 4 << 10}
}

// startServe runs serveHTTP with lim on a loopback port until the test ends.
func startServe(t *testing.T, h http.Handler, lim connLimits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveHTTP(ctx, ln, h, slog.New(slog.DiscardHandler), lim) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return ln.Addr().String()
}

// readsBody answers 200 once it has read the whole body, as every route does.
func readsBody(w http.ResponseWriter, r *http.Request) {
	if _, err := io.ReadAll(r.Body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	functions.WriteJSON(w, http.StatusOK, map[string]string{})
}

// TestServerCutsSlowAndIdleConnections: a client that trickles its headers
// or its body, or holds a keep-alive connection idle, is disconnected after
// the limit instead of holding a descriptor for as long as it likes.
func TestServerCutsSlowAndIdleConnections(t *testing.T) {
	tests := []struct {
		name string
		// sent at once, then drip one byte at a time
		head, drip string
	}{
		{name: "headers dripped", head: "POST /ProcessOrder HTTP/1.1\r\n", drip: "Host: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}"},
		{name: "body dripped", head: "POST /ProcessOrder HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 64\r\n\r\n", drip: `{"Data":{"msg":"` + strings.Repeat("a", 44) + `"}}`},
		{name: "idle keep-alive", head: "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := startServe(t, http.HandlerFunc(readsBody), shortLimits())
			conn, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer conn.Close()
			_, err = io.WriteString(conn, tt.head)
			require.NoError(t, err)

			// One byte every 100 ms: the drip alone would take far longer
			// than the limits; it stops at the first failed write.
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				tick := time.NewTicker(100 * time.Millisecond)
				defer tick.Stop()
				for i := range len(tt.drip) {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					if _, err := conn.Write([]byte{tt.drip[i]}); err != nil {
						return
					}
				}
			}()

			// Whatever the server answers, it must then close the
			// connection, long before this deadline.
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
			_, err = io.Copy(io.Discard, conn)
			var ne net.Error
			require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server still holds the connection after 10 s")
		})
	}
}

// TestServerKeepsHandlerPastReadTimeout: the read limits bound reading the
// request, not the work. An invocation that has read its body keeps its
// context and its connection past ReadTimeout, and its answer arrives.
func TestServerKeepsHandlerPastReadTimeout(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		select {
		case <-r.Context().Done():
			http.Error(w, "context cancelled while working", http.StatusInternalServerError)
			return
		case <-time.After(3 * shortLimits().read): // work longer than ReadTimeout
		}
		functions.WriteJSON(w, http.StatusOK, map[string]string{})
	})
	addr := startServe(t, h, shortLimits())
	resp, err := http.Post("http://"+addr+"/ProcessOrder", "application/json", strings.NewReader(`{"Data":{}}`))
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
}

// TestServerRefusesHugeHeaders: a header block over maxHeaderBytes gets 431.
func TestServerRefusesHugeHeaders(t *testing.T) {
	addr := startServe(t, http.HandlerFunc(readsBody), shortLimits())
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "+strings.Repeat("a", 16<<10)+"\r\n\r\n")
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
}

// TestHostLimits pins the deployed limits against host.json: every read
// limit is set and well inside the route timeout handler.go derives from
// functionTimeout, and the idle one outlasts the queue polling interval and
// the host client's own idle timeout.
func TestHostLimits(t *testing.T) {
	fns, err := functions.LoadApp(filedrop.AppFiles, func(string) string { return "" })
	require.NoError(t, err)
	route := min(fns.FunctionTimeout*4/5, 2*time.Minute) // as handler.go's QueueRoute.Timeout
	lim := hostLimits()
	require.Positive(t, lim.readHeader)
	require.LessOrEqual(t, lim.readHeader, lim.read)
	require.Less(t, lim.read, route/2, "a dripping request must not outlast an invocation")
	require.Greater(t, lim.idle, fns.Queues.MaxPollingInterval, "busy connections are reused")
	require.Greater(t, lim.idle, time.Minute, "the host's client (.NET, 1 minute) drops an idle connection first")
	require.Less(t, lim.idle, route)
	require.Greater(t, lim.maxHeaderBytes, 8<<10)
	require.Less(t, lim.maxHeaderBytes, http.DefaultMaxHeaderBytes)
}
