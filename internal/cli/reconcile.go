package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/filedrop/filedrop/internal/app"
	"github.com/filedrop/filedrop/internal/operator"
)

// reconcileSummary is what reconcile found and did. The JSON names are a
// stable contract for scripts.
type reconcileSummary struct {
	Since  time.Time `json:"since"`
	DryRun bool      `json:"dry_run"`
	Seen   int       `json:"seen"`
	// Fulfilled counts the sessions whose mail the ledger shows sent
	// (order.Order.Fulfilled).
	Fulfilled int `json:"already_fulfilled"`
	// Queued counts the sessions queued for ProcessOrder (in a dry run: the
	// ones that would be).
	Queued         int      `json:"queued"`
	QueuedSessions []string `json:"queued_sessions"`
	// Skipped counts the sessions left alone, by reason.
	Skipped map[string]int `json:"skipped"`
}

// runReconcile queues for ProcessOrder every paid Checkout Session of the
// window that the ledger does not show fulfilled: the safety net for
// webhooks that never arrived.
func runReconcile(ctx context.Context, env Env, args []string) error {
	op := newOperation(env, "reconcile", "reconcile [--since 72h] [--dry-run] [--local] [--json]\n\nLists the Checkout Sessions Stripe has created within --since and queues every\npaid one whose mail the ledger does not show sent for ProcessOrder (which\nfulfils an order once, however often it is queued). Prints how many sessions\nwere seen, already fulfilled, queued, and skipped and why.\nExits 5 when --dry-run finds sessions to queue.", false)
	since := op.fs.Duration("since", 72*time.Hour, "how far back to look, by session creation time")
	dryRun := op.fs.Bool("dry-run", false, "only tell what would be queued (exit 5 if anything would)")
	check := func(rest []string) error {
		switch {
		case len(rest) > 0:
			return usageErr("reconcile takes no arguments, got %q", rest)
		case *since <= 0:
			return usageErr("--since must be positive, such as 72h")
		}
		return nil
	}
	return op.run(env, args, check, func(p *app.Pipeline, out printer) error {
		rc, err := p.Reconciler()
		if err != nil {
			return err
		}
		prog := newProgress(env.Stderr)
		s, err := rc.Reconcile(ctx, time.Now().Add(-*since).UTC().Truncate(time.Second), *dryRun, func(s operator.Summary) {
			prog.step(func() string { return fmt.Sprintf("reconcile: %d sessions seen, %d to queue", s.Seen, s.Queued) })
		})
		sum := summaryOf(s)
		if err == nil || sum.Seen > 0 { // a partial summary still tells what was queued
			if perr := out.print(sum, func(w io.Writer) { printReconcile(w, sum) }); err == nil {
				err = perr
			}
		}
		switch {
		case app.StripeUnreachable(err):
			return fmt.Errorf("reconcile: %w\n(check the network, and STRIPE_API_URL if it is set)", err)
		case err != nil:
			return fmt.Errorf("reconcile: %w", err)
		case sum.DryRun && sum.Queued > 0:
			return &ExitError{Code: ExitMismatch, Err: fmt.Errorf("dry run: %s not fulfilled; run reconcile without --dry-run to queue them",
				plural(sum.Queued, "paid session"))}
		}
		return nil
	})
}

func summaryOf(s operator.Summary) *reconcileSummary {
	return &reconcileSummary{Since: s.Since, DryRun: s.DryRun, Seen: s.Seen, Fulfilled: s.Fulfilled, Queued: s.Queued,
		QueuedSessions: s.QueuedSessions, Skipped: s.Skipped}
}

func printReconcile(w io.Writer, sum *reconcileSummary) {
	queued := "queued"
	if sum.DryRun {
		queued = "to queue (dry run)"
	}
	skipped := 0
	for _, n := range sum.Skipped {
		skipped += n
	}
	fmt.Fprintf(w, "Checkout Sessions created since %s\n", stamp(sum.Since))
	fmt.Fprintf(w, "seen\t%d\n", sum.Seen)
	fmt.Fprintf(w, "already fulfilled\t%d\n", sum.Fulfilled)
	fmt.Fprintf(w, "%s\t%d\n", queued, sum.Queued)
	fmt.Fprintf(w, "skipped\t%d\n", skipped)
	for _, reason := range slices.Sorted(maps.Keys(sum.Skipped)) {
		fmt.Fprintf(w, "  %s\t%d\n", reason, sum.Skipped[reason])
	}
	for _, id := range sum.QueuedSessions {
		fmt.Fprintf(w, "%s\t%s\n", queued, id)
	}
}
