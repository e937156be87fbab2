// Package webhooks delivers order events to a seller's URL as signed
// webhooks, per the Standard Webhooks specification 1.0.0: a POST of the
// event's JSON with the headers webhook-id (the event's id, the same on
// every delivery, for the receiver to de-duplicate on), webhook-timestamp
// (this attempt's Unix time) and webhook-signature (one "v1,<base64>" per
// configured secret), so that any of that specification's libraries can
// verify it.
//
// A Sender never follows a redirect, bounds each delivery by a short
// timeout, reads at most a few KiB of an answer and never shows any of it
// in its errors, nor the URL's path and query, which can hold the
// receiver's credential (Redact). Only a
// 2xx answer is success. The failures are the domain's: 429 is
// order.Throttled with the answer's Retry-After; 408, 5xx, timeouts and
// network faults order.Transient; 401 and 403 order.Misconfigured naming
// ORDER_EVENTS_SECRET (the receiver refused the signature); a redirect
// order.Misconfigured naming ORDER_EVENTS_URL; any other answer
// order.Permanent. A delivery that is repeated carries the same id and
// body, signed anew with the attempt's time, so it is harmless to a
// receiver that de-duplicates.
package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/httpfault"
	"github.com/filedrop/filedrop/internal/order"
)

// The settings a Sender's failures name (order.Misconfigured).
const (
	URLSetting    = "ORDER_EVENTS_URL"
	SecretSetting = "ORDER_EVENTS_SECRET"
)

// The Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTimeout bounds one delivery: the connection, the request and the
// answer's headers. A receiver that needs longer should answer first and
// work after.
const DefaultTimeout = 10 * time.Second

// DefaultRetryAfter is the pause after a 429 without a usable Retry-After.
const DefaultRetryAfter = time.Minute

// maxAnswer bounds what is read of an answer's body (and then discarded),
// so that the connection can be reused without reading a large body.
const maxAnswer = 4 << 10

// Options tune a Sender. The zero value is the production setting.
type Options struct {
	// Transport sends the requests; nil means a transport of the Sender's
	// own, like http.DefaultTransport.
	Transport http.RoundTripper
	// Timeout bounds one delivery; default DefaultTimeout.
	Timeout time.Duration
	// Now is the clock of webhook-timestamp and of Retry-After dates;
	// default time.Now.
	Now func() time.Time
}

// Sender delivers events to one URL. It is safe for concurrent use.
type Sender struct {
	url      string
	redacted string
	signer   *Signer
	client   *http.Client
	timeout  time.Duration
	now      func() time.Time
}

// checkURL reports whether raw may receive webhooks: an absolute https URL,
// or http to a loopback address (127.0.0.1, ::1, localhost) for local
// receivers and tests, with no user info or fragment. A query is allowed:
// some receivers (Power Automate) carry their credential in it.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return errors.New("not an absolute URL")
	case u.User != nil:
		return errors.New("a URL with user info")
	case u.Fragment != "" || strings.HasSuffix(raw, "#"):
		return errors.New("a URL with a fragment")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && loopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return errors.New("plain http to a host that is not a loopback address (use https)")
	}
	return errors.New("not an https URL")
}

// loopback reports whether host is localhost or a loopback IP address.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// New returns a Sender that posts to endpoint (see checkURL), signed with
// secrets (whsec_..., newest first).
func New(endpoint string, secrets []string, opts *Options) (*Sender, error) {
	if err := checkURL(endpoint); err != nil {
		return nil, fmt.Errorf("webhooks: %s: %w", Redact(endpoint), err)
	}
	signer, err := NewSigner(secrets)
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Transport == nil {
		o.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Sender{
		url:      endpoint,
		redacted: Redact(endpoint),
		signer:   signer,
		client: &http.Client{
			Transport: o.Transport,
			// A redirect is an answer, not a place to go: the spec counts a
			// 3xx as a failure, and following one would send the signed
			// event to a host the seller did not name.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		timeout: o.Timeout,
		now:     o.Now,
	}, nil
}

// String returns the URL as Redact shows it, for logs.
func (s *Sender) String() string { return s.redacted }

// Deliver sends e, encoded by order.EncodeEvent, with e.ID as webhook-id.
func (s *Sender) Deliver(ctx context.Context, e order.Event) error {
	body, err := order.EncodeEvent(e)
	if err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	return s.Send(ctx, e.ID, body)
}

// Send posts body (JSON, sent and signed as it is) with id as webhook-id.
// The id must be letters, digits, underscores and hyphens: it is signed
// with full stops around it.
func (s *Sender) Send(ctx context.Context, id string, body []byte) error {
	if !validID(id) {
		return order.Permanentf("webhooks: the webhook id %q is not letters, digits, _ and -", id)
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return order.Permanentf("webhooks: post %s to %s: %w", id, s.redacted, httpfault.WithoutURL(err))
	}
	now := s.now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "filedrop-order-events/1")
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, s.signer.Sign(id, now, body))
	resp, err := s.client.Do(req)
	if err != nil {
		if parent.Err() != nil {
			return fmt.Errorf("webhooks: post %s to %s: %w", id, s.redacted, httpfault.WithoutURL(err)) // the caller gave up, not the receiver
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return order.Transient(fmt.Errorf("webhooks: post %s to %s: no answer within %s", id, s.redacted, s.timeout))
		}
		return order.Transient(fmt.Errorf("webhooks: post %s to %s: %w", id, s.redacted, httpfault.WithoutURL(err)))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	return s.classify(id, resp)
}

// classify turns an answer into nil (2xx) or the domain's error. It never
// quotes the answer's body.
func (s *Sender) classify(id string, resp *http.Response) error {
	code := resp.StatusCode
	err := fmt.Errorf("webhooks: post %s to %s: %d %s", id, s.redacted, code, http.StatusText(code))
	switch {
	case code >= 200 && code < 300:
		return nil
	case code >= 300 && code < 400:
		to := ""
		if loc := resp.Header.Get("Location"); loc != "" {
			to = " to " + Redact(loc)
		}
		return order.Misconfigured(fmt.Errorf("%w: a redirect%s, which is not followed: set %s to the address that answers",
			err, to, URLSetting), URLSetting)
	case code == http.StatusTooManyRequests:
		return order.Throttled(err, httpfault.RetryAfter(resp.Header, s.now(), DefaultRetryAfter))
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return order.Misconfigured(fmt.Errorf("%w: the receiver refused the request; check that it verifies with a secret of %s and that %s is its address",
			err, SecretSetting, URLSetting), SecretSetting)
	case code == http.StatusRequestTimeout || code >= 500:
		return order.Transient(err)
	case code >= 400:
		return order.Permanent(err)
	}
	return order.Transient(err) // 1xx as a final answer: a broken receiver
}

// Redact returns a URL as errors and logs may show it: its scheme and host,
// and "/…" in place of any path or query, which can hold the receiver's
// credential (Zapier's and Slack's hooks carry it in the path, Power
// Automate's in the query).
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<not a URL>"
	}
	out := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		out += "/…"
	}
	return out
}

// validID reports an id of 1 to 255 letters, digits, underscores and
// hyphens.
func validID(id string) bool {
	if id == "" || len(id) > 255 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
