package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/filedrop/filedrop/internal/app"
	"github.com/filedrop/filedrop/internal/operator"
	"github.com/filedrop/filedrop/internal/order"
)

// runEvents shows the order events and what became of them at each sink,
// queues them again, and receives them for a local run.
func runEvents(ctx context.Context, env Env, args []string) error {
	return runVerb(ctx, env, "events", []verb{
		{"list", "list the order events some sink has not taken (or one order's, or the failed ones)", runEventsList},
		{"redeliver", "queue again the order events a sink has not taken", runEventsRedeliver},
		{"receive", "receive order events as a seller's receiver would, for a local run", runEventsReceive},
	}, args)
}

// eventView is an order event at one sink, as events list prints it. The
// JSON names are what scripts read: a stable contract.
type eventView struct {
	SessionID string    `json:"session_id"`
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	At        time.Time `json:"at"`
	// Sink is "" for an event not yet queued for any sink.
	Sink string `json:"sink,omitempty"`
	// Status is waiting (to be queued), queued, delivered, failing (its
	// last delivery failed; it is retried) or gave_up (only a redelivery
	// tries again).
	Status      string     `json:"status"`
	QueuedAt    *time.Time `json:"queued_at,omitempty"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	Attempts    int        `json:"attempts,omitempty"`
	Error       string     `json:"error,omitempty"`
	FailedAt    *time.Time `json:"failed_at,omitempty"`
}

func eventViewOf(l operator.EventLine) eventView {
	d := l.Delivery
	return eventView{SessionID: l.SessionID, ID: l.Event.ID, Type: string(l.Event.Type), At: l.Event.At.UTC(), Sink: d.Sink,
		Status: deliveryStatus(d), QueuedAt: jsonTime(d.QueuedAt), DeliveredAt: jsonTime(d.DeliveredAt), Attempts: d.Attempts,
		Error: d.Error, FailedAt: jsonTime(d.FailedAt)}
}

// deliveryStatus names what became of an event at a sink.
func deliveryStatus(d order.SinkDelivery) string {
	switch {
	case d.Delivered():
		return "delivered"
	case d.GaveUp:
		return "gave_up"
	case d.Failing():
		return "failing"
	case d.QueuedAt.IsZero():
		return "waiting"
	}
	return "queued"
}

// eventFlags adds the flags that select events.
func eventFlags(op *operation) *operator.EventFilter {
	f := &operator.EventFilter{}
	op.fs.StringVar(&f.Session, "session", "", "only this order's events (delivered or not)")
	op.fs.BoolVar(&f.Failed, "failed", false, "only the events whose last delivery to a sink failed")
	op.fs.StringVar(&f.Sink, "sink", "", "only this sink: its name as listed (webhook:host/digest, dataverse), or webhook for every webhook receiver")
	op.fs.IntVar(&f.Limit, "limit", 0, "look at most at this many orders (0: as many as one listing gives)")
	op.vet = func() error {
		if f.Session != "" && !order.ValidSessionID(f.Session) {
			return usageErr("--session %q is not a Checkout Session id (cs_test_... or cs_live_...)", f.Session)
		}
		if f.Limit < 0 {
			return usageErr("--limit must not be negative")
		}
		return nil
	}
	return f
}

func runEventsList(ctx context.Context, env Env, args []string) error {
	op := newOperation(env, "events list", "events list [--session S] [--failed] [--sink N] [--limit N] [--local] [--json]\n\nLists the order events that some sink has not taken yet, one line per event and\nsink: waiting (to be queued), queued, failing (its last delivery failed and it is\nretried, with the error and the attempts) or gave_up (permanent, or out of\nretry budget: events redeliver sends it again). With --session, every event of\nthat order, delivered or not.", false)
	f := eventFlags(op)
	return op.run(env, args, op.noArgs, func(p *app.Pipeline, out printer) error {
		lines, err := p.ListEvents(ctx, *f)
		if nf := (*operator.NotFoundError)(nil); errors.As(err, &nf) || errors.Is(err, order.ErrNotFound) {
			return &ExitError{Code: ExitNotFound, Err: fmt.Errorf("the ledger has no order for session %s", f.Session)}
		}
		if err != nil {
			return err
		}
		views := make([]eventView, 0, len(lines))
		for _, l := range lines {
			views = append(views, eventViewOf(l))
		}
		return out.print(views, func(w io.Writer) { printEvents(w, views, p.EventsEnabled()) })
	})
}

func printEvents(w io.Writer, views []eventView, enabled bool) {
	if !enabled {
		fmt.Fprintln(w, "order events are off (no ORDER_EVENTS_URL or DATAVERSE_URL): nothing new is recorded")
	}
	if len(views) == 0 {
		fmt.Fprintln(w, "no events match")
		return
	}
	fmt.Fprintln(w, "SESSION\tEVENT\tAT\tSINK\tSTATUS\tID\tLAST ERROR")
	for _, v := range views {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.SessionID, v.Type, stamp(v.At), dash(v.Sink), v.status(), v.ID, dash(clip(v.Error, 80)))
	}
	fmt.Fprintln(w, plural(len(views), "line"))
}

// status is the status with its time or attempts, for people.
func (v eventView) status() string {
	switch v.Status {
	case "delivered":
		return "delivered " + stamp(deref(v.DeliveredAt))
	case "failing", "gave_up":
		return fmt.Sprintf("%s (%s)", v.Status, plural(v.Attempts, "attempt"))
	case "queued":
		return "queued " + stamp(deref(v.QueuedAt))
	}
	return v.Status
}

// redeliverView is what events redeliver did.
type redeliverView struct {
	DryRun bool        `json:"dry_run"`
	Orders int         `json:"orders"`
	Queued int         `json:"queued"`
	Events []eventView `json:"events"`
}

func runEventsRedeliver(ctx context.Context, env Env, args []string) error {
	op := newOperation(env, "events redeliver", "events redeliver [--session S] [--sink N] [--failed] [--dry-run] [--local] [--json]\n\nQueues again, for each configured sink, the order events it has not taken and\nthat are not on their way (their delivery failed or gave up, or they wait to be\nqueued), with their failures cleared and the ids they always had (a receiver\nde-duplicates on them). Fix the sink first: see events list --failed.", false)
	f := eventFlags(op)
	dryRun := op.fs.Bool("dry-run", false, "show what would be queued, and queue nothing")
	return op.run(env, args, op.noArgs, func(p *app.Pipeline, out printer) error {
		sum, err := p.RedeliverEvents(ctx, *f, *dryRun)
		if errors.Is(err, operator.ErrEventsOff) {
			return &ExitError{Code: ExitConfig, Err: err}
		}
		if errors.Is(err, order.ErrNotFound) {
			return &ExitError{Code: ExitNotFound, Err: fmt.Errorf("the ledger has no order for session %s", f.Session)}
		}
		v := redeliverView{DryRun: sum.DryRun, Orders: sum.Orders, Queued: sum.Queued, Events: make([]eventView, 0, len(sum.Lines))}
		for _, l := range sum.Lines {
			v.Events = append(v.Events, eventViewOf(l))
		}
		if perr := out.print(v, func(w io.Writer) { printRedeliver(w, v) }); perr != nil {
			return perr
		}
		return err
	})
}

func printRedeliver(w io.Writer, v redeliverView) {
	if len(v.Events) == 0 {
		fmt.Fprintln(w, "nothing to redeliver")
		return
	}
	for _, e := range v.Events {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", e.SessionID, e.Type, dash(e.Sink), e.Status, e.ID)
	}
	if v.DryRun {
		fmt.Fprintf(w, "dry run: would queue %s of %s again\n", plural(len(v.Events), "event"), plural(v.Orders, "order"))
		return
	}
	fmt.Fprintf(w, "queued %s of %s again\n", plural(v.Queued, "event"), plural(v.Orders, "order"))
}

// receivedLine is what events receive prints for each event it keeps.
const receivedLine = "%s %s %s %s%s\n"

func runEventsReceive(ctx context.Context, env Env, args []string) error {
	fs := flags(env, "events receive", "events receive [--port 7072] [--dir D] [--local]\n\nReceives order events as a seller's receiver would: on http://127.0.0.1:<port>/,\neach POST verified as the Standard Webhooks libraries verify it, with the secrets\nof ORDER_EVENTS_SECRET (with --local and none set, handler local's own, which\nscripts/run.sh gives the handler too). Each event is written to <dir>/<id>.json\nand printed on a line; one delivered again is written again, marked (again).\nPoint ORDER_EVENTS_URL at the printed address.")
	port := fs.Int("port", 7072, "port on 127.0.0.1 (0: the system chooses)")
	dir := fs.String("dir", "", "folder the events are written to (default: <run folder>/events)")
	local := fs.Bool("local", false, "use handler local's defaults for unset settings")
	if done, err := parse(fs, args); done {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("events receive takes no arguments, got %q", fs.Args())
	}
	get, err := settingsGetter(env, *local)
	if err != nil {
		return err
	}
	run := get("RUN_DIR")
	if run == "" {
		run = filepath.Join(appDir(env), ".run")
	}
	raw := get("ORDER_EVENTS_SECRET")
	if raw == "" && *local {
		if raw, err = localEventsSecret(run); err != nil {
			return err
		}
	}
	if raw == "" {
		return &ExitError{Code: ExitConfig, Err: errors.New("ORDER_EVENTS_SECRET is not set: the receiver verifies the webhooks with it (--local uses handler local's own)")}
	}
	if *dir == "" {
		*dir = filepath.Join(run, "events")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	var secrets []string
	for _, s := range strings.Split(raw, ",") {
		secrets = append(secrets, strings.TrimSpace(s))
	}
	var mu sync.Mutex
	handler, err := app.EventReceiver(secrets, func(e order.Event, body []byte) error {
		mu.Lock()
		defer mu.Unlock()
		again, err := keepEvent(*dir, e.ID, body)
		if err != nil {
			return err
		}
		mark := ""
		if again {
			mark = " (again)"
		}
		fmt.Fprintf(env.Stdout, receivedLine, stamp(e.Time), e.Type, e.Order.SessionID, e.ID, mark)
		return nil
	})
	if err != nil {
		return exitCoded(err)
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		return fmt.Errorf("listen on 127.0.0.1:%d: %w", *port, err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(env.Stdout, "Receiving order events at http://%s/ (set ORDER_EVENTS_URL to it); each is written to %s\n%s\n", ln.Addr(), *dir, readyLine)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// keepEvent writes body to dir/<id>.json (written aside, then renamed into
// place) and reports whether the event was there already.
func keepEvent(dir, id string, body []byte) (again bool, err error) {
	path := filepath.Join(dir, id+".json")
	if _, err := os.Stat(path); err == nil {
		again = true
	}
	tmp, err := os.CreateTemp(dir, "."+id+"-*")
	if err != nil {
		return again, err
	}
	_, werr := tmp.Write(body)
	if err := errors.Join(werr, tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return again, err
	}
	return again, os.Rename(tmp.Name(), path)
}
