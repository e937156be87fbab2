package cli

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/functions/hostemu"
	"github.com/filedrop/filedrop/internal/stripeapi/demostripe"
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
	cfg, app, _, err := loadSettings(env, true)
	if err != nil {
		return describeConfigError(err)
	}
	runApp, err := selectFunctions(withSchedules(app, cfg), *only)
	if err != nil {
		return err
	}
	if f, ok := runApp.Functions[*now]; *now != "" && (!ok || f.Trigger != "timerTrigger") {
		return usageErr("--now: no timer function named %q (have %s)", *now, strings.Join(timerNames(runApp), ", "))
	}
	log := newLogger(cfg, env.Stderr)
	p, err := newPipeline(cfg, app, log)
	if err != nil {
		return err
	}
	made, err := p.setup(ctx)
	for _, line := range made { // nothing when scripts/run.sh's own setup made it all
		fmt.Fprintln(env.Stdout, line)
	}
	if err != nil {
		if cfg.Storage.Development() {
			return fmt.Errorf("%w\n(is Azurite running? scripts/azurite.sh start starts it; scripts/run.sh does everything)", err)
		}
		return err
	}
	handlerLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	frontLn, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		handlerLn.Close()
		return fmt.Errorf("listen on 127.0.0.1:%d (is func start or another handler local running?): %w", *port, err)
	}
	own, _ := settingsGetter(env, false)
	if own != nil && own("PUBLIC_BASE_URL") == "" {
		// The order links point at this run's own port.
		p.cfg.Download.PublicBaseURL = "http://" + frontLn.Addr().String()
	}
	// Demo mode is decided by what stands in, not by where stripe-mock
	// runs: no Stripe key is configured, so the demo's settings are used.
	demo := own != nil && DemoMode(own)
	var demoStripe http.Handler
	if demo {
		ds, err := demostripe.New(cfg.Stripe.APIURL, demoCharge(), time.Now)
		if err != nil {
			handlerLn.Close()
			frontLn.Close()
			return err
		}
		demoStripe = http.StripPrefix(DemoStripePath, ds)
		p.cfg.Stripe.APIURL = "http://" + frontLn.Addr().String() + DemoStripePath
	}
	h, err := p.handler(env.Stderr)
	if err != nil {
		handlerLn.Close()
		frontLn.Close()
		return err
	}
	emu := &hostemu.Emulator{
		App:     runApp,
		Queues:  p.queues,
		Handler: "http://" + handlerLn.Addr().String(),
		Client:  &http.Client{},
		Log:     log.With("component", "host-emulator"),
		Hold:    *hold,
	}
	front, err := emu.Front()
	if err != nil {
		handlerLn.Close()
		frontLn.Close()
		return err
	}
	if demoStripe != nil {
		front = withDemoStripe(front, demoStripe)
	}
	if _, ok := runApp.Functions[fnCheckoutComplete]; ok {
		fmt.Fprintf(env.Stdout, "CheckoutComplete: [POST] http://%s/api/CheckoutComplete\n", frontLn.Addr())
	}
	if _, ok := runApp.Functions[fnDownload]; ok && p.cfg.Download.PublicBaseURL != "" {
		fmt.Fprintf(env.Stdout, "Download: [GET,POST] http://%s/api/download/{*rest}\n", frontLn.Addr())
	}
	for _, fn := range runApp.QueueFunctions() {
		fmt.Fprintf(env.Stdout, "%s: queueTrigger on %s (poison: %s)\n", fn.Name, fn.Queue, fn.PoisonQueue())
	}
	for _, fn := range runApp.TimerFunctions() {
		fmt.Fprintf(env.Stdout, "%s: timerTrigger on %q (UTC)\n", fn.Name, fn.Schedule)
	}
	// The last line says the handler is ready; scripts/run.sh waits for it.
	if demoStripe != nil {
		fmt.Fprintf(env.Stdout, "Demo Stripe: http://%s%s (the demo order's charge and disputes; the rest from stripe-mock)\n", frontLn.Addr(), DemoStripePath)
	}
	fmt.Fprintf(env.Stdout, "Stripe mode: %s.\n%s\n", stripeMode(cfg.Stripe, demo), readyLine)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return serveHTTP(gctx, handlerLn, h, log, hostLimits()) })
	g.Go(func() error { return serveHTTP(gctx, frontLn, front, log, hostLimits()) })
	g.Go(func() error { return emu.Run(gctx) })
	if *now != "" {
		g.Go(func() error {
			if err := waitServing(gctx, emu.Handler); err != nil {
				return nil // stopping
			}
			if err := emu.RunNow(gctx, *now); err != nil {
				log.Warn("--now run failed", "function", *now, "err", err)
			}
			return nil
		})
	}
	return g.Wait()
}

// withDemoStripe serves the demo Stripe (demo mode) beside the host's
// routes: under DemoStripePath, where simulate refund and simulate dispute
// find it from the webhook's address.
func withDemoStripe(front, demoStripe http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, DemoStripePath+"/") {
			demoStripe.ServeHTTP(w, r)
			return
		}
		front.ServeHTTP(w, r)
	})
}

// selectFunctions keeps the named functions of app (all when only is empty).
func selectFunctions(app functions.App, only string) (functions.App, error) {
	if only == "" {
		return app, nil
	}
	sel := app
	sel.Functions = map[string]functions.Function{}
	for _, name := range strings.Split(only, ",") {
		name = strings.TrimSpace(name)
		f, ok := app.Functions[name]
		if !ok {
			return app, usageErr("--functions: no function named %q (have %s)", name, strings.Join(functionNames(app), ", "))
		}
		sel.Functions[name] = f
	}
	return sel, nil
}

func timerNames(app functions.App) []string {
	var names []string
	for _, f := range app.TimerFunctions() {
		names = append(names, f.Name)
	}
	return names
}

// waitServing polls the handler's readiness route, as the host does, for
// up to 30 s.
func waitServing(ctx context.Context, base string) error {
	for range 300 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("the handler at %s did not answer", base)
}

func functionNames(app functions.App) []string {
	var names []string
	for n := range app.Functions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
