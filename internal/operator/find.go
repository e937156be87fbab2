package operator

import (
	"context"
	"errors"
	"fmt"

	"github.com/filedrop/filedrop/internal/order"
)

// Finder reads the record of a session from a ledger that has a name to
// tell people (ledger.Ledger).
type Finder interface {
	Get(ctx context.Context, sessionID string) (order.Order, error)
	Table() string
}

// NotFoundError reports that the ledger has no record of a session. It
// wraps order.ErrNotFound.
type NotFoundError struct {
	Table     string
	SessionID string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("the ledger (table %s) has no order for session %s", e.Table, e.SessionID)
}

func (e *NotFoundError) Unwrap() error { return order.ErrNotFound }

// Find returns the session's record, or a *NotFoundError when the ledger has
// none.
func Find(ctx context.Context, l Finder, sessionID string) (order.Order, error) {
	rec, err := l.Get(ctx, sessionID)
	if errors.Is(err, order.ErrNotFound) {
		return rec, &NotFoundError{Table: l.Table(), SessionID: sessionID}
	}
	return rec, err
}
