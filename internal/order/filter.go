package order

import (
	"strings"
	"time"
)

// Filter selects records from a ledger's listing (the Table ledger's
// List). Zero fields select everything.
type Filter struct {
	// State keeps the records in this state.
	State State
	// Since keeps the records updated or created at or after it.
	Since time.Time
	// Email keeps the records of this customer email, in any letter case.
	Email string
	// EventsWaitingBefore keeps the records holding an order event,
	// recorded before it, that waits to be queued (EventsPendingSince).
	EventsWaitingBefore time.Time
	// EventsUndelivered keeps the records with an order event that some
	// sink has not taken; EventsFailing, those whose last delivery to some
	// sink failed (see EventsUndelivered).
	EventsUndelivered, EventsFailing bool
	// Limit is the most records to return; 0, or more than a ledger lists
	// at once, means as many as it lists at once.
	Limit int
}

// Match reports whether o is selected by f.
func (f Filter) Match(o Order) bool {
	if f.State != "" && o.state != f.State {
		return false
	}
	if !f.Since.IsZero() && o.UpdatedAt.Before(f.Since) && o.CreatedAt.Before(f.Since) {
		return false
	}
	if email := strings.TrimSpace(f.Email); email != "" && !strings.EqualFold(o.CustomerEmail, email) {
		return false
	}
	if w := o.EventsPendingSince(); !f.EventsWaitingBefore.IsZero() && (w.IsZero() || !w.Before(f.EventsWaitingBefore)) {
		return false
	}
	undelivered, failing := o.EventsUndelivered()
	return (!f.EventsUndelivered || undelivered > 0) && (!f.EventsFailing || failing > 0)
}
