package operator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/filedrop/filedrop/internal/order"
)

// ErrNoReason stops a revoke without a reason: the next operator, and the
// customer who writes to support, need to know why.
var ErrNoReason = errors.New("a revocation needs a reason")

// ErrNotFulfilled stops a grant on an order that has no files yet: there is
// nothing to give access to, and fulfilment opens access by itself.
var ErrNotFulfilled = errors.New("the order has no files yet")

// Access opens and closes orders' access to the order page by hand. The
// rules are the domain's (order.Order.Revoke, order.Order.Grant): a revoke
// places the operator's own hold beside any other, and a grant lifts the
// holds that stand and records what it acknowledged, so that neither
// undoes nor is undone by a refund or dispute. Each change is one
// conditional write: a conflicting write re-reads the order and applies
// the change again, so a download, refund or dispute recorded meanwhile is
// kept (a refund the grant did not see closes access again).
type Access struct {
	records order.Records
	window  time.Duration
	now     func() time.Time
}

// NewAccess returns an Access on records; window is DOWNLOAD_WINDOW, from
// which a grant's extension counts when the order has no end of its own.
func NewAccess(records order.Records, window time.Duration, now func() time.Time) *Access {
	return &Access{records: records, window: window, now: now}
}

// Revoke ends rec's access for reason (cleaned, order.CleanReason) with
// an operator's hold and returns the order as written. An operator's hold
// that stands already keeps its time and reason: the order is returned
// unchanged with changed false. Holds of refunds and disputes do not
// matter: the operator's stands beside them, and only a grant lifts it.
func (a *Access) Revoke(ctx context.Context, rec order.Order, reason string) (o order.Order, changed bool, err error) {
	reason = order.CleanReason(reason)
	switch {
	case reason == "":
		return rec, false, ErrNoReason
	case len(reason) > order.MaxReasonBytes:
		return rec, false, fmt.Errorf("the reason is %d bytes, at most %d are kept", len(reason), order.MaxReasonBytes)
	}
	o, err = order.MutateFrom(ctx, a.records, rec, a.now(), func(o *order.Order) error {
		if err := known(o); err != nil {
			return err
		}
		if changed = o.Revoke(reason, a.now()); !changed {
			return order.ErrUnchanged
		}
		return nil
	})
	if err != nil {
		return o, false, fmt.Errorf("revoke %s: %w", rec.SessionID, err)
	}
	return o, changed, nil
}

// Grant reopens rec's access whoever closed it (an operator, a refund, a
// dispute): it lifts every hold that stands and records what it
// acknowledged (order.Grant), extends the window by extend from its end or
// from now, whichever is later (0: leave it), and with reset starts every
// file's download count again. It returns the order as written and the
// holds it lifted.
func (a *Access) Grant(ctx context.Context, rec order.Order, extend time.Duration, reset bool) (o order.Order, lifted []order.Hold, err error) {
	if extend < 0 {
		return rec, nil, fmt.Errorf("the extension %s is negative", extend)
	}
	o, err = order.MutateFrom(ctx, a.records, rec, a.now(), func(o *order.Order) error {
		if err := known(o); err != nil {
			return err
		}
		if len(o.Files) == 0 {
			return fmt.Errorf("order %s (%s): %w", o.SessionID, o.State(), ErrNotFulfilled)
		}
		var err error
		lifted, err = o.Grant(extend, reset, a.now(), a.window)
		return err
	})
	if err != nil {
		return o, nil, fmt.Errorf("grant %s: %w", rec.SessionID, err)
	}
	return o, lifted, nil
}

// known refuses to create a record: an operator changes existing orders.
func known(o *order.Order) error {
	if o.ETag == "" {
		return fmt.Errorf("order %s: %w", o.SessionID, order.ErrNotFound)
	}
	return nil
}
