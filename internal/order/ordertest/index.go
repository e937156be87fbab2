package ordertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/order"
)

// Index is what the ledgers keep beside the records: the index of mails by
// operation id (to match delivery reports), and of orders by customer email
// with each address's order_links quota (the "Lost your link?" page).
// Ledger and the Table ledger both implement it; TestRecords holds them to
// the same contract.
type Index interface {
	IndexMail(ctx context.Context, operationID, sessionID string) error
	SessionOfMail(ctx context.Context, operationID string) (string, error)
	IndexOrder(ctx context.Context, email, sessionID string, at time.Time) error
	OrdersOf(ctx context.Context, email string) ([]order.IndexedOrder, error)
	MutateQuota(ctx context.Context, email string, fn func(q *order.LinksQuota) error) (order.LinksQuota, error)
}

var _ Index = (*Ledger)(nil)

// IndexMail records that the mail of operationID belongs to sessionID.
func (l *Ledger) IndexMail(_ context.Context, operationID, sessionID string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mails[strings.ToLower(operationID)] = sessionID
	return nil
}

// SessionOfMail returns the session whose mail operationID is, or an error
// wrapping order.ErrNotFound.
func (l *Ledger) SessionOfMail(_ context.Context, operationID string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.mails[strings.ToLower(operationID)]
	if !ok {
		return "", fmt.Errorf("mail %s: %w", operationID, order.ErrNotFound)
	}
	return s, nil
}

// IndexOrder lists sessionID, dated at, under the address email.
func (l *Ledger) IndexOrder(_ context.Context, email, sessionID string, at time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := order.NormalizeEmail(email)
	if l.emails[key] == nil {
		l.emails[key] = map[string]time.Time{}
	}
	l.emails[key][sessionID] = at
	return nil
}

// OrdersOf returns the orders listed under email, newest first, at most
// order.MaxIndexedOrders.
func (l *Ledger) OrdersOf(_ context.Context, email string) ([]order.IndexedOrder, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []order.IndexedOrder
	for s, at := range l.emails[order.NormalizeEmail(email)] {
		out = append(out, order.IndexedOrder{SessionID: s, At: at})
	}
	order.SortIndexed(out)
	return out[:min(len(out), order.MaxIndexedOrders)], nil
}

// MutateQuota applies fn to email's quota and stores it, unless fn returns
// order.ErrUnchanged (the quota as it was is returned) or another error
// (returned as is).
func (l *Ledger) MutateQuota(_ context.Context, email string, fn func(q *order.LinksQuota) error) (order.LinksQuota, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := order.NormalizeEmail(email)
	q := l.quotas[key]
	if err := fn(&q); err != nil {
		if errors.Is(err, order.ErrUnchanged) {
			return l.quotas[key], nil
		}
		return l.quotas[key], err
	}
	l.quotas[key] = q
	return q, nil
}

// Indexed returns the sessions listed under email, sorted, for tests.
func (l *Ledger) Indexed(email string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for s := range l.emails[order.NormalizeEmail(email)] {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}
