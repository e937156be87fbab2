package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/app"
	"github.com/filedrop/filedrop/internal/functions"
)

// readyLine is the last line handler local prints once it serves.
const readyLine = "Press Ctrl-C to stop."

// runLocal runs the whole pipeline on this machine without Core Tools: the
// webhook on http://127.0.0.1:<port>/api/CheckoutComplete as func start
// serves it, and the queue functions driven by an emulation of the host.
func runLocal(ctx context.Context, env Env, args []string) error {
	fs := flags(env, "local", "local [--port 7071] [--hold 1m] [--now Reconcile]\n\nRuns the pipeline locally against the configured storage (Azurite by default):\nthe webhook as func start serves it, the queue functions with the host's semantics,\nand the timer functions (Reconcile) on their schedules (RECONCILE_SCHEDULE).")
	port := fs.Int("port", 7071, "port of the webhook endpoint on 127.0.0.1")
	hold := fs.Duration("hold", time.Minute, "how long a message stays invisible while its invocation runs (renewed); after a crash it reappears this much later")
	only := fs.String("functions", "", "comma-separated functions to run (as func start --functions); default all")
	now := fs.String("now", "", "run this timer function (Reconcile) once as soon as the handler serves, besides its schedule")
	if done, err := parse(fs, args); done {
		return err
	}
	cfg, fns, _, err := loadSettings(env, true)
	if err != nil {
		return describeConfigError(err)
	}
	runFns, err := selectFunctions(app.WithoutIdleFunctions(app.ResolveSchedules(fns, cfg), cfg), *only)
	if err != nil {
		return err
	}
	if f, ok := runFns.Functions[*now]; *now != "" && (!ok || f.Trigger != "timerTrigger") {
		return usageErr("--now: no timer function named %q (have %s)", *now, strings.Join(timerNames(runFns), ", "))
	}
	log := newLogger(cfg, env.Stderr)
	p, err := app.New(cfg, fns, log)
	if err != nil {
		return err
	}
	made, err := p.Setup(ctx)
	for _, line := range made { // nothing when scripts/run.sh's own setup made it all
		fmt.Fprintln(env.Stdout, line)
	}
	if err != nil {
		if cfg.Storage.Development() {
			return fmt.Errorf("%w\n(is Azurite running? scripts/azurite.sh start starts it; scripts/run.sh does everything)", err)
		}
		return err
	}
	own, _ := settingsGetter(env, false)
	// Demo mode is decided by what stands in, not by where stripe-mock
	// runs: no Stripe key is configured, so the demo's settings are used.
	demo := own != nil && DemoMode(own)
	opts := app.LocalOptions{Port: *port, Hold: *hold, Functions: runFns, RunNow: *now, Stderr: env.Stderr,
		OwnBaseURL: own != nil && own("PUBLIC_BASE_URL") == ""} // the order links point at this run's own port
	if demo {
		ds := demoStripe()
		opts.Demo = &ds
	}
	l, err := p.Local(opts)
	if err != nil {
		return err
	}
	if _, ok := runFns.Functions["CheckoutComplete"]; ok {
		fmt.Fprintf(env.Stdout, "CheckoutComplete: [POST] http://%s/api/CheckoutComplete\n", l.Addr)
	}
	if l.OrderPage {
		fmt.Fprintf(env.Stdout, "Download: [GET,POST] http://%s/api/download/{*rest}\n", l.Addr)
	}
	for _, fn := range runFns.QueueFunctions() {
		fmt.Fprintf(env.Stdout, "%s: queueTrigger on %s (poison: %s)\n", fn.Name, fn.Queue, fn.PoisonQueue())
	}
	for _, fn := range runFns.TimerFunctions() {
		fmt.Fprintf(env.Stdout, "%s: timerTrigger on %q (UTC)\n", fn.Name, fn.Schedule)
	}
	// The last line says the handler is ready; scripts/run.sh waits for it.
	if demo {
		fmt.Fprintf(env.Stdout, "Demo Stripe: http://%s%s (the demo order's charge and disputes; the rest from stripe-mock)\n", l.Addr, DemoStripePath)
	}
	fmt.Fprintf(env.Stdout, "Stripe mode: %s.\n%s\n", stripeMode(cfg.Stripe, demo), readyLine)
	return l.Run(ctx)
}

// selectFunctions keeps the named functions of fns (all when only is empty).
func selectFunctions(fns functions.App, only string) (functions.App, error) {
	if only == "" {
		return fns, nil
	}
	sel := fns
	sel.Functions = map[string]functions.Function{}
	for _, name := range strings.Split(only, ",") {
		name = strings.TrimSpace(name)
		f, ok := fns.Functions[name]
		if !ok {
			return fns, usageErr("--functions: no function named %q (have %s)", name, strings.Join(functionNames(fns), ", "))
		}
		sel.Functions[name] = f
	}
	return sel, nil
}

func timerNames(fns functions.App) []string {
	var names []string
	for _, f := range fns.TimerFunctions() {
		names = append(names, f.Name)
	}
	return names
}

func functionNames(fns functions.App) []string {
	var names []string
	for n := range fns.Functions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
