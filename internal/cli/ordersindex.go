package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/filedrop/filedrop/internal/app"
	"github.com/filedrop/filedrop/internal/operator"
	"github.com/filedrop/filedrop/internal/order"
)

// indexed is what orders index did, as it prints it.
type indexed struct {
	operator.IndexSummary
	// Read counts the orders read; Capped says the ledger holds more
	// within --since than one listing reads.
	Read   int  `json:"read"`
	Capped bool `json:"capped,omitempty"`
}

// runOrdersIndex writes the ledger's indexes for the orders that exist:
// the "Lost your link?" page and the delivery reports then find the orders
// and mails of before SendLink wrote them.
func runOrdersIndex(ctx context.Context, env Env, args []string) error {
	op := newOperation(env, "orders index", "orders index [--since 0] [--local] [--json]\n\nIndexes the orders of the ledger as SendLink indexes the mails it sends: each\nfulfilled order under every address its download mail went to (the \"Lost your\nlink?\" page finds an address's orders there, never by reading every order) and\neach listed mail by its operation id (delivery reports find their mail there).\nRun it once after upgrading; it is idempotent. Reads at most "+fmt.Sprint(app.MaxList)+" orders\nupdated or created within --since (0: all); narrow --since to index the rest.", true)
	since := op.fs.Duration("since", 0, "only orders updated or created within this long (0: all)")
	check := func(rest []string) error {
		switch {
		case len(rest) > 0:
			return usageErr("orders index takes no arguments, got %q", rest)
		case *since < 0:
			return usageErr("--since must not be negative")
		}
		return nil
	}
	return op.run(env, args, check, func(p *app.Pipeline, out printer) error {
		f := order.Filter{Limit: app.MaxList}
		if *since > 0 {
			f.Since = time.Now().Add(-*since)
		}
		recs, err := p.ListOrders(ctx, f)
		if err != nil {
			return err
		}
		prog := newProgress(env.Stderr)
		sum, err := p.IndexOrders(ctx, recs, func(s operator.IndexSummary) {
			prog.step(func() string { return fmt.Sprintf("indexed %d of %d orders", s.Orders+s.Skipped, len(recs)) })
		})
		if err != nil {
			return err
		}
		res := indexed{IndexSummary: sum, Read: len(recs), Capped: len(recs) >= app.MaxList}
		return out.print(res, func(w io.Writer) {
			fmt.Fprintf(w, "read %s: indexed %s under %s, %s by operation id; %s not fulfilled (no address lists them)\n",
				plural(res.Read, "order"), plural(sum.Orders, "order"), addresses(sum.Addresses), plural(sum.Mails, "mail"), plural(sum.Skipped, "order"))
			if res.Capped {
				fmt.Fprintf(w, "(the ledger holds more than the %d orders one listing reads within --since; run again with a narrower --since for the rest)\n", app.MaxList)
			}
		})
	})
}

// addresses counts n addresses in words.
func addresses(n int) string {
	if n == 1 {
		return "1 address"
	}
	return fmt.Sprintf("%d addresses", n)
}
