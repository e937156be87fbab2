// Command bench measures filedrop on this machine, on 127.0.0.1 only, with a
// bounded number of requests, and prints the results as Markdown:
//
//  1. the raw enqueue ceiling: base64 messages per second that the storage
//     adapter (the Azure SDK) gets into Azurite, per concurrency level;
//  2. the webhook: signed ~3 KB checkout.session.completed events to the
//     handler in serve mode (as the Functions host forwards them) and
//     through handler local's front, per concurrency level, and the ratio
//     to (1);
//  3. end to end: from the webhook to the mail's file in the outbox, for paid
//     orders, one at a time and as a steady stream;
//  4. cold start (exec to the first 200 on GET / in serve mode), resident
//     memory idle and under load, and the binary's size.
//
// It starts its own Azurite and stripe-mock (from .tools, which
// scripts/tools.sh fills) and the handler as child processes, in a temporary
// folder, and stops every one of them by PID when it ends, fails or is
// interrupted. scripts/bench.sh builds the handler and runs it.
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
	// The enqueue ceiling's client CPU is the SDK's own cost that the
	// webhook is compared with: it runs with the handler's serve-mode
	// GOMAXPROCS (1), so that both sides pay the same runtime. GOMAXPROCS
	// in the environment overrides it, for a comparison.
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

// options are the command line.
type options struct {
	root        string
	handler     string
	quick       bool
	requests    int
	enqueue     int
	concurrency []int
	// rounds is how many interleaved rounds of the enqueue ceiling and
	// the webhook each level gets.
	rounds     int
	isolated   int
	gap        time.Duration
	orders     int
	rate       float64
	coldStarts int
	// transactions is how many paid orders the storage transactions
	// phase counts (0: skip it).
	transactions int
	// stageOrders is how many orders the stage phase sends through
	// ProcessOrder and SendLink (0: skip it).
	stageOrders int
	// pageRequests is how many order page GETs, and as many download
	// POSTs, the page phase sends per concurrency level (0: skip it).
	pageRequests int
	ports        [3]int
	timeout      time.Duration
	out          string
	keep         bool
	// pprof, when set, is the folder for a CPU and allocation profile of
	// the handler in serve mode under webhook load at pprofConcurrency for
	// pprofSeconds.
	pprof            string
	pprofSeconds     int
	pprofConcurrency int
	// handlerEnv is added to the handler's environment (GOGC=200, say).
	handlerEnv map[string]string
	args       []string
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: scripts/bench.sh [flags]   (go run ./scripts/bench -handler BIN [flags])\n\n"+
			"Measures the enqueue ceiling, the webhook, end-to-end latency, cold start and memory\n"+
			"on 127.0.0.1 and prints Markdown tables. Full defaults in brackets, -quick ones after.\n\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.root, "root", ".", "repository root (demo/, .tools/, the event template)")
	fs.StringVar(&o.handler, "handler", "", "the handler binary to measure (scripts/bench.sh builds it)")
	fs.BoolVar(&o.quick, "quick", false, "small counts for CI: about 20 s here")
	fs.IntVar(&o.requests, "requests", 2000, "webhook requests per concurrency level (-quick: 200)")
	fs.IntVar(&o.enqueue, "enqueue", 0, "messages per concurrency level for the enqueue ceiling (default: -requests)")
	levels := fs.String("concurrency", "1,4,16,64", "comma-separated concurrency levels (-quick: 1,8)")
	fs.IntVar(&o.isolated, "isolated", 10, "end to end: orders sent one at a time (-quick: 2)")
	fs.DurationVar(&o.gap, "gap", 2500*time.Millisecond, "end to end: pause after each isolated order's mail, so the pollers idle")
	fs.IntVar(&o.orders, "orders", 300, "end to end: orders in the steady stream (-quick: 20)")
	fs.Float64Var(&o.rate, "rate", 20, "end to end: orders per second in the stream (-quick: 10)")
	fs.IntVar(&o.rounds, "rounds", 5, "interleaved rounds of the enqueue ceiling and the webhook per level; the targets pool every round's requests (-quick: 1)")
	fs.IntVar(&o.coldStarts, "coldstarts", 20, "cold starts to time (-quick: 5)")
	fs.IntVar(&o.transactions, "transactions", 20, "storage transactions: paid orders counted against an Azurite with --debug, 0 skips (-quick: 3)")
	fs.IntVar(&o.stageOrders, "stage-orders", 100, "CPU per stage: orders through ProcessOrder and SendLink, each alone in a handler local, 0 skips (-quick: 10)")
	fs.IntVar(&o.pageRequests, "page-requests", 400, "order page: GETs and download POSTs per concurrency level, 0 skips (-quick: 100)")
	ports := fs.String("azurite-ports", "0,0,0", "Azurite's blob,queue,table ports on 127.0.0.1; 0 lets the OS choose")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Minute, "stop everything after this long (-quick: 2m)")
	fs.StringVar(&o.out, "out", "", "also write the Markdown report to this file")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary folder (logs, Azurite data, outbox)")
	fs.StringVar(&o.pprof, "pprof", "", "profile the webhook (serve mode) into this folder: the handler runs with FILEDROP_PPROF on a loopback port")
	fs.IntVar(&o.pprofSeconds, "pprof-seconds", 10, "-pprof: seconds of CPU profile, under its own load after the measured levels")
	fs.IntVar(&o.pprofConcurrency, "pprof-concurrency", 16, "-pprof: concurrency of the profiled load")
	var handlerEnv []string
	fs.Func("handler-env", "KEY=VALUE added to the handler's environment, for a comparison (GOGC=200); repeatable", func(s string) error {
		if k, _, ok := strings.Cut(s, "="); !ok || k == "" {
			return fmt.Errorf("want KEY=VALUE, not %q", s)
		}
		handlerEnv = append(handlerEnv, s)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.quick {
		quick := map[string]func(){
			"requests":      func() { o.requests = 200 },
			"concurrency":   func() { *levels = "1,8" },
			"isolated":      func() { o.isolated = 2 },
			"orders":        func() { o.orders = 20 },
			"rate":          func() { o.rate = 10 },
			"coldstarts":    func() { o.coldStarts = 5 },
			"rounds":        func() { o.rounds = 1 },
			"transactions":  func() { o.transactions = 3 },
			"page-requests": func() { o.pageRequests = 100 },
			"stage-orders":  func() { o.stageOrders = 10 },
			"timeout":       func() { o.timeout = 2 * time.Minute },
		}
		for name, apply := range quick {
			if !set[name] {
				apply()
			}
		}
	}
	o.handlerEnv = map[string]string{}
	for _, kv := range handlerEnv {
		k, v, _ := strings.Cut(kv, "=")
		o.handlerEnv[k] = v
	}
	if o.enqueue == 0 {
		o.enqueue = o.requests
	}
	if o.handler == "" {
		return o, errors.New("-handler is required (scripts/bench.sh builds the handler and passes it)")
	}
	// The children run in their own folders.
	var err error
	if o.handler, err = filepath.Abs(o.handler); err != nil {
		return o, err
	}
	for _, s := range strings.Split(*levels, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || c < 1 || c > 512 {
			return o, fmt.Errorf("-concurrency: %q is not a number from 1 to 512", s)
		}
		o.concurrency = append(o.concurrency, c)
	}
	ps := strings.Split(*ports, ",")
	if len(ps) != 3 {
		return o, fmt.Errorf("-azurite-ports: want blob,queue,table, not %q", *ports)
	}
	for i, s := range ps {
		p, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || p < 0 || p > 65535 {
			return o, fmt.Errorf("-azurite-ports: %q is not a port", s)
		}
		o.ports[i] = p
	}
	switch {
	case o.requests < 1 || o.requests > 1_000_000, o.enqueue < 1 || o.enqueue > 1_000_000:
		return o, errors.New("-requests and -enqueue must be from 1 to 1000000")
	case o.isolated < 0 || o.isolated > 1000, o.orders < 0 || o.orders > 100_000:
		return o, errors.New("-isolated must be from 0 to 1000 and -orders from 0 to 100000")
	case o.rate <= 0 || o.rate > 1000:
		return o, errors.New("-rate must be above 0 and at most 1000 orders/s")
	case o.transactions < 0 || o.transactions > 1000:
		return o, errors.New("-transactions must be from 0 to 1000")
	case o.stageOrders < 0 || o.stageOrders > 10_000:
		return o, errors.New("-stage-orders must be from 0 to 10000")
	case o.pageRequests < 0 || o.pageRequests > 10_000:
		return o, errors.New("-page-requests must be from 0 to 10000")
	case o.rounds < 1 || o.rounds > 20:
		return o, errors.New("-rounds must be from 1 to 20")
	case o.coldStarts < 1 || o.coldStarts > 1000:
		return o, errors.New("-coldstarts must be from 1 to 1000")
	case o.pprofSeconds < 1 || o.pprofSeconds > 300, o.pprofConcurrency < 1 || o.pprofConcurrency > 512:
		return o, errors.New("-pprof-seconds must be from 1 to 300 and -pprof-concurrency from 1 to 512")
	}
	if o.pprof != "" {
		if o.pprof, err = filepath.Abs(o.pprof); err != nil {
			return o, err
		}
	}
	// The report names the command without the wrapper's own -handler.
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-handler" || a == "--handler":
			i++
		case strings.HasPrefix(a, "-handler=") || strings.HasPrefix(a, "--handler="):
		default:
			o.args = append(o.args, a)
		}
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
	cs := &children{}
	defer cs.stopAll()
	rep, err := measure(ctx, o, work, cs, stderr)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w (stopped: %v)", err, context.Cause(ctx))
		}
		return err
	}
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
		return fmt.Errorf("%d requests or mails failed (see First errors above)", n)
	}
	return nil
}

// abs returns path under the repository root, absolute.
func (o options) abs(path ...string) string {
	p := filepath.Join(append([]string{o.root}, path...)...)
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
