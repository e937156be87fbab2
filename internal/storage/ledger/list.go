package ledger

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/filedrop/filedrop/internal/order"
)

// Filter selects records for List. Zero fields select everything.
type Filter struct {
	// State keeps the records in this state.
	State order.State
	// Since keeps the records updated or created at or after it.
	Since time.Time
	// Email keeps the records of this customer email, in any letter case.
	Email string
	// Limit is the most records to return; 0 (or more than MaxList) means
	// MaxList.
	Limit int
}

// MaxList bounds the records one List returns.
const MaxList = 10000

// maxListPages bounds the pages one List reads. The service may return short
// or even empty pages while it scans, so this is well above MaxList/pageSize.
const maxListPages = 1000

// pageSize is the most entities the service returns in one page.
const pageSize = 1000

// List returns the records that match f, in the table's order (by session
// id), at most f.Limit of them. Every condition is sent to the service as an
// OData filter (the email through CustomerEmailLower), then checked again
// here: Azurite compares times only to the millisecond.
func (l *Ledger) List(ctx context.Context, f Filter) ([]order.Order, error) {
	limit := f.Limit
	if limit <= 0 || limit > MaxList {
		limit = MaxList
	}
	filter := f.odata()
	var out []order.Order
	pager := l.c.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Top: new(int32(min(limit, pageSize)))})
	for pages := 0; pager.More(); pages++ {
		if pages == maxListPages {
			return nil, fmt.Errorf("list orders: gave up after %d pages; narrow the filter", maxListPages)
		}
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, l.translate("list orders", err)
		}
		for _, data := range page.Entities {
			o, err := decode(data)
			if err != nil {
				return nil, fmt.Errorf("list orders: %w", err)
			}
			if !f.match(o) {
				continue
			}
			out = append(out, o)
			if len(out) == limit {
				return out, nil
			}
		}
	}
	return out, nil
}

// odata returns f as an OData filter expression, with every value quoted.
func (f Filter) odata() string {
	conds := []string{"RowKey eq " + quote(RowKey)}
	if f.State != "" {
		conds = append(conds, propState+" eq "+quote(string(f.State)))
	}
	if !f.Since.IsZero() {
		// Written to the tick, truncated down: never leaves out a record the
		// exact check in match keeps.
		since := "datetime'" + f.Since.UTC().Truncate(Resolution).Format(dateTimeLayout) + "'"
		conds = append(conds, "("+propUpdatedAt+" ge "+since+" or "+propCreatedAt+" ge "+since+")")
	}
	if email := strings.TrimSpace(f.Email); email != "" {
		conds = append(conds, propEmailLower+" eq "+quote(strings.ToLower(email)))
	}
	return strings.Join(conds, " and ")
}

// match reports whether o matches f.
func (f Filter) match(o order.Order) bool {
	if f.State != "" && o.State() != f.State {
		return false
	}
	if !f.Since.IsZero() && o.UpdatedAt.Before(f.Since) && o.CreatedAt.Before(f.Since) {
		return false
	}
	if email := strings.TrimSpace(f.Email); email != "" && !strings.EqualFold(o.CustomerEmail, email) {
		return false
	}
	return true
}

// quote returns s as an OData string literal: in single quotes, each single
// quote inside doubled.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
