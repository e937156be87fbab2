package stripeapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/filedrop/filedrop/internal/order"
)

// KeySetting is the setting that holds the API key, named by the errors
// that refuse it.
const KeySetting = "STRIPE_API_KEY"

// DefaultRetryAfter is the pause asked for after a 429 that names none.
const DefaultRetryAfter = 10 * time.Second

// maxRetryAfter caps a Retry-After header.
const maxRetryAfter = 10 * time.Minute

// translate turns a stripe-go error into the domain's, with what as context:
//   - 404: permanent, wrapping order.ErrNotFound;
//   - 429: order.Throttled, with the Retry-After header's pause or
//     DefaultRetryAfter;
//   - 409 and 5xx, and any error without an API answer (network faults,
//     timeouts, a body that is not JSON): order.Transient, retried with
//     back-off for as long as Stripe is down;
//   - 401 and 403 (a bad or revoked key, a missing permission):
//     order.Misconfigured naming STRIPE_API_KEY, the deployment's fault and
//     not the order's, so the order is held until the key is fixed;
//   - any other 4xx (an invalid request): permanent, since repeating the
//     request cannot fix it.
//
// The message carries Stripe's status, code, message and request id, never
// the key.
func translate(what string, err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return order.Transient(fmt.Errorf("%s: %w", what, err))
	}
	desc := describe(se)
	switch status := se.HTTPStatusCode; {
	case status == http.StatusNotFound:
		return order.Permanent(fmt.Errorf("%s: %w: %s", what, order.ErrNotFound, desc))
	case status == http.StatusTooManyRequests:
		return order.Throttled(fmt.Errorf("%s: throttled: %s", what, desc), retryAfter(se))
	case status == http.StatusConflict || status >= 500 || status == 0:
		return order.Transient(fmt.Errorf("%s: %s", what, desc))
	case status == http.StatusUnauthorized:
		return order.Misconfigured(fmt.Errorf("%s: Stripe refused STRIPE_API_KEY: %s", what, desc), KeySetting)
	case status == http.StatusForbidden:
		return order.Misconfigured(fmt.Errorf("%s: STRIPE_API_KEY may not read Checkout Sessions, Products, Charges or Disputes (give the restricted key read access): %s", what, desc), KeySetting)
	default:
		return permanentf("%s: %s", what, desc)
	}
}

func permanentf(format string, args ...any) error { return order.Permanentf(format, args...) }

// describe is a one-line summary of a Stripe API error.
func describe(se *stripe.Error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "stripe answered %d", se.HTTPStatusCode)
	if se.Code != "" {
		fmt.Fprintf(&b, " %s", se.Code)
	} else if se.Type != "" {
		fmt.Fprintf(&b, " %s", se.Type)
	}
	if se.Msg != "" {
		fmt.Fprintf(&b, ": %s", se.Msg)
	}
	if se.RequestID != "" {
		fmt.Fprintf(&b, " (request %s)", se.RequestID)
	}
	return b.String()
}

// retryAfter reads a Retry-After header in seconds or as an HTTP date.
func retryAfter(se *stripe.Error) time.Duration {
	if se.LastResponse == nil {
		return DefaultRetryAfter
	}
	v := strings.TrimSpace(se.LastResponse.Header.Get("Retry-After"))
	if v == "" {
		return DefaultRetryAfter
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return min(max(time.Duration(n)*time.Second, time.Second), maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), time.Second), maxRetryAfter)
	}
	return DefaultRetryAfter
}
