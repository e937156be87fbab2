package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// reconcileSummary is what reconcile found and did. The JSON names are a
// stable contract for scripts.
type reconcileSummary struct {
	Since  time.Time `json:"since"`
	DryRun bool      `json:"dry_run"`
	Seen   int       `json:"seen"`
	// Fulfilled counts the sessions whose mail the ledger shows sent.
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
func runReconcile(ctx context.Context, env Env, args []string) (err error) {
	fs := flags(env, "reconcile", "reconcile [--since 72h] [--dry-run] [--local] [--json]\n\nLists the Checkout Sessions Stripe has created within --since and queues every\npaid one whose mail the ledger does not show sent for ProcessOrder (which\nfulfils an order once, however often it is queued). Prints how many sessions\nwere seen, already fulfilled, queued, and skipped and why.\nExits 5 when --dry-run finds sessions to queue.")
	since := fs.Duration("since", 72*time.Hour, "how far back to look, by session creation time")
	dryRun := fs.Bool("dry-run", false, "only tell what would be queued (exit 5 if anything would)")
	local, asJSON := operatorFlags(fs)
	if done, err := parse(fs, args); done {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("reconcile takes no arguments, got %q", fs.Args())
	case *since <= 0:
		return usageErr("--since must be positive, such as 72h")
	}
	p, err := openPipeline(env, *local)
	if err != nil {
		return err
	}
	defer p.explain(&err)
	sum := &reconcileSummary{Since: time.Now().Add(-*since).UTC().Truncate(time.Second), DryRun: *dryRun, QueuedSessions: []string{}, Skipped: map[string]int{}}
	err = p.reconcile(ctx, stripeapi.New(p.cfg.Stripe, p.log), sum, newProgress(env.Stderr))
	if err == nil || sum.Seen > 0 { // a partial summary still tells what was queued
		if perr := (printer{env.Stdout, *asJSON}).print(sum, func(w io.Writer) { printReconcile(w, sum) }); err == nil {
			err = perr
		}
	}
	switch {
	case errors.Is(err, stripeapi.ErrUnreachable):
		return fmt.Errorf("reconcile: %w\n(check the network, and STRIPE_API_URL if it is set)", err)
	case err != nil:
		return fmt.Errorf("reconcile: %w", err)
	case sum.DryRun && sum.Queued > 0:
		return &ExitError{Code: ExitMismatch, Err: fmt.Errorf("dry run: %s not fulfilled; run reconcile without --dry-run to queue them",
			plural(sum.Queued, "paid session"))}
	}
	return nil
}

// sessionLister lists Checkout Sessions (stripeapi.Client).
type sessionLister interface {
	ListSessions(ctx context.Context, since time.Time, fn func(stripeapi.ListedSession) error) error
}

var _ sessionLister = (*stripeapi.Client)(nil)

// reconcile judges every session created since sum.Since against its
// ledger record, queues the ones to fulfil unless sum.DryRun, and counts
// into sum.
func (p *pipeline) reconcile(ctx context.Context, stripe sessionLister, sum *reconcileSummary, prog *progress) error {
	return stripe.ListSessions(ctx, sum.Since, func(s stripeapi.ListedSession) error {
		sum.Seen++
		defer prog.step(func() string {
			return fmt.Sprintf("reconcile: %d sessions seen, %d to queue", sum.Seen, sum.Queued)
		})
		rec, err := p.ledger.Get(ctx, s.ID) // not found: the zero Order
		if err != nil && !errors.Is(err, order.ErrNotFound) {
			return err
		}
		v := judge(s, rec, p.cfg.Stripe.Livemode)
		switch {
		case v.fulfilled:
			sum.Fulfilled++
		case v.skip != "":
			sum.Skipped[v.skip]++
		default:
			if !sum.DryRun {
				if err := p.sendOrder(ctx, reconcileMessage(s, v.eventType)); err != nil {
					return err
				}
			}
			sum.Queued++
			sum.QueuedSessions = append(sum.QueuedSessions, s.ID)
		}
		return nil
	})
}

// verdict is what reconcile does with one session: count it fulfilled,
// skip it for a reason, or queue it as an event of eventType.
type verdict struct {
	fulfilled bool
	skip      string
	eventType string
}

// judge decides what to do with a session that has the ledger record rec
// (ETag empty: none).
func judge(s stripeapi.ListedSession, rec order.Order, livemode bool) verdict {
	switch {
	case s.Livemode != livemode:
		return verdict{skip: modeOf(s.Livemode) + "-mode session, " + modeOf(livemode) + "-mode key"}
	case s.Status == stripeapi.StatusExpired:
		return verdict{skip: "expired"}
	case s.Status == stripeapi.StatusOpen:
		return verdict{skip: "open: checkout not completed"}
	case s.PaymentStatus == stripeapi.PaymentUnpaid:
		return verdict{skip: "unpaid"}
	case s.PaymentStatus != stripeapi.PaymentPaid && s.PaymentStatus != stripeapi.PaymentNotRequired:
		return verdict{skip: "payment status " + s.PaymentStatus}
	case rec.ETag == "":
		return verdict{eventType: order.EventCompleted}
	case rec.State == order.StateMailSent, rec.SentGeneration >= 1 && rec.MailKind == order.MailDownloadLinks:
		return verdict{fulfilled: true}
	case rec.State == order.StatePaymentFailed:
		return verdict{skip: "paid in Stripe, payment failed in the ledger: see orders show"}
	case rec.State == order.StateAwaitingPayment:
		// ProcessOrder leaves an order awaiting payment alone on a
		// completed event: the lost event is the payment's success.
		return verdict{eventType: order.EventAsyncPaymentSucceeded}
	}
	return verdict{eventType: order.EventCompleted}
}

// reconcileMessage is the order message reconcile queues for a session.
func reconcileMessage(s stripeapi.ListedSession, eventType string) order.OrderMessage {
	return order.OrderMessage{Version: order.OrderMessageVersion, EventID: "evt_reconcile_" + randomID(), EventType: eventType,
		SessionID: s.ID, Livemode: s.Livemode, Created: time.Now().Unix(), Trigger: order.TriggerReconcile}
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
