package stripeapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// Statuses of a Checkout Session (Stripe's own names).
const (
	StatusOpen     = "open"
	StatusComplete = "complete"
	StatusExpired  = "expired"
)

// MaxListedSessions bounds the sessions one ListSessions reads.
const MaxListedSessions = 100_000

// sessionPage is how many sessions one list request asks for (Stripe's
// maximum).
const sessionPage = 100

// ErrUnreachable reports that no answer came from the Stripe API at all: the
// connection failed or timed out. An answer that refused the request is not
// ErrUnreachable.
var ErrUnreachable = errors.New("stripe could not be reached")

// ListedSession is a Checkout Session as the list endpoint returns it: the
// Session fields without line items, and the session's status and creation
// time.
type ListedSession struct {
	Session
	// Status is StatusOpen, StatusComplete or StatusExpired.
	Status  string
	Created time.Time
}

// ListSessions calls fn for every Checkout Session created at or after
// since, newest first, paging through the API sessionPage sessions at a
// time. An error from fn stops the listing and is returned as it is. More
// than MaxListedSessions sessions is an error asking for a shorter window.
// API errors are translated as Session's are; one without any answer from
// Stripe also wraps ErrUnreachable.
func (c *Client) ListSessions(ctx context.Context, since time.Time, fn func(ListedSession) error) error {
	p := &stripe.CheckoutSessionListParams{CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: since.Unix()}}
	p.Context = ctx
	p.Limit = stripe.Int64(sessionPage)
	it := c.sessions.List(p)
	for n := 0; it.Next(); n++ {
		if n == MaxListedSessions {
			return fmt.Errorf("list checkout sessions: more than %d created since %s; use a shorter window",
				MaxListedSessions, since.UTC().Format(time.RFC3339))
		}
		if err := fn(listed(it.CheckoutSession())); err != nil {
			return err
		}
	}
	if err := it.Err(); err != nil {
		return listError(err)
	}
	return nil
}

// listError translates a list failure, marking one without an answer.
func listError(err error) error { return markUnreachable(translate("list checkout sessions", err)) }

// markUnreachable wraps a translated error that got no answer from Stripe
// at all (a network error) with ErrUnreachable.
func markUnreachable(err error) error {
	var ne net.Error
	if errors.As(err, &ne) {
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return err
}

// listed shapes a listed session as Session does a fetched one.
func listed(cs *stripe.CheckoutSession) ListedSession {
	return ListedSession{Session: shape(cs), Status: string(cs.Status), Created: time.Unix(cs.Created, 0).UTC()}
}
