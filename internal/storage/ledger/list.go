package ledger

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/filedrop/filedrop/internal/order"
)

// MaxList bounds the records one List returns.
const MaxList = 10000

// maxListPages bounds the pages one List reads. The service may return short
// or even empty pages while it scans, so this is well above MaxList/pageSize.
const maxListPages = 1000

// pageSize is the most entities the service returns in one page.
const pageSize = 1000

// List returns the records that f selects (order.Filter.Match), in the table's order (by session
// id), at most f.Limit of them (0 or more than MaxList: MaxList). Every condition is sent to the service as an
// OData filter (the email through CustomerEmailLower), then checked again
// here: Azurite compares times only to the millisecond.
func (l *Ledger) List(ctx context.Context, f order.Filter) ([]order.Order, error) {
	limit := f.Limit
	if limit <= 0 || limit > MaxList {
		limit = MaxList
	}
	filter := odata(f)
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
			if !f.Match(o) {
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
func odata(f order.Filter) string {
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
	if !f.EventsWaitingBefore.IsZero() {
		// Rounded up to the millisecond, to which Azurite compares: never
		// leaves out a record the exact check keeps.
		before := f.EventsWaitingBefore.UTC().Add(time.Millisecond - 1).Truncate(time.Millisecond)
		conds = append(conds, propEventsPendingAt+" lt datetime'"+before.Format(dateTimeLayout)+"'")
	}
	if f.EventsUndelivered {
		conds = append(conds, propEventsUndelivered+" gt 0")
	}
	if f.EventsFailing {
		conds = append(conds, propEventsFailing+" gt 0")
	}
	return strings.Join(conds, " and ")
}

// quote returns s as an OData string literal: in single quotes, each single
// quote inside doubled.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
