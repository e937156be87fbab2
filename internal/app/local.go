package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/functions/hostemu"
	"github.com/filedrop/filedrop/internal/stripeapi/demostripe"
)

// DemoStripe is the Stripe handler local serves in demo mode (no Stripe
// key): stripe-mock's answers, with the demo order's charge and its
// disputes kept, so that simulate refund and simulate dispute change what
// ProcessOrder reads back.
type DemoStripe struct {
	// Path is where the front serves it, beside the webhook.
	Path string
	// Charge, PaymentIntent, Amount (in the currency's smallest unit),
	// Currency and Created are the demo order's charge as the fixtures
	// (demo/stripe-fixtures.json) have it.
	Charge, PaymentIntent string
	Amount                int64
	Currency              string
	Created               time.Time
}

// Handler serves the demo Stripe, with stripe-mock at upstream answering
// what it does not keep itself.
func (d DemoStripe) Handler(upstream string, now func() time.Time) (http.Handler, error) {
	return demostripe.New(upstream, demostripe.Charge{ID: d.Charge, PaymentIntent: d.PaymentIntent, Amount: d.Amount, Currency: d.Currency,
		Created: d.Created}, now)
}

// LocalOptions are how handler local runs the pipeline.
type LocalOptions struct {
	// Port is the front's port on 127.0.0.1: where func start serves the
	// HTTP functions, 7071 by default.
	Port int
	// Hold is how long a message stays invisible while its invocation runs
	// (renewed); after a crash it reappears this much later.
	Hold time.Duration
	// Functions are the functions to run: the pipeline's, or some of them,
	// with their schedules resolved (ResolveSchedules).
	Functions functions.App
	// OwnBaseURL points the order page's links at this run's front: the
	// settings name no PUBLIC_BASE_URL of their own.
	OwnBaseURL bool
	// Demo, when set, is served under Demo.Path beside the front, and the
	// pipeline's Stripe calls go to it.
	Demo *DemoStripe
	// RunNow names a timer function to run once as soon as the handler
	// serves, besides its schedule.
	RunNow string
	// Stderr receives the failures the host would log at Error level.
	Stderr io.Writer
}

// Local is the pipeline running on this machine without Core Tools: the
// custom handler on a port of its own, and in front of it an emulation of
// the host (internal/functions/hostemu) that serves the HTTP functions as
// func start does and drives the queue and timer functions.
type Local struct {
	// Addr is the front's address: the webhook is
	// http://Addr/api/CheckoutComplete.
	Addr string
	// OrderPage reports whether the order page is served, under
	// http://Addr/api/download/.
	OrderPage bool

	p                *Pipeline
	handlerLn, front net.Listener
	handler, served  http.Handler
	emu              *hostemu.Emulator
	runNow           string
}

// Local listens for handler local and builds the handler and the host
// emulator; Run serves them. The pipeline's settings follow the run: the
// order links point at its front (opts.OwnBaseURL) and Stripe is the demo
// Stripe (opts.Demo).
func (p *Pipeline) Local(opts LocalOptions) (l *Local, err error) {
	l = &Local{p: p, runNow: opts.RunNow}
	if l.handlerLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, err
	}
	if l.front, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", opts.Port)); err != nil {
		l.handlerLn.Close()
		return nil, fmt.Errorf("listen on 127.0.0.1:%d (is func start or another handler local running?): %w", opts.Port, err)
	}
	defer func() {
		if err != nil {
			l.handlerLn.Close()
			l.front.Close()
		}
	}()
	l.Addr = l.front.Addr().String()
	if opts.OwnBaseURL {
		p.cfg.Download.PublicBaseURL = "http://" + l.Addr
	}
	var demo http.Handler
	if opts.Demo != nil {
		if demo, err = opts.Demo.Handler(p.cfg.Stripe.APIURL, time.Now); err != nil {
			return nil, err
		}
		demo = http.StripPrefix(opts.Demo.Path, demo)
		p.cfg.Stripe.APIURL = "http://" + l.Addr + opts.Demo.Path
	}
	if l.handler, err = p.Handler(opts.Stderr); err != nil {
		return nil, err
	}
	l.emu = &hostemu.Emulator{
		App:     opts.Functions,
		Queues:  p.queues,
		Handler: "http://" + l.handlerLn.Addr().String(),
		Client:  &http.Client{},
		Log:     p.log.With("component", "host-emulator"),
		Hold:    opts.Hold,
	}
	if l.served, err = l.emu.Front(); err != nil {
		return nil, err
	}
	if demo != nil {
		l.served = withDemoStripe(l.served, opts.Demo.Path, demo)
	}
	_, download := opts.Functions.Functions[fnDownload]
	l.OrderPage = download && p.cfg.Download.PublicBaseURL != ""
	return l, nil
}

// Run serves the handler and the front, and runs the host emulator, until
// ctx is done or one of them fails.
func (l *Local) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return serveHTTP(gctx, l.handlerLn, l.handler, l.p.log, hostLimits()) })
	g.Go(func() error { return serveHTTP(gctx, l.front, l.served, l.p.log, hostLimits()) })
	g.Go(func() error { return l.emu.Run(gctx) })
	if l.runNow != "" {
		g.Go(func() error {
			if err := waitServing(gctx, l.emu.Handler); err != nil {
				return nil // stopping
			}
			if err := l.emu.RunNow(gctx, l.runNow); err != nil {
				l.p.log.Warn("--now run failed", "function", l.runNow, "err", err)
			}
			return nil
		})
	}
	return g.Wait()
}

// withDemoStripe serves the demo Stripe beside the host's routes: under
// path, where simulate refund and simulate dispute find it from the
// webhook's address.
func withDemoStripe(front http.Handler, path string, demoStripe http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, path+"/") {
			demoStripe.ServeHTTP(w, r)
			return
		}
		front.ServeHTTP(w, r)
	})
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
