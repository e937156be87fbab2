// Package stripeapi is filedrop's adapter to Stripe: it verifies webhook
// deliveries and reads Checkout Sessions through the API with stripe-go,
// reads and writes the catalog (products, prices, payment links) for the
// catalog commands, and it is the only package that imports stripe-go. What
// it returns is shaped for the domain (Event, Session, Product); Stripe's
// errors are translated into the domain's (order.Permanent, order.Throttled,
// or retryable).
package stripeapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/checkout/session"
)

// MaxNetworkRetries is how often stripe-go itself retries a request that
// failed on the network or with a 409, a lock-timeout 429 or a 5xx. It is
// low on purpose: the queue host retries the whole invocation anyway.
const MaxNetworkRetries = 1

// RequestTimeout bounds one HTTP request to Stripe.
const RequestTimeout = 20 * time.Second

// Client reads from the Stripe API with its own backend and key; it never
// touches stripe-go's package-level key or backends. It is safe for
// concurrent use.
type Client struct {
	sessions session.Client
	livemode bool
}

// Options tune a Client beside its key.
type Options struct {
	// APIURL is another API base, such as stripe-mock's; empty means
	// Stripe's own.
	APIURL string
	// Livemode is true for a live-mode key.
	Livemode bool
}

// New returns a client that authenticates with apiKey, a secret or
// restricted key, and talks to opts.APIURL. stripe-go's own log lines go to
// log at debug level; failures are returned, not logged.
func New(apiKey string, opts Options, log *slog.Logger) *Client {
	bc := &stripe.BackendConfig{
		HTTPClient:        &http.Client{Timeout: RequestTimeout},
		MaxNetworkRetries: stripe.Int64(MaxNetworkRetries),
		LeveledLogger:     leveledLogger{log},
	}
	if opts.APIURL != "" {
		bc.URL = stripe.String(opts.APIURL)
	}
	b := stripe.GetBackendWithConfig(stripe.APIBackend, bc)
	return &Client{sessions: session.Client{B: b, Key: apiKey}, livemode: opts.Livemode}
}

// Livemode reports whether the client's key is a live-mode key.
func (c *Client) Livemode() bool { return c.livemode }

// leveledLogger sends stripe-go's retry and error lines to slog at debug
// level, so a failure is logged once, by whoever classifies it. stripe-go's
// debug lines (whole response bodies, with customer data) are dropped.
type leveledLogger struct{ log *slog.Logger }

func (l leveledLogger) Debugf(string, ...any) {}
func (l leveledLogger) Infof(string, ...any)  {}
func (l leveledLogger) Warnf(format string, v ...any) {
	l.log.LogAttrs(context.Background(), slog.LevelDebug, fmt.Sprintf(format, v...), slog.String("component", "stripe-go"))
}
func (l leveledLogger) Errorf(format string, v ...any) {
	l.log.LogAttrs(context.Background(), slog.LevelDebug, fmt.Sprintf(format, v...), slog.String("component", "stripe-go"))
}

var _ stripe.LeveledLoggerInterface = leveledLogger{}
