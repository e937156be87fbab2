// Command bench measures filedrop on this machine, on 127.0.0.1 only, and
// prints the results as Markdown (docs/benchmarks.md explains each figure):
//
//   - the webhook in serve mode, as the Functions host forwards it, at each
//     concurrency level: req/s, p50, p99 and the handler's CPU per webhook,
//     in interleaved rounds with Azurite's enqueue ceiling (the storage
//     adapter alone), medians of the rounds;
//   - idle memory and the time from exec to ready, in serve mode;
//   - webhook-to-mail latency, storage transactions per paid order, and
//     executions, CPU and memory per order by stage, in handler local.
//
// With -before it measures a second handler binary (scripts/bench.sh
// -baseline builds one from a git ref) beside the first, the webhook and
// start-up rounds of the two interleaved, and prints them side by side.
// Azurite and stripe-mock are started with internal/testenv, in a temporary
// folder, and every process it starts is stopped when it ends.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	// The load generator runs with one P, as the handler does in serve
	// mode: spare Ps would spin on the cores the handler and Azurite need.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// variant is a handler binary to measure and what its environment adds.
type variant struct {
	label, bin string
	env        map[string]string
}

// options are the command line.
type options struct {
	// variants are the handlers measured: -before first, if given.
	variants    []variant
	requests    int
	rounds      int
	concurrency []int
	coldStarts  int
	isolated    int
	gap         time.Duration
	orders      int
	rate        float64
	// transactions and stageOrders are the orders of those phases (0
	// skips the phase).
	transactions, stageOrders int
	timeout                   time.Duration
	out                       string
	keep                      bool
	// command is how the bench was run, for the report.
	command string
}

// envFlag collects KEY=VALUE flags.
type envFlag map[string]string

func (e envFlag) String() string { return "" }

func (e envFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, not %q", s)
	}
	e[k] = v
	return nil
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: scripts/bench.sh [-baseline REF] [flags]\n\n"+
			"Measures the webhook, start-up and the pipeline on 127.0.0.1 and prints Markdown.\n"+
			"Defaults are a full run's; -quick's are in brackets.\n\n")
		fs.PrintDefaults()
	}
	after := variant{env: envFlag{}}
	before := variant{env: envFlag{}}
	fs.StringVar(&after.bin, "handler", "", "the handler binary to measure (scripts/bench.sh builds it)")
	fs.StringVar(&after.label, "label", "this tree", "its name in the tables")
	fs.Var(envFlag(after.env), "env", "KEY=VALUE added to its environment (GOGC=200, say); repeatable")
	fs.StringVar(&before.bin, "before", "", "a second handler binary, measured beside it (scripts/bench.sh -baseline REF builds one)")
	fs.StringVar(&before.label, "before-label", "before", "the second handler's name in the tables")
	fs.Var(envFlag(before.env), "before-env", "KEY=VALUE added to the second handler's environment; repeatable")
	quick := fs.Bool("quick", false, "small counts, for CI: about 25 s")
	fs.IntVar(&o.requests, "requests", 2000, "webhooks (and enqueues) per level and round [200]")
	fs.IntVar(&o.rounds, "rounds", 5, "interleaved rounds of every level [1]")
	levels := fs.String("concurrency", "4,16,64", "comma-separated concurrency levels")
	fs.IntVar(&o.coldStarts, "coldstarts", 20, "execs timed to ready, per handler [3]")
	fs.IntVar(&o.isolated, "isolated", 8, "webhook to mail: orders sent one at a time [2]")
	fs.DurationVar(&o.gap, "gap", 2500*time.Millisecond, "webhook to mail: pause after each isolated order's mail, so the queue polls back off [1s]")
	fs.IntVar(&o.orders, "orders", 200, "webhook to mail: orders in the steady stream [20]")
	fs.Float64Var(&o.rate, "rate", 20, "webhook to mail: orders per second in the stream [10]")
	fs.IntVar(&o.transactions, "transactions", 10, "paid orders whose storage transactions are counted; 0 skips [3]")
	fs.IntVar(&o.stageOrders, "stage-orders", 100, "orders through ProcessOrder and SendLink for the per-stage figures; 0 skips [10]")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Minute, "stop everything after this long [2m]")
	fs.StringVar(&o.out, "out", "", "also write the Markdown to this file")
	fs.StringVar(&o.command, "command", "scripts/bench.sh", "how the bench was run, for the report (scripts/bench.sh sets it)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary folder (every process's log, Azurite's data, the outbox)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, value := range map[string]string{"requests": "200", "rounds": "1", "coldstarts": "3", "isolated": "2", "gap": "1s",
			"orders": "20", "rate": "10", "transactions": "3", "stage-orders": "10", "timeout": "2m"} {
			if !set[name] {
				_ = fs.Set(name, value)
			}
		}
	}
	if after.bin == "" {
		return o, errors.New("-handler is required (scripts/bench.sh builds the handler and passes it)")
	}
	for _, v := range []variant{before, after} {
		if v.bin == "" {
			continue
		}
		abs, err := filepath.Abs(v.bin) // the children run in folders of their own
		if err != nil {
			return o, err
		}
		v.bin = abs
		o.variants = append(o.variants, v)
	}
	if len(o.variants) == 2 && o.variants[0].label == o.variants[1].label {
		return o, errors.New("-label and -before-label must differ")
	}
	for _, s := range strings.Split(*levels, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || c < 1 || c > 512 {
			return o, fmt.Errorf("-concurrency: %q is not a number from 1 to 512", s)
		}
		o.concurrency = append(o.concurrency, c)
	}
	switch {
	case o.requests < 10 || o.requests > 100_000:
		return o, errors.New("-requests must be from 10 to 100000")
	case o.rounds < 1 || o.rounds > 20, o.coldStarts < 1 || o.coldStarts > 200:
		return o, errors.New("-rounds must be from 1 to 20 and -coldstarts from 1 to 200")
	case o.isolated < 0 || o.isolated > 100, o.orders < 0 || o.orders > 10_000, o.rate <= 0 || o.rate > 200:
		return o, errors.New("-isolated must be from 0 to 100, -orders from 0 to 10000 and -rate above 0 and at most 200")
	case o.transactions < 0 || o.transactions > 100, o.stageOrders < 0 || o.stageOrders > 1000:
		return o, errors.New("-transactions must be from 0 to 100 and -stage-orders from 0 to 1000")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	work, err := os.MkdirTemp("", "filedrop-bench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintf(stderr, "bench: keeping %s\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	b, err := setUp(ctx, o, work, stderr)
	if b != nil {
		defer b.stop()
	}
	if err != nil {
		return err
	}
	rep := &report{opts: o, started: time.Now(), machine: readMachine()}
	for _, phase := range []func(context.Context, *report) error{b.webhookPhase, b.startPhase, b.mailPhase, b.transactionsPhase, b.stagePhase} {
		if err := phase(ctx, rep); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%w (stopped: %v)", err, context.Cause(ctx))
			}
			return err
		}
	}
	rep.elapsed = time.Since(rep.started)
	rep.machine.loadEnd = loadAverage()
	md := rep.markdown()
	fmt.Fprint(stdout, md)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(md), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "bench: wrote %s\n", o.out)
	}
	// Not a timing check: a request that failed or a mail that never came
	// means the pipeline is broken, and CI should say so.
	if n := rep.failures(); n > 0 {
		return fmt.Errorf("%d requests or mails failed (see Failures above)", n)
	}
	return nil
}
