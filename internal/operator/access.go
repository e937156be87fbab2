package operator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/order"
)

// ErrNoReason stops a revoke without a reason: the next operator, and the
// customer who writes to support, need to know why.
var ErrNoReason = errors.New("a revocation needs a reason")

// ErrNotFulfilled stops a grant on an order that has no files yet: there is
// nothing to give access to, and fulfilment opens access by itself.
var ErrNotFulfilled = errors.New("the order has no files yet")

// MaxReasonBytes bounds a revocation's reason, which the ledger keeps.
const MaxReasonBytes = 500

// Access opens and closes orders' access to the order page by hand. The
// rules are the domain's (order.Order.Revoke, order.Order.Grant); each
// change is one conditional write, so it never undoes a download, refund
// or dispute recorded meanwhile: a conflicting write re-reads the order and
// applies the change again.
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

// Revoke ends rec's access for reason and returns the order as written. An
// order already revoked keeps its first cause and time (a refund stays a
// refund), and is returned unchanged with changed false.
func (a *Access) Revoke(ctx context.Context, rec order.Order, reason string) (o order.Order, changed bool, err error) {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return rec, false, ErrNoReason
	case len(reason) > MaxReasonBytes:
		return rec, false, fmt.Errorf("the reason is %d bytes, at most %d are kept", len(reason), MaxReasonBytes)
	}
	o, err = order.MutateFrom(ctx, a.records, rec, a.now(), func(o *order.Order) error {
		if err := known(o); err != nil {
			return err
		}
		changed = o.RevokedBy == ""
		if !changed {
			return order.ErrUnchanged
		}
		o.Revoke(order.RevokedByOperator, reason, a.now())
		return nil
	})
	if err != nil {
		return o, false, fmt.Errorf("revoke %s: %w", rec.SessionID, err)
	}
	return o, changed, nil
}

// Grant reopens rec's access whoever closed it (an operator, a refund, a
// dispute), extends the window by extend from its end or from now,
// whichever is later (0: leave it), and with reset starts every file's
// download count again. It returns the order as written and the cause of
// the revocation it lifted, "" if none.
func (a *Access) Grant(ctx context.Context, rec order.Order, extend time.Duration, reset bool) (o order.Order, lifted string, err error) {
	if extend < 0 {
		return rec, "", fmt.Errorf("the extension %s is negative", extend)
	}
	o, err = order.MutateFrom(ctx, a.records, rec, a.now(), func(o *order.Order) error {
		if err := known(o); err != nil {
			return err
		}
		if len(o.Files) == 0 {
			return fmt.Errorf("order %s (%s): %w", o.SessionID, o.State, ErrNotFulfilled)
		}
		lifted = o.RevokedBy
		return o.Grant(extend, reset, a.now(), a.window)
	})
	if err != nil {
		return o, "", fmt.Errorf("grant %s: %w", rec.SessionID, err)
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
