package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/filedrop/filedrop"
	"github.com/filedrop/filedrop/internal/cli"
	"github.com/filedrop/filedrop/internal/config"
	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/storage"
)

// report is everything one run measured.
type report struct {
	opts    options
	started time.Time
	elapsed time.Duration
	machine machine
	binary  binary

	enqueue []level
	webhook []webhookRun
	e2e     []e2e
	cold    coldStart
	// eventBytes is the size of a webhook event.
	eventBytes int
	// localIdleRSS is handler local's resident set before any load, in kB.
	localIdleRSS int64
	// transactions is what the storage transactions phase counted.
	transactions *transactions
	// pages is the order page phase's GET and POST loads.
	pages []pageRun
	// profile is what -pprof saved; nil without it.
	profile *profiled
	// stages is the CPU per order of each queue stage; nil when skipped.
	stages *stageCPU
	// rounds are the interleaved rounds of the enqueue ceiling and the
	// webhook in serve mode, per concurrency level: rounds[i][r].
	rounds [][]pair
}

// pair is one round of one concurrency level: the enqueue ceiling and the
// webhook (serve mode), measured one right after the other.
type pair struct {
	ceiling, webhook level
}

// bench is one run: the processes it started and what they need.
type bench struct {
	o        options
	cs       *children
	step     func(format string, args ...any)
	logs     string // the children's output
	app      string // the handler's working folder: no local.settings.json
	outbox   string
	ev       events
	az       *azurite
	mock     *child
	settings map[string]string
	// queues is the account's queue service; processOrder is ProcessOrder's
	// queue, named by its function.json.
	queues       *storage.Queues
	processOrder *storage.Queue
}

// measure starts the services, runs every phase and returns what they
// measured.
func measure(ctx context.Context, o options, work string, cs *children, progress io.Writer) (*report, error) {
	b := &bench{o: o, cs: cs, logs: filepath.Join(work, "logs"), app: filepath.Join(work, "app"), outbox: filepath.Join(work, "outbox"),
		step: func(format string, args ...any) { fmt.Fprintf(progress, "bench: "+format+"\n", args...) }}
	rep := &report{opts: o, started: time.Now(), machine: readMachine(o)}
	var err error
	if rep.binary, err = readBinary(o.handler); err != nil {
		return nil, err
	}
	if err := b.setUp(ctx, work); err != nil {
		return nil, err
	}
	rep.eventBytes = len(b.ev.template)
	for _, phase := range []func(context.Context, *report) error{b.webhookPhase, b.e2ePhase, b.coldStartPhase, b.transactionsPhase, b.stagePhase, b.pagePhase} {
		if err := phase(ctx, rep); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	rep.machine.loadEnd = loadAverage()
	rep.elapsed = time.Since(rep.started)
	b.step("done in %s", rep.elapsed.Round(time.Second))
	return rep, nil
}

// setUp starts Azurite and stripe-mock and runs handler setup.
func (b *bench) setUp(ctx context.Context, work string) error {
	for _, d := range []string{b.logs, b.app, b.outbox, filepath.Join(work, "azurite")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	var err error
	b.ev, err = loadEvents(b.o.abs("internal", "checkoutcomplete", "testdata", "checkout_session_completed.json"), cli.DemoWebhookSecret)
	if err != nil {
		return err
	}
	b.step("starting Azurite and stripe-mock on 127.0.0.1")
	b.az, err = b.cs.startAzurite(ctx, b.o.abs(".tools", "node_modules", ".bin", "azurite"), filepath.Join(work, "azurite"),
		filepath.Join(b.logs, "azurite.log"), b.o.ports)
	if err != nil {
		return fmt.Errorf("%w (scripts/tools.sh installs Azurite)", err)
	}
	mockURL, mock, err := b.cs.startStripeMock(ctx, b.o.abs(".tools", "bin", "stripe-mock"), b.o.abs("demo", "stripe-fixtures.json"),
		work, filepath.Join(b.logs, "stripe-mock.log"))
	if err != nil {
		return err
	}
	b.mock = mock
	b.settings = map[string]string{
		"AzureWebJobsStorage":   b.az.connString,
		"STRIPE_API_KEY":        cli.DemoStripeKey,
		"STRIPE_API_URL":        mockURL,
		"STRIPE_WEBHOOK_SECRET": cli.DemoWebhookSecret,
		"EMAIL_OUTBOX_DIR":      b.outbox,
		"EMAIL_SENDER":          "shop@filedrop.localhost",
		"SHOP_NAME":             "filedrop bench shop",
		"LOG_LEVEL":             "info",
		// The mail links each file (the phases before the order page's
		// measure that); the order page phase turns the page on.
		"DOWNLOAD_LINKS": "direct",
	}
	for k, v := range b.o.handlerEnv {
		b.settings[k] = v
	}
	b.step("handler setup --originals demo/originals")
	if err := b.cs.runToEnd(ctx, "handler setup", b.app, filepath.Join(b.logs, "setup.log"), childEnv(b.settings), 60*time.Second,
		b.o.handler, "setup", "--originals", b.o.abs("demo", "originals")); err != nil {
		return err
	}
	b.queues, b.processOrder, err = openQueues(b.az.connString)
	return err
}

// webhookPhase measures the enqueue ceiling and the webhook of the
// handler in serve mode (as the Functions host forwards to it) in
// interleaved rounds: in each round every concurrency level runs the
// ceiling and the webhook one right after the other (which goes first
// alternates), so that a neighbour's burst or Azurite's drift hits both
// sides of a ratio alike. Both queues are emptied after every level:
// Azurite's dequeue scans every message of the account, and a growing
// queue is not what either side should be measured against. Then it loads
// the webhook through handler local's front, once per level.
func (b *bench) webhookPhase(ctx context.Context, rep *report) error {
	b.step("1/3 enqueue ceiling and webhook (serve mode): %d rounds of %d messages and %d signed events per level, concurrency %v",
		b.o.rounds, b.o.enqueue, b.o.requests, b.o.concurrency)
	const name = "bench-enqueue"
	if _, err := b.queues.Create(ctx, name); err != nil {
		return err
	}
	q := b.queues.Queue(name)
	settings, pprofBase := b.settings, ""
	if b.o.pprof != "" {
		settings = map[string]string{"FILEDROP_PPROF": "127.0.0.1:0"}
		for k, v := range b.settings {
			settings[k] = v
		}
	}
	serve, endpoint, err := startServe(ctx, b.cs, b.o.handler, b.app, filepath.Join(b.logs, "serve-webhook.log"), settings)
	if err != nil {
		return err
	}
	target, err := url.Parse(endpoint)
	if err != nil {
		b.cs.stop(serve, 10*time.Second)
		return err
	}
	if b.o.pprof != "" {
		addr, err := serve.listening(ctx, pprofListenRE, 10*time.Second)
		if err != nil {
			b.cs.stop(serve, 10*time.Second)
			return err
		}
		pprofBase = "http://" + addr
	}
	pids := map[string]int{"handler": serve.pid(), "azurite": b.az.pid(), "bench": os.Getpid()}
	warmUp(ctx, b.o.enqueue, enqueueSender(q, "warm"))
	warmWebhook(ctx, target, b.ev, b.o.requests)
	clear := func() error {
		if err := q.Clear(ctx); err != nil {
			return err
		}
		return b.processOrder.Clear(ctx)
	}
	if err := clear(); err != nil {
		return err
	}
	rep.rounds = make([][]pair, len(b.o.concurrency))
	for r := range b.o.rounds {
		for i, c := range b.o.concurrency {
			tag := fmt.Sprintf("r%dc%d", r, c)
			var p pair
			ceiling := func() {
				p.ceiling = enqueueLevel(ctx, q, b.o.enqueue, c, tag, map[string]int{"azurite": b.az.pid(), "bench": os.Getpid()})
			}
			webhook := func() { p.webhook = webhookLevel(ctx, target, b.ev, b.o.requests, c, tag, pids) }
			if (r+i)%2 == 0 {
				ceiling()
				webhook()
			} else {
				webhook()
				ceiling()
			}
			rep.rounds[i] = append(rep.rounds[i], p)
			if err := clear(); err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	serveRun := webhookRun{Name: "handler (serve mode), as the Functions host forwards to it"}
	for _, rounds := range rep.rounds {
		var ceilings, webhooks []level
		for _, p := range rounds {
			ceilings, webhooks = append(ceilings, p.ceiling), append(webhooks, p.webhook)
		}
		rep.enqueue = append(rep.enqueue, merge(ceilings))
		serveRun.Levels = append(serveRun.Levels, merge(webhooks))
	}
	rep.webhook = append(rep.webhook, serveRun)
	if pprofBase != "" {
		b.step("1/3 profiling the webhook for %d s at concurrency %d into %s", b.o.pprofSeconds, b.o.pprofConcurrency, b.o.pprof)
		p, err := profileWebhook(ctx, serve.pid(), pprofBase, target, b.ev, b.o.pprofConcurrency, b.o.pprofSeconds, b.o.pprof)
		if err != nil {
			b.cs.stop(serve, 10*time.Second)
			return err
		}
		rep.profile = &p
	}
	b.cs.stop(serve, 10*time.Second)
	if err := b.processOrder.Clear(ctx); err != nil {
		return err
	}
	local, endpoint, err := startLocal(ctx, b.cs, b.o.handler, b.app, filepath.Join(b.logs, "local-webhook.log"), b.settings, "CheckoutComplete")
	if err != nil {
		return err
	}
	if target, err = url.Parse(endpoint); err != nil {
		b.cs.stop(local, 10*time.Second)
		return err
	}
	sleepCtx(ctx, time.Second)
	b.step("1/3 webhook through handler local: %d signed events per level", b.o.requests)
	rep.localIdleRSS, _ = procStatus(local.pid(), "VmRSS")
	rep.webhook = append(rep.webhook, webhookRun{Name: "handler local --functions CheckoutComplete, through the host emulator's front",
		Levels: webhookLoad(ctx, target, b.ev, b.o.requests, b.o.concurrency,
			map[string]int{"handler": local.pid(), "azurite": b.az.pid(), "bench": os.Getpid()})})
	b.cs.stop(local, 10*time.Second)
	return b.processOrder.Clear(ctx)
}

// e2ePhase runs paid orders through the whole pipeline in handler local.
func (b *bench) e2ePhase(ctx context.Context, rep *report) error {
	b.step("2/3 end to end: %d orders one at a time, then %d at %.0f/s, through handler local", b.o.isolated, b.o.orders, b.o.rate)
	local, url, err := startLocal(ctx, b.cs, b.o.handler, b.app, filepath.Join(b.logs, "local-e2e.log"), b.settings, "")
	if err != nil {
		return err
	}
	defer b.cs.stop(local, 10*time.Second)
	tag := fmt.Sprintf("%x", time.Now().Unix())
	if b.o.isolated > 0 {
		rep.e2e = append(rep.e2e, isolated(ctx, url, b.outbox, tag, b.ev, b.o.isolated, b.o.gap, 30*time.Second))
	}
	if b.o.orders > 0 {
		pids := map[string]int{"handler": local.pid(), "azurite": b.az.pid(), "stripe-mock": b.mock.pid(), "bench": os.Getpid()}
		rss := sampleRSS(local.pid())
		var s e2e
		cpu := measureCPU(pids, func() time.Duration {
			s = stream(ctx, url, b.outbox, tag, b.ev, b.o.orders, b.o.rate, 30*time.Second)
			return s.Elapsed
		})
		s.CPU, s.PeakRSS = cpu, rss.end()
		rep.e2e = append(rep.e2e, s)
	}
	return nil
}

// coldStartPhase times the handler's start in serve mode.
func (b *bench) coldStartPhase(ctx context.Context, rep *report) error {
	b.step("3/3 cold start: %d execs of the handler in serve mode", b.o.coldStarts)
	var err error
	rep.cold, err = coldStarts(ctx, b.cs, b.o.handler, b.app, filepath.Join(b.logs, "serve.log"), b.settings, b.o.coldStarts)
	return err
}

// openQueues returns the account's queues and the ProcessOrder queue, named
// by its function.json.
func openQueues(connString string) (*storage.Queues, *storage.Queue, error) {
	st, problem := config.ParseConnectionString(connString)
	if problem != "" {
		return nil, nil, fmt.Errorf("connection string: %s", problem)
	}
	acct, err := storage.NewAccount(storage.Options{AccountName: st.AccountName, AccountKey: st.AccountKey,
		BlobURL: st.BlobURL, QueueURL: st.QueueURL, TableURL: st.TableURL})
	if err != nil {
		return nil, nil, err
	}
	queues, err := storage.NewQueues(acct)
	if err != nil {
		return nil, nil, err
	}
	app, err := functions.LoadApp(filedrop.AppFiles, func(string) string { return "" })
	if err != nil {
		return nil, nil, err
	}
	name, err := app.QueueOf("ProcessOrder")
	if err != nil {
		return nil, nil, err
	}
	return queues, queues.Queue(name), nil
}

// webhookRun is the webhook phase against one way of running the handler.
type webhookRun struct {
	Name   string
	Levels []level
}

// startServe starts the handler in serve mode, as the Functions host does,
// and returns it with the webhook's URL once GET / answers.
func startServe(ctx context.Context, cs *children, bin, dir, logPath string, settings map[string]string) (*child, string, error) {
	env := map[string]string{"FUNCTIONS_CUSTOMHANDLER_PORT": "0"}
	for k, v := range settings {
		env[k] = v
	}
	c, err := cs.start("handler (serve mode)", dir, logPath, childEnv(env), bin)
	if err != nil {
		return nil, "", err
	}
	addr, err := c.listening(ctx, serveListenRE, 30*time.Second)
	if err != nil {
		cs.stop(c, 5*time.Second)
		return nil, "", err
	}
	base := "http://" + addr
	if err := waitHTTP(ctx, c, base+"/", 30*time.Second); err != nil {
		cs.stop(c, 5*time.Second)
		return nil, "", err
	}
	return c, base + "/api/CheckoutComplete", nil
}

// startLocal starts handler local on a port the OS chooses (only the named
// functions when only is set) and returns it with the webhook's URL once it
// answers.
func startLocal(ctx context.Context, cs *children, bin, dir, logPath string, settings map[string]string, only string) (*child, string, error) {
	args := []string{"local", "--port", "0"}
	if only != "" {
		args = append(args, "--functions", only)
	}
	c, err := cs.start("handler local", dir, logPath, childEnv(settings), bin, args...)
	if err != nil {
		return nil, "", err
	}
	addr, err := c.listening(ctx, localListenRE, 60*time.Second)
	if err != nil {
		cs.stop(c, 5*time.Second)
		return nil, "", err
	}
	base := "http://" + addr
	if err := waitHTTP(ctx, c, base+"/", 30*time.Second); err != nil {
		cs.stop(c, 5*time.Second)
		return nil, "", err
	}
	return c, base + "/api/CheckoutComplete", nil
}

// runToEnd runs a command to its end, within limit, and fails unless it
// exits 0.
func (cs *children) runToEnd(ctx context.Context, name, dir, logPath string, env []string, limit time.Duration, bin string, args ...string) error {
	c, err := cs.start(name, dir, logPath, env, bin, args...)
	if err != nil {
		return err
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-c.done:
	case <-ctx.Done():
	case <-t.C:
	}
	if !c.exited() {
		cs.stop(c, 5*time.Second)
		return fmt.Errorf("%s did not finish within %s: %s", name, limit, c.tail(20))
	}
	cs.stop(c, 0)
	if c.err != nil {
		return fmt.Errorf("%s: %v: %s", name, c.err, c.tail(20))
	}
	return nil
}
