package faulttest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/filedrop/filedrop"
	"github.com/filedrop/filedrop/internal/config"
	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/storage"
	"github.com/filedrop/filedrop/internal/storage/ledger"
	"github.com/filedrop/filedrop/internal/testenv"
)

var (
	flagOrders    = flag.Int("fault.orders", 0, "paid orders of the (first) phase, plus a tenth as many unpaid and failed ones each; 0 skips the fault test")
	flagKills     = flag.Int("fault.kills", -1, "SIGKILLs of the handler per phase (-1: 2, in burst mode 0)")
	flagMode      = flag.String("fault.mode", "all", "all (an outbox phase and, beside it, a short ACS phase with at most one kill), outbox, acs, burst or outage")
	flagACSOrders = flag.Int("fault.acs-orders", 40, "paid orders of the ACS phase in mode all")
	flagRate      = flag.Int("fault.rate", 0, "sends per minute the fake ACS accepts (0: 60, in burst mode 30)")
	flagWindow    = flag.Duration("fault.window", 0, "the sliding window the rate is enforced over (0: 10s, in burst mode 1m)")
	flagAzurite   = flag.Int("fault.azurite-restarts", -1, "Azurite restarts per phase (-1: 1, in burst mode and the ACS phase of mode all 0)")
	flagSeed      = flag.Uint64("fault.seed", 0, "random seed (0: from the clock; the run prints it)")
	flagTimeout   = flag.Duration("fault.timeout", 0, "how long the pipeline may take to settle after the traffic and the faults end (0: by mode and size)")
	flagBusy      = flag.Bool("fault.busy", false, "keep every core busy with a second process for the whole run (Azurite, standing in for the remote storage service, at a higher priority)")
	flagLogs      = flag.String("fault.logs", "", "an empty or missing folder for the handler logs, the outbox and the report (default: a temporary folder)")
)

// hold is handler local's --hold: how soon a killed invocation's message
// is delivered again.
const hold = 5 * time.Second

// maxCatch bounds how long a kill waits for the handler to walk into a trap.
const maxCatch = 15 * time.Second

// maxTraffic is how long the webhook deliveries may go on after the last
// one planned.
const maxTraffic = 10 * time.Minute

// phase is one run of the pipeline against a fresh Azurite.
type phase struct {
	name      string
	shape     planShape
	transport string // "outbox" or "acs"
	kills     int
	restarts  int // Azurite restarts
	acs       acsFaults
	// stripe500 and stripe429 are the shares of Stripe API requests that
	// fail.
	stripe500, stripe429 float64
	settle               time.Duration
	burst                bool // report and check the drain rate
	// outage: dependencies down for long, webhooks never delivered, and
	// the handler's back-off compressed in time (mode outage).
	outage *outage
}

func TestFault(t *testing.T) {
	if *flagOrders <= 0 {
		t.Skip("the fault test runs with -fault.orders N (scripts/fault.sh)")
	}
	phases, err := phasesFromFlags()
	if err != nil {
		t.Fatal(err)
	}
	seed := *flagSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	logs := *flagLogs
	if logs == "" {
		logs = t.TempDir()
	}
	fmt.Printf("fault test: mode %s, seed %d (-fault.seed %d repeats the plan), logs in %s\n", *flagMode, seed, seed, logs)
	bin := buildHandler(t, t.TempDir())
	if *flagBusy {
		startBusy(t)
	}
	for i, ph := range phases {
		t.Run(ph.name, func(t *testing.T) {
			if len(phases) > 1 {
				t.Parallel() // each phase has its own Azurite, fakes and handler
			}
			runPhase(t, bin, ph, seed+uint64(i), filepath.Join(logs, ph.name))
		})
	}
}

// phasesFromFlags turns the flags into the phases to run.
func phasesFromFlags() ([]phase, error) {
	n := *flagOrders
	or := func(v, def int) int {
		if v < 0 {
			return def
		}
		return v
	}
	rate := func(def int, window time.Duration) acsFaults {
		r, w := *flagRate, *flagWindow
		if r <= 0 {
			r = def
		}
		if w <= 0 {
			w = window
		}
		limit := max(1, int(float64(r)*w.Seconds()/60+0.5))
		return acsFaults{limit: limit, window: w}
	}
	outbox := func(n int) phase {
		return phase{name: "outbox", shape: shape("outbox", n, clamp(time.Duration(n)*250*time.Millisecond, 20*time.Second, 2*time.Minute)),
			transport: "outbox", kills: or(*flagKills, 2), restarts: or(*flagAzurite, 1),
			stripe500: 0.03, stripe429: 0.02, settle: settleTimeout(4*time.Minute + time.Duration(n)*100*time.Millisecond)}
	}
	acs := func(n, kills, restarts int) phase {
		f := rate(60, 10*time.Second)
		f.fail500, f.accept500, f.throttle429 = 0.10, 0.05, 0.05
		return phase{name: "acs", shape: shape("acs", n, clamp(time.Duration(n)*250*time.Millisecond, 10*time.Second, 2*time.Minute)),
			transport: "acs", kills: kills, restarts: restarts, acs: f,
			stripe500: 0.03, stripe429: 0.02, settle: settleTimeout(4*time.Minute + mailTime(n, f))}
	}
	switch *flagMode {
	case "all":
		return []phase{outbox(n), acs(*flagACSOrders, min(or(*flagKills, 2), 1), or(*flagAzurite, 0))}, nil
	case "outbox":
		return []phase{outbox(n)}, nil
	case "acs":
		return []phase{acs(n, or(*flagKills, 2), or(*flagAzurite, 1))}, nil
	case "burst":
		f := rate(30, time.Minute)
		sh := shape("burst", n, clamp(time.Duration(n)*20*time.Millisecond, 5*time.Second, 30*time.Second))
		sh.delayed, sh.unpaid, sh.failed, sh.refunds = 0, 0, 0, 0
		return []phase{{name: "burst", shape: sh, transport: "acs", kills: or(*flagKills, 0), restarts: or(*flagAzurite, 0),
			acs: f, burst: true, settle: settleTimeout(4*time.Minute + mailTime(n, f))}}, nil
	case "outage":
		return []phase{outagePhase(n, or(*flagKills, 0), or(*flagAzurite, 0))}, nil
	}
	return nil, fmt.Errorf("-fault.mode %q: want all, outbox, acs, burst or outage", *flagMode)
}

// shape is the default mix for n paid orders: a fifth of them with a
// delayed payment, a tenth as many unpaid and failed sessions each, a tenth
// of them refunded in full, 30% of the events delivered twice.
func shape(prefix string, n int, spread time.Duration) planShape {
	return planShape{prefix: prefix, paid: n, delayed: n / 5, unpaid: max(1, n/10), failed: max(1, n/10),
		dupRate: 0.3, asyncFirst: 0.4, spread: spread, lateDupMax: 15 * time.Second, maxGap: 3 * time.Second,
		productsInStock: 6, refunds: 0.1}
}

// mailTime is how long the rate limit takes to let n mails through.
func mailTime(n int, f acsFaults) time.Duration {
	if f.limit <= 0 {
		return 0
	}
	return time.Duration(n/f.limit+1) * f.window
}

func settleTimeout(def time.Duration) time.Duration {
	if *flagTimeout > 0 {
		return *flagTimeout
	}
	return def
}

func clamp(d, lo, hi time.Duration) time.Duration { return min(max(d, lo), hi) }

// rig is one phase's world: Azurite, the fakes, the handler and a view of
// the ledger and the queues.
type rig struct {
	ph      phase
	plan    *plan
	az      *testenv.Azurite
	stripe  *stripeFake
	acs     *acsFake // nil with the outbox
	outbox  string
	handler *handlerProc
	webhook string
	probe   *downloadProbe // presses the refunded orders' download buttons
	proxy   *storageProxy  // mode outage: storage as the handler sees it
	events  *eventSink     // the seller's receiver of the order events

	ledger *ledger.Ledger
	queues *storage.Queues
	// work are the queue functions' queues, poison their poison queues.
	work, poison []string
}

func runPhase(t *testing.T, bin string, ph phase, seed uint64, logs string) {
	rng := rand.New(rand.NewPCG(seed, 1))
	p := newPlan(ph.shape, rng)
	r := newRig(t, bin, ph, p, seed, logs)
	fmt.Printf("\n== phase %s: %d paid (%d with a delayed payment), %d unpaid, %d failed sessions; %d webhook deliveries; "+
		"%d kills, %d Azurite restarts; mail through %s\n",
		ph.name, p.count(kindPaid), ph.shape.delayed, p.count(kindUnpaid), p.count(kindFailed), p.deliveries(),
		ph.kills, ph.restarts, r.transportName())

	ctx := context.Background()
	// Stripe retries for days; the test gives its deliveries until well
	// after the last planned one, and reports those it gave up on.
	trafficCtx, cancel := context.WithTimeout(ctx, ph.shape.spread+ph.shape.lateDupMax+maxTraffic)
	tr := newTraffic(r.webhook, p, r.stripe)
	r.startRefunds(t, tr)
	trafficDone := make(chan struct{})
	start := time.Now()
	r.begin(start)
	go func() { defer close(trafficDone); tr.run(trafficCtx) }()
	t.Cleanup(func() { cancel(); <-trafficDone })

	faults := r.chaos(t, start, rng)
	<-trafficDone
	fmt.Printf("[%s] traffic done after %s: %d/%d deliveries accepted in %d attempts\n",
		ph.name, since(start), tr.accepted.Load(), p.deliveries(), tr.attempts.Load())
	settled := r.settle(ctx, start)
	r.finishRefunds(ctx)
	r.handler.stop()
	rep := r.verify(ctx, tr, faults, settled, time.Since(start))
	rep.print(os.Stdout)
	if err := os.WriteFile(filepath.Join(logs, "report.txt"), []byte(rep.String()), 0o644); err != nil {
		t.Error(err)
	}
	for _, m := range rep.mismatches() {
		t.Errorf("mismatch: %s", m)
	}
	if t.Failed() {
		fmt.Printf("[%s] handler log: %s\n", ph.name, filepath.Join(logs, "handler.log"))
	}
}

func newRig(t *testing.T, bin string, ph phase, p *plan, seed uint64, logs string) *rig {
	if entries, err := os.ReadDir(logs); err == nil && len(entries) > 0 {
		t.Fatalf("%s is not empty: give -fault.logs an empty or missing folder", logs)
	}
	if err := os.MkdirAll(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	r := &rig{ph: ph, plan: p, az: testenv.StartAzurite(t)}
	if *flagBusy {
		favourStorage(r.az.PID())
	}
	app, err := functions.LoadApp(filedrop.AppFiles, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range app.QueueFunctions() {
		r.work, r.poison = append(r.work, fn.Queue), append(r.poison, fn.PoisonQueue())
	}
	acct := r.az.Account(t)
	if r.queues, err = storage.NewQueues(acct); err != nil {
		t.Fatal(err)
	}
	if r.ledger, err = ledger.New(acct, config.DefaultLedgerTable); err != nil {
		t.Fatal(err)
	}

	appDir := t.TempDir() // the handler's working folder: no local.settings.json
	originals := filepath.Join(appDir, "originals")
	if err := os.Mkdir(originals, 0o755); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= ph.shape.productsInStock; n++ {
		if err := os.WriteFile(filepath.Join(originals, originalName(n)), originalBytes(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r.stripe = startStripe(t, p, ph.stripe500, ph.stripe429, seed)
	storageConn := r.az.ConnectionString
	if ph.outage != nil {
		r.proxy, storageConn = startStorageProxy(t, r.az, ph.outage.burst, ph.outage.period)
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + appDir, "TMPDIR=" + os.TempDir(),
		"AzureWebJobsStorage=" + storageConn,
		"STRIPE_API_KEY=" + stripeKey, "STRIPE_API_URL=" + r.stripe.URL, "STRIPE_WEBHOOK_SECRET=" + webhookSecret,
		"EMAIL_SENDER=Fault shop <shop@filedrop.localhost>", "SHOP_NAME=Fault shop",
		// The fault run checks every mailed link against the originals:
		// raw links (the order page has tests of its own).
		"DOWNLOAD_LINKS=direct",
		"LOG_FORMAT=json", "LOG_LEVEL=info",
	}
	env = append(env, orderPageEnv()...) // the refunded orders' page (refundprobe_test.go)
	// The order events go to a receiver of the seller's: down for an
	// "hour" in mode outage, else failing a few deliveries at random.
	ef := eventFaults{fail503: 0.03, throttle429: 0.02}
	if ph.outage != nil {
		ef = eventFaults{downFrom: ph.outage.eventsFrom, downUntil: ph.outage.eventsUntil}
	}
	r.events = startEventSink(t, ef, seed)
	env = append(env, "ORDER_EVENTS_URL="+r.events.URL, "ORDER_EVENTS_SECRET="+eventsSecret)
	if ph.outage != nil {
		r.stripe.downFrom, r.stripe.downUntil = ph.outage.stripeFrom, ph.outage.stripeUntil
		env = append(env, ph.outage.settings...)
	} else {
		// The Reconcile sweep queues the events a killed handler wrote but
		// did not queue; it runs often enough to do so while the run settles.
		env = append(env, "RECONCILE_SCHEDULE=*/10 * * * * *", "RECONCILE_GRACE=30s")
	}
	if ph.transport == "acs" {
		r.acs = startACS(t, ph.acs, seed)
		env = append(env, "ACS_CONNECTION_STRING="+r.acs.connectionString())
	} else {
		r.outbox = filepath.Join(logs, "outbox")
		env = append(env, "EMAIL_OUTBOX_DIR="+r.outbox)
	}
	runOnce(t, bin, appDir, env, "setup", "--originals", originals)
	r.handler = newHandlerProc(t, bin, appDir, env, hold, filepath.Join(logs, "handler.log"))
	if err := r.handler.start(); err != nil {
		t.Fatal(err)
	}
	r.webhook = "http://" + r.handler.addr + "/api/CheckoutComplete"
	return r
}

// begin starts the clocks of the fakes' outages: the traffic starts now.
func (r *rig) begin(start time.Time) {
	r.stripe.begin(start)
	r.events.begin(start)
	if r.acs != nil {
		r.acs.begin(start)
	}
	if r.proxy != nil {
		r.proxy.begin(start)
	}
}

func (r *rig) transportName() string {
	if r.acs == nil {
		return "the outbox"
	}
	if f := r.ph.acs; f.limit > 0 {
		return fmt.Sprintf("the fake ACS (500 %.0f%%, accepted-then-500 %.0f%%, 429 %.0f%%, at most %d sends per %s)",
			f.fail500*100, f.accept500*100, f.throttle429*100, f.limit, f.window)
	}
	return "the fake ACS"
}

// faultLog is what the chaos did.
type faultLog struct {
	kills, restarts int
	events          []string
	last            time.Duration // when the last fault ended, from the start
}

// chaos kills and restarts the handler and restarts Azurite at random
// moments while the traffic runs. It runs on the test's goroutine, since
// Azurite's restart may fail the test.
func (r *rig) chaos(t *testing.T, start time.Time, rng *rand.Rand) faultLog {
	type event struct {
		at   time.Duration
		kill bool
	}
	spread := r.ph.shape.spread
	var events []event
	for range r.ph.kills {
		events = append(events, event{at: spread/10 + time.Duration(rng.Int64N(int64(spread*8/10))), kill: true})
	}
	for range r.ph.restarts {
		events = append(events, event{at: spread*3/10 + time.Duration(rng.Int64N(int64(spread/2)))})
	}
	slices.SortFunc(events, func(a, b event) int { return int(a.at - b.at) })
	// Where the kills land, in turn: while ProcessOrder fetches the session
	// (it holds the lease), just after the fetch (it signs links, queues the
	// mail and records it) and, with ACS, while SendLink's mail is accepted
	// but not yet recorded.
	during := func(*rand.Rand) time.Duration { return 0 }
	justAfter := func(rng *rand.Rand) time.Duration {
		return 5*time.Millisecond + time.Duration(rng.Int64N(int64(35*time.Millisecond)))
	}
	type killKind struct {
		trap  *trap
		after func(*rand.Rand) time.Duration
	}
	kinds := []killKind{{&r.stripe.trap, during}, {&r.stripe.trap, justAfter}}
	if r.acs != nil {
		kinds = append([]killKind{{&r.acs.trap, during}}, kinds...)
	}
	var log faultLog
	for _, ev := range events {
		if !sleepUntil(context.Background(), start.Add(ev.at)) {
			break
		}
		at := time.Now()
		if ev.kill {
			k := kinds[log.kills%len(kinds)]
			what := r.killDuringCall(t, k.trap, k.after(rng))
			pause := 500*time.Millisecond + time.Duration(rng.Int64N(int64(2*time.Second)))
			time.Sleep(pause)
			if err := r.handler.start(); err != nil {
				t.Fatal(err)
			}
			log.kills++
			log.events = append(log.events, fmt.Sprintf("SIGKILL at %s (%s), handler back after %s", since(start), what, since(at)))
		} else {
			r.az.Restart(t)
			if *flagBusy {
				favourStorage(r.az.PID())
			}
			log.restarts++
			log.events = append(log.events, fmt.Sprintf("Azurite restart at %s, back after %s", since(start), since(at)))
		}
		fmt.Printf("[%s] %s\n", r.ph.name, log.events[len(log.events)-1])
		log.last = time.Since(start)
	}
	return log
}

// killDuringCall arms tp, waits up to maxCatch for the handler to walk
// into it, and kills the handler while the call is held or, with after > 0,
// that long after letting it go on (if none came: then). It describes what
// the kill interrupted.
func (r *rig) killDuringCall(t *testing.T, tp *trap, after time.Duration) string {
	caught, release := tp.arm()
	defer release()
	what := fmt.Sprintf("no call caught within %s", maxCatch)
	select {
	case c := <-caught:
		what = "during " + c
		if after > 0 {
			release()
			time.Sleep(after)
			what = fmt.Sprintf("%s after %s", after.Round(time.Millisecond), c)
		}
	case <-time.After(maxCatch):
	}
	if err := r.handler.kill(); err != nil {
		t.Fatal(err)
	}
	return what
}

// snapshot is the ledger and the queues at one moment.
type snapshot struct {
	orders map[string]order.Order
	counts map[string]int // queue -> messages, visible or not
}

func (r *rig) snapshot(ctx context.Context) (snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s := snapshot{orders: map[string]order.Order{}, counts: map[string]int{}}
	orders, err := r.ledger.List(ctx, order.Filter{})
	if err != nil {
		return s, err
	}
	for _, o := range orders {
		s.orders[o.SessionID] = o
	}
	for _, q := range append(slices.Clone(r.work), r.poison...) {
		n, err := r.queues.Queue(q).Count(ctx)
		if err != nil {
			return s, err
		}
		s.counts[q] = n
	}
	return s, nil
}

// pending is how many planned sessions have no final record or an order
// event not delivered yet, and how many messages wait on the work queues.
func (s snapshot) pending(p *plan, work []string) (open, queued int) {
	for _, sess := range p.sessions {
		o, ok := s.orders[sess.id]
		if undelivered, _ := o.EventsUndelivered(); !ok || !o.Final() || undelivered > 0 {
			open++
		}
	}
	for _, q := range work {
		queued += s.counts[q]
	}
	return open, queued
}

// settleResult is how the pipeline came to rest.
type settleResult struct {
	ok    bool
	after time.Duration // from the start of the phase
	last  snapshot
	err   error
}

// settle waits until every planned session's record is final and the work
// queues are empty, twice in a row, or until the phase's settle timeout.
// A handler that died by itself is restarted, as the host would.
func (r *rig) settle(ctx context.Context, start time.Time) settleResult {
	const poll = 2 * time.Second
	deadline := time.Now().Add(r.ph.settle)
	maxPolls := int(r.ph.settle/poll) + 2
	var res settleResult
	stable := 0
	lastNote := time.Now()
	for range maxPolls {
		if !r.handler.running() {
			if err := r.handler.start(); err != nil {
				res.err = err
				return res
			}
		}
		snap, err := r.snapshot(ctx)
		res.last, res.err = snap, err
		open, queued := snap.pending(r.plan, r.work)
		if err == nil && open == 0 && queued == 0 {
			if stable++; stable == 2 {
				res.ok, res.after = true, time.Since(start)
				fmt.Printf("[%s] settled after %s\n", r.ph.name, since(start))
				return res
			}
		} else {
			stable = 0
		}
		if time.Since(lastNote) >= 15*time.Second {
			lastNote = time.Now()
			fmt.Printf("[%s] at %s: %d of %d sessions not final yet (or with events undelivered), %d messages queued%s\n",
				r.ph.name, since(start), open, len(r.plan.sessions), queued, r.progressNote())
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(poll)
	}
	res.after = time.Since(start)
	if res.err == nil {
		res.err = errors.New("the pipeline did not settle within " + r.ph.settle.String())
	}
	return res
}

// progressNote adds the fake ACS's count of accepted sends.
func (r *rig) progressNote() string {
	if r.acs == nil {
		return ""
	}
	st := r.acs.stats()
	return fmt.Sprintf(", %d mails accepted by the fake ACS (%d rate-limited answers)", len(st.ops), st.limited429)
}

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }

// shortErr keeps the first line of an error message, shortened.
func shortErr(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}
