package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/filedrop/filedrop/internal/functions/hostemu"
)

// requestTimeout bounds one webhook POST, as Stripe's own 10 s and more.
const requestTimeout = 15 * time.Second

// forwarded is what Stripe sends with a signed event, and what the
// Functions host adds when it forwards the request
// (DefaultHttpWorkerService.AddHeaders); handler local's front sets its
// own.
func forwarded(sig string) http.Header {
	return http.Header{
		"Content-Type":                   {"application/json; charset=utf-8"},
		"Stripe-Signature":               {sig},
		"User-Agent":                     {"Stripe/1.0 (+https://stripe.com/docs/webhooks) filedrop-bench Azure-Functions-Host/" + hostemu.HostVersion},
		"X-Azure-Functions-Hostversion":  {hostemu.HostVersion},
		"X-Azure-Functions-Invocationid": {uuid.NewString()},
	}
}

// rawPoster posts webhooks written out in full before a level starts
// (request line, headers, body) on keep-alive connections of its own, and
// reads each answer with http.ReadResponse.
//
// The load generator stands in for Stripe and for the Functions host's
// forwarding, neither of which shares the measured cores with the handler
// and Azurite in production. net/http's client costs a large fraction of
// the handler's own CPU per request (a connection's write and read
// goroutines, cloned headers); writing bytes prepared in advance and
// parsing the answer inline costs a small one, so the bench takes less
// from what it measures.
type rawPoster struct {
	addr string
	idle chan *rawConn
}

type rawConn struct {
	net.Conn
	r *bufio.Reader
}

// newRawPoster returns a poster to the host of u keeping up to conns idle
// connections (one per worker of a closed loop).
func newRawPoster(u *url.URL, conns int) *rawPoster {
	return &rawPoster{addr: u.Host, idle: make(chan *rawConn, max(1, conns))}
}

// close closes the idle connections.
func (p *rawPoster) close() {
	for {
		select {
		case c := <-p.idle:
			c.Close()
		default:
			return
		}
	}
}

func (p *rawPoster) conn(ctx context.Context) (*rawConn, error) {
	select {
	case c := <-p.idle:
		return c, nil
	default:
	}
	d := net.Dialer{Timeout: requestTimeout}
	c, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	return &rawConn{Conn: c, r: bufio.NewReaderSize(c, 4096)}, nil
}

// put keeps c for the next request, or closes it if enough are idle.
func (p *rawPoster) put(c *rawConn) {
	select {
	case p.idle <- c:
	default:
		c.Close()
	}
}

// rawRequest is the whole POST of body to u with Stripe's signature
// header sig, as it goes on the wire.
func rawRequest(u *url.URL, body []byte, sig string) []byte {
	var b bytes.Buffer
	b.Grow(512 + len(body))
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %s\r\n", u.RequestURI(), u.Host, strconv.Itoa(len(body)))
	_ = forwarded(sig).Write(&b)
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// post sends one request built by rawRequest and reports the time from
// its first byte written to the end of the answer's body; only a 200
// counts as a success.
func (p *rawPoster) post(ctx context.Context, req []byte) (time.Duration, error) {
	c, err := p.conn(ctx)
	if err != nil {
		return 0, err
	}
	if err := c.SetDeadline(time.Now().Add(requestTimeout)); err != nil {
		c.Close()
		return 0, err
	}
	start := time.Now()
	if _, err := c.Write(req); err != nil {
		c.Close()
		return 0, err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		c.Close()
		return 0, err
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if cerr := resp.Body.Close(); err == nil {
		// Close reads whatever is left of a long answer, so that the
		// next one starts at its own status line.
		err = cerr
	}
	d := time.Since(start)
	if err != nil || resp.Close {
		c.Close()
	} else {
		p.put(c)
	}
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(answer))
	}
	return d, nil
}
