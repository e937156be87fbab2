// Package httpfault holds what the HTTP adapters (webhooks, dataverse)
// share to report a failed exchange: the pause an answer's Retry-After
// asks for (RFC 9110 §10.2.3), for order.Throttled, and a transport error
// without the URL it quotes.
package httpfault

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter bounds the pause an answer can ask for: a misbehaving
// server's Retry-After of a year would otherwise park a message that long.
const MaxRetryAfter = 24 * time.Hour

// RetryAfter returns the pause h's Retry-After asks for, in seconds or as
// an HTTP date relative to now: def when there is none or it does not
// parse, at least a second (a queue delays by whole seconds) and at most
// MaxRetryAfter.
func RetryAfter(h http.Header, now time.Time, def time.Duration) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	d, ok := time.Duration(0), false
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
		d, ok = time.Duration(min(s, int64(MaxRetryAfter/time.Second)))*time.Second, true
	} else if t, err := http.ParseTime(v); err == nil {
		d, ok = t.Sub(now), true
	}
	if !ok {
		return def
	}
	return min(max(d, time.Second), MaxRetryAfter)
}

// WithoutURL returns the error inside a *url.Error, whose text quotes the
// whole URL: a receiver's credential in its path or query, an email
// address in an alternate key. Other errors are returned as they are.
func WithoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
