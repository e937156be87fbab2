package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/app"
	"github.com/filedrop/filedrop/internal/operator"
	"github.com/filedrop/filedrop/internal/order"
)

// runOrders shows the order ledger: orders list, orders show.
func runOrders(ctx context.Context, env Env, args []string) error {
	return runVerb(ctx, env, "orders", []verb{
		{"list", "list the orders in the ledger, newest first", runOrdersList},
		{"show", "show one order: every step's time, the last error, its access and downloads, each mail and its delivery", runOrdersShow},
		{"index", "index the fulfilled orders by customer email, and their mails by operation id (a backfill)", runOrdersIndex},
	}, args)
}

// defaultListLimit is how many orders orders list prints unless told.
const defaultListLimit = 100

func runOrdersList(ctx context.Context, env Env, args []string) error {
	op := newOperation(env, "orders list", "orders list [--status S] [--since 72h] [--email E] [--limit N] [--local] [--json]\n\nLists the orders of the ledger updated or created within --since, newest first.\nStates: "+stateNames()+".\nAn order whose message the host gave up on shows as poisoned, one that has not\nmoved for "+operator.StallAfter.String()+" as stalled, each with the command that moves it again;\nheld: waiting for a refused setting to be fixed; waiting: for a dependency that\nfailed transiently (network, 5xx, timeout), with the next attempt and the last error;\nundelivered: the last mail did not arrive, as a delivery report says, with its reason.", true)
	status := op.fs.String("status", "", "only orders in this state, or held, waiting or undelivered")
	since := op.fs.Duration("since", 72*time.Hour, "only orders updated or created within this long (0: all)")
	email := op.fs.String("email", "", "only orders of this customer email (any letter case)")
	limit := op.fs.Int("limit", defaultListLimit, "print at most this many orders")
	var f order.Filter
	check := func(rest []string) (err error) {
		f, err = listFilter(rest, *status, *since, *email, *limit)
		return err
	}
	return op.run(env, args, check, func(p *app.Pipeline, out printer) error {
		recs, err := p.ListOrders(ctx, f)
		if err != nil {
			return err
		}
		read := len(recs) // the ledger reads at most app.MaxList
		if *status == heldStatus {
			recs = slices.DeleteFunc(recs, func(o order.Order) bool { return !o.Held() })
		}
		if *status == waitingStatus {
			recs = slices.DeleteFunc(recs, func(o order.Order) bool { return !o.Waiting() })
		}
		if *status == undeliveredStatus {
			recs = slices.DeleteFunc(recs, func(o order.Order) bool { m, ok := o.LastMail(); return !ok || !m.Undelivered() })
		}
		slices.SortStableFunc(recs, func(a, b order.Order) int { return latest(b).Compare(latest(a)) })
		total := len(recs)
		recs = recs[:min(total, *limit)]
		stuck, err := findStuck(ctx, p, *op.local)
		if err != nil {
			return err
		}
		views := make([]orderView, len(recs))
		for i, o := range recs {
			views[i] = viewOf(o)
			views[i].Stuck = stuck.of(o)
		}
		return out.print(views, func(w io.Writer) {
			printOrderTable(w, views)
			if total > len(recs) {
				fmt.Fprintf(w, "(the newest %d of %d; use --limit or narrow the filter)\n", len(recs), total)
			}
			if read >= app.MaxList {
				fmt.Fprintf(w, "(the ledger holds more than the %d orders one listing reads within --since; narrow --since or --email to see the rest)\n", app.MaxList)
			}
			printStuck(w, views, stuck.index.Unseen)
		})
	})
}

// listFilter checks orders list's arguments and returns the ledger filter.
// It asks the ledger for every match so that the newest can be printed.
func listFilter(rest []string, status string, since time.Duration, email string, limit int) (order.Filter, error) {
	var f order.Filter
	switch {
	case len(rest) > 0:
		return f, usageErr("orders list takes no arguments, got %q", rest)
	case status != "" && status != heldStatus && status != waitingStatus && status != undeliveredStatus && !slices.Contains(order.States, order.State(status)):
		return f, usageErr("--status %q is not a state; states: %s, or %s, %s or %s", status, stateNames(), heldStatus, waitingStatus, undeliveredStatus)
	case since < 0:
		return f, usageErr("--since must not be negative")
	case limit < 1:
		return f, usageErr("--limit must be at least 1")
	}
	state := order.State(status)
	if status == heldStatus || status == waitingStatus || status == undeliveredStatus { // any state: the list keeps the held, waiting or undelivered ones
		state = ""
	}
	f = order.Filter{State: state, Email: email, Limit: app.MaxList}
	if since > 0 {
		f.Since = time.Now().Add(-since)
	}
	return f, nil
}

func stateNames() string {
	names := make([]string, len(order.States))
	for i, s := range order.States {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// latest is when the order last changed.
func latest(o order.Order) time.Time {
	if o.UpdatedAt.IsZero() {
		return o.CreatedAt
	}
	return o.UpdatedAt
}

func printOrderTable(w io.Writer, views []orderView) {
	if len(views) == 0 {
		fmt.Fprintln(w, "no orders match")
		return
	}
	fmt.Fprintln(w, "SESSION\tSTATE\tEMAIL\tFILES\tMAIL SENT/QUEUED\tUPDATED\tPROBLEM")
	for _, v := range views {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d/%d\t%s\t%s\n", v.SessionID, v.state(), dash(v.CustomerEmail), v.Items,
			v.SentGeneration, v.MailGeneration, stamp(deref(v.UpdatedAt)), dash(clip(v.problem(), 60)))
	}
	fmt.Fprintf(w, "%s\n", plural(len(views), "order"))
}

func runOrdersShow(ctx context.Context, env Env, args []string) error {
	op := newOperation(env, "orders show", "orders show <session> [--local] [--json]\n\nShows the ledger's record of one Checkout Session: its state, each step's time,\nthe last error, its access to the order page (open, revoked, suspended,\nexpired; the window's end; each file's downloads with their times), the\nlast queued mail (links shown without their signature), and each mail sent\nwith what became of it: sending, accepted, sent, delivered, not delivered (the\ndelivery report's status and the server's message) or failed; and the order's\nevents, a line per sink (delivered, or not with the last error and attempts).\nExits 4 when the ledger has no record of the session.", true)
	return op.runOrder(ctx, env, args, func(p *app.Pipeline, out printer, rec order.Order) error {
		stuck, err := findStuck(ctx, p, *op.local)
		if err != nil {
			return err
		}
		v := viewOf(rec)
		v.Stuck = stuck.of(rec)
		v.Mail = mailViewOf(rec.Mail)
		v.Access = accessViewOf(rec, time.Now(), p.Config().Download.Window, p.Config().Download.Limit)
		v.Events = orderEventsOf(rec)
		return out.print(v, func(w io.Writer) { printOrder(w, v) })
	})
}

// sessionArg returns the one Checkout Session id a command takes.
func sessionArg(cmd string, rest []string) (string, error) {
	if len(rest) != 1 {
		return "", usageErr("%s takes one Checkout Session id (cs_test_... or cs_live_...), got %d arguments", cmd, len(rest))
	}
	if !order.ValidSessionID(rest[0]) {
		return "", usageErr("%q is not a Checkout Session id (cs_test_... or cs_live_...)", rest[0])
	}
	return rest[0], nil
}

func printOrder(w io.Writer, v orderView) {
	row := func(k, val string) { fmt.Fprintf(w, "%s\t%s\n", k, val) }
	row("Session", v.SessionID)
	if v.Stuck != nil {
		row("State", fmt.Sprintf("%s (%s: nothing works on it)", v.State, v.Stuck.Condition))
	} else {
		row("State", v.State)
	}
	row("Mode", order.Mode(v.Livemode))
	row("Customer", dash(v.CustomerEmail))
	row("Files", fmt.Sprint(v.Items))
	row("Reason", dash(v.Reason))
	row("Last error", dash(attempts(v.LastError, v.Attempts)))
	if s := v.Stuck; s != nil {
		row("Stuck", s.summary())
		row("Fix", s.remedy())
	}
	if v.Access != nil {
		printAccess(w, v.Access)
	}
	row("Mail", fmt.Sprintf("%s: generation %d queued, %d sent", dash(v.MailKind), v.MailGeneration, v.SentGeneration))
	row("Operation id", dash(v.OperationID))
	row("Events", dash(strings.Join(v.EventIDs, ", ")))
	if v.LeaseOwner != "" {
		row("Lease", fmt.Sprintf("%s until %s", v.LeaseOwner, stamp(deref(v.LeaseUntil))))
	}
	if v.ThrottledUntil != nil {
		row("Throttled until", stamp(*v.ThrottledUntil))
	}
	if v.RetryAt != nil && v.Waiting {
		row("Waiting", fmt.Sprintf("a dependency failed transiently %s (see Last error); next attempt %s", plural(v.Attempts, "time"), stamp(*v.RetryAt)))
	}
	if v.Holds > 0 {
		row("Held", fmt.Sprintf("%d times in a row, a setting was refused (see Last error); next attempt %s", v.Holds, stamp(deref(v.HeldUntil))))
	}
	for _, s := range v.steps() {
		row(s.name, stamp(deref(s.at)))
	}
	if m := v.Mail; m != nil {
		row("Last mail", fmt.Sprintf("%s generation %d to %s, key %s", m.Kind, m.Generation, m.To, m.Key))
		for _, l := range m.Links {
			row("  "+l.FileName, fmt.Sprintf("%s (expires %s)", l.URL, stamp(l.ExpiresAt)))
		}
	}
	if e := v.Events; e != nil {
		summary := plural(e.Count, "event")
		if e.Waiting > 0 {
			summary += fmt.Sprintf(", %d waiting to be queued", e.Waiting)
		}
		if e.Dropped > 0 {
			summary += fmt.Sprintf(", %d more dropped before every sink had them", e.Dropped)
		}
		row("Order events", summary+" (handler events list --session "+v.SessionID+")")
		for _, s := range e.Sinks {
			row("  "+s.Sink, s.line())
		}
	}
	if len(v.Mails) > 0 {
		row("Mails", fmt.Sprintf("%s, oldest first (ACS reports delivery; SMTP and the outbox do not, so theirs stay accepted)", plural(len(v.Mails), "mail")))
		for _, m := range v.Mails {
			row(fmt.Sprintf("  %s %d", m.Kind, m.Generation), fmt.Sprintf("to %s: %s (key %s)", dash(m.To), m.fate(), m.OperationID))
		}
	}
}

func attempts(lastError string, n int) string {
	if lastError == "" || n == 0 {
		return lastError
	}
	return fmt.Sprintf("%s (%s)", lastError, plural(n, "attempt"))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
