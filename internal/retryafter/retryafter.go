// Package retryafter reads the pause an HTTP answer asks for in its
// Retry-After header (RFC 9110 §10.2.3), for the adapters that turn a 429
// into order.Throttled.
package retryafter

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Max bounds the pause an answer can ask for: a misbehaving server's
// Retry-After of a year would otherwise park a message for that long.
const Max = 24 * time.Hour

// Parse returns the pause h's Retry-After asks for, in seconds or as an
// HTTP date relative to now: def when there is none or it does not parse,
// at least a second (a queue delays by whole seconds) and at most Max.
func Parse(h http.Header, now time.Time, def time.Duration) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	d, ok := time.Duration(0), false
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
		d, ok = time.Duration(min(s, int64(Max/time.Second)))*time.Second, true
	} else if t, err := http.ParseTime(v); err == nil {
		d, ok = t.Sub(now), true
	}
	if !ok {
		return def
	}
	return min(max(d, time.Second), Max)
}
