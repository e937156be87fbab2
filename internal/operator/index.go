package operator

import (
	"context"
	"fmt"
	"time"

	"github.com/filedrop/filedrop/internal/order"
)

// Indexer writes the ledger's indexes (storage/ledger.Ledger): a mail's
// session by its operation id, and an order under an address.
type Indexer interface {
	IndexMail(ctx context.Context, operationID, sessionID string) error
	IndexOrder(ctx context.Context, email, sessionID string, at time.Time) error
}

// IndexSummary is what Index wrote.
type IndexSummary struct {
	// Orders counts the fulfilled orders indexed, Addresses the entries
	// under an address, Mails the mails indexed by operation id.
	Orders, Addresses, Mails int
	// Skipped counts the orders not fulfilled, which no address lists.
	Skipped int
}

// Index writes the index entries of recs that SendLink writes for the
// mails it sends from now on: every listed mail by its operation id (so
// that its delivery reports find it), and every fulfilled order under each
// address its download mail went to (so that the "Lost your link?" page
// finds it). It is idempotent: run again, it writes the same entries. It
// calls step, when not nil, after each order.
func Index(ctx context.Context, idx Indexer, recs []order.Order, now time.Time, step func(IndexSummary)) (IndexSummary, error) {
	var sum IndexSummary
	for _, o := range recs {
		for _, m := range o.Mails() {
			if err := idx.IndexMail(ctx, m.OperationID, o.SessionID); err != nil {
				return sum, fmt.Errorf("index mail %s of %s: %w", m.OperationID, o.SessionID, err)
			}
			sum.Mails++
		}
		if !o.Fulfilled() {
			sum.Skipped++
		} else {
			for _, addr := range o.MailedTo() {
				if err := idx.IndexOrder(ctx, addr, o.SessionID, o.IndexDate(now)); err != nil {
					return sum, fmt.Errorf("index order %s: %w", o.SessionID, err)
				}
				sum.Addresses++
			}
			sum.Orders++
		}
		if step != nil {
			step(sum)
		}
	}
	return sum, nil
}
