package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/filedrop/filedrop/internal/app"
	"github.com/filedrop/filedrop/internal/config"
	"github.com/filedrop/filedrop/internal/operator"
	"github.com/filedrop/filedrop/internal/order"
)

// This file is the plumbing the operator's commands (orders, resend,
// poison, reconcile) share: their common flags, sub-verbs, the pipeline they
// open, and how they print. What they do is internal/operator's.

// operatorFlags adds the flags every operator command takes: --local, and
// --json for those that print data.
func operatorFlags(fs *flag.FlagSet) (local, asJSON *bool) {
	local = fs.Bool("local", false, "use handler local's defaults (Azurite, the demo Stripe) for unset settings")
	asJSON = fs.Bool("json", false, "print JSON instead of text")
	return local, asJSON
}

// operation is the ceremony every operator command repeats: parse its flags
// (with --local and --json), vet the arguments, open the pipeline, explain a
// failure to reach the development storage, and, for a command on one
// order, read the order. A command defines its own flags on fs, then calls
// run or runOrder.
type operation struct {
	fs            *flag.FlagSet
	local, asJSON *bool
	// anywhere lets flags follow the positional arguments ("orders show
	// cs_test_1 --json"); otherwise the first argument ends the flags.
	anywhere bool
	// vet, when set, checks the command's own flags before anything is
	// opened, so that a usage error exits 2 whatever the storage's state.
	vet func() error
}

// newOperation returns the operation of the command name, which prints
// usage for --help.
func newOperation(env Env, name, usage string, anywhere bool) *operation {
	fs := flags(env, name, usage)
	local, asJSON := operatorFlags(fs)
	return &operation{fs: fs, local: local, asJSON: asJSON, anywhere: anywhere}
}

// run parses args, has check vet the positional arguments (and any flags),
// opens the pipeline and calls do with it and the command's printer. A
// failure to reach the development storage gets the hint that Azurite may
// not be running.
func (op *operation) run(env Env, args []string, check func(rest []string) error, do func(p *app.Pipeline, out printer) error) (err error) {
	var rest []string
	var done bool
	if op.anywhere {
		rest, done, err = parseArgs(op.fs, args)
	} else if done, err = parse(op.fs, args); !done {
		rest = op.fs.Args()
	}
	if done {
		return err
	}
	if err := check(rest); err != nil {
		return err
	}
	p, err := openPipeline(env, *op.local)
	if err != nil {
		return err
	}
	defer explain(p.Config(), &err)
	return do(p, printer{env.Stdout, *op.asJSON})
}

// noArgs is run's check for a command that takes no positional arguments:
// it refuses any, then vets the flags.
func (op *operation) noArgs(rest []string) error {
	if len(rest) > 0 {
		return usageErr("%s takes no arguments, got %q", op.fs.Name(), rest)
	}
	if op.vet != nil {
		return op.vet()
	}
	return nil
}

// runOrder is run for a command on one order: it takes one Checkout Session
// id and calls do with the session's record; a session the ledger has no
// record of exits ExitNotFound.
func (op *operation) runOrder(ctx context.Context, env Env, args []string, do func(p *app.Pipeline, out printer, rec order.Order) error) error {
	var id string
	check := func(rest []string) (err error) {
		if id, err = sessionArg(op.fs.Name(), rest); err != nil {
			return err
		}
		if op.vet != nil {
			return op.vet()
		}
		return nil
	}
	return op.run(env, args, check, func(p *app.Pipeline, out printer) error {
		rec, err := getOrder(ctx, p, id)
		if err != nil {
			return err
		}
		return do(p, out, rec)
	})
}

// getOrder reads the session's record; a missing one exits ExitNotFound.
func getOrder(ctx context.Context, p *app.Pipeline, id string) (order.Order, error) {
	rec, err := p.Find(ctx, id)
	if nf := (*operator.NotFoundError)(nil); errors.As(err, &nf) {
		return rec, &ExitError{Code: ExitNotFound, Err: err}
	}
	return rec, err
}

// parseArgs parses args, allowing flags after the positional arguments
// ("orders show cs_test_1 --json"), and returns the positional ones. done
// and err are parse's.
func parseArgs(fs *flag.FlagSet, args []string) (positional []string, done bool, err error) {
	for range len(args) + 1 { // each round consumes at least one argument
		if done, err := parse(fs, args); done {
			return nil, true, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, false, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	return positional, false, nil
}

// openPipeline loads and validates the settings (over handler local's
// defaults when local is set) and builds the pipeline. It logs to stderr.
func openPipeline(env Env, local bool) (*app.Pipeline, error) {
	cfg, fns, _, err := loadSettings(env, local)
	if err != nil {
		return nil, describeConfigErrorLocal(env, local, err)
	}
	return app.New(cfg, fns, newLogger(cfg, env.Stderr))
}

// explain adds to *err, a failure to reach the development storage of cfg,
// the hint that Azurite may not be running. Commands defer it.
func explain(cfg config.Config, err *error) {
	var ne net.Error
	if *err == nil || !cfg.Storage.Development() || app.StripeUnreachable(*err) || !errors.As(*err, &ne) {
		return
	}
	*err = fmt.Errorf("%w\n(is Azurite running? scripts/azurite.sh start starts it)", *err)
}

// verb is a sub-command of a command that takes one (orders list).
type verb struct {
	name, summary string
	run           func(ctx context.Context, env Env, args []string) error
}

// runVerb runs the verb args[0] of the command cmd.
func runVerb(ctx context.Context, env Env, cmd string, verbs []verb, args []string) error {
	if len(args) > 0 {
		for _, v := range verbs {
			if v.name == args[0] {
				return v.run(ctx, env, args[1:])
			}
		}
	}
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		printVerbs(env.Stdout, cmd, verbs)
		return nil
	}
	printVerbs(env.Stderr, cmd, verbs)
	if len(args) == 0 {
		return usageErr("%s needs a sub-command", cmd)
	}
	return usageErr("%s: unknown sub-command %q", cmd, args[0])
}

func printVerbs(w io.Writer, cmd string, verbs []verb) {
	fmt.Fprintf(w, "Usage: handler %s <sub-command> [flags]\n\nSub-commands:\n", cmd)
	for _, v := range verbs {
		fmt.Fprintf(w, "  %-8s %s\n", v.name, v.summary)
	}
	fmt.Fprintf(w, "\nRun 'handler %s <sub-command> --help' for its flags.\n", cmd)
}

// printer writes a command's result as text for a person or, with json
// set, as one indented JSON document for a script.
type printer struct {
	out  io.Writer
	json bool
}

// print writes v as JSON, or calls text with a tabwriter (columns
// separated by tabs) and flushes it.
func (p printer) print(v any, text func(w io.Writer)) error {
	if p.json {
		enc := json.NewEncoder(p.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(p.out, 0, 4, 2, ' ', 0)
	text(tw)
	return tw.Flush()
}

// stamp formats a time for people: UTC, RFC 3339, to the second; "-" for
// none. Every operator command prints times this way.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// jsonTime is t in UTC for JSON, nil (left out) when zero.
func jsonTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// clip shortens s to n runes, on one line, ending in "…" when cut.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// progress reports a long run's progress to a person: a line to w every
// `every` items or every `interval`, whichever comes first.
type progress struct {
	w        io.Writer
	every    int
	interval time.Duration
	now      func() time.Time
	n        int
	last     time.Time
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, every: 100, interval: time.Second, now: time.Now, last: time.Now()}
}

// step counts one item and, when a report is due, prints line().
func (p *progress) step(line func() string) {
	p.n++
	if now := p.now(); p.n%p.every == 0 || now.Sub(p.last) >= p.interval {
		p.last = now
		fmt.Fprintln(p.w, line())
	}
}
