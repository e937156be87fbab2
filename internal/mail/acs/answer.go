package acs

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// describe summarises an error answer: the status and the ACS error code
// and message (x-ms-error-code, or the body's error.code).
func describe(resp *http.Response, data []byte) string {
	var body struct {
		Error *apiError `json:"error"`
	}
	_ = json.Unmarshal(data, &body)
	e := body.Error
	if e == nil {
		e = &apiError{}
	}
	if e.Code == "" {
		e.Code = resp.Header.Get("x-ms-error-code")
	}
	return strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode) + e.describe()
}

// retryAfter reads the pause an answer asks for: retry-after-ms or
// x-ms-retry-after-ms in milliseconds, or Retry-After in seconds or as an
// HTTP date. It returns def when there is none, and at least a second
// otherwise.
func retryAfter(h http.Header, now time.Time, def time.Duration) time.Duration {
	d, ok := time.Duration(0), false
	for _, name := range []string{"retry-after-ms", "x-ms-retry-after-ms"} {
		if ms, err := strconv.ParseInt(h.Get(name), 10, 64); err == nil && ms >= 0 {
			d, ok = time.Duration(ms)*time.Millisecond, true
			break
		}
	}
	if v := strings.TrimSpace(h.Get("Retry-After")); !ok && v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
			d, ok = time.Duration(s)*time.Second, true
		} else if t, err := http.ParseTime(v); err == nil {
			d, ok = t.Sub(now), true
		}
	}
	switch {
	case !ok:
		return def
	case d < time.Second:
		return time.Second
	}
	return d
}
