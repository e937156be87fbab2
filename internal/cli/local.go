package cli

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/filedrop/filedrop/internal/functions"
)

// runLocal runs the whole pipeline on this machine without Core Tools: the
// webhook on http://127.0.0.1:<port>/api/CheckoutComplete as func start
// serves it, and the queue functions driven by an emulation of the host.
func runLocal(ctx context.Context, env Env, args []string) error {
	fs := flags(env, "local", "local [--port 7071] [--hold 1m]\n\nRuns the pipeline locally against the configured storage (Azurite by default):\nthe webhook as func start serves it, and the queue functions with the host's semantics.")
	port := fs.Int("port", 7071, "port of the webhook endpoint on 127.0.0.1")
	hold := fs.Duration("hold", time.Minute, "how long a message stays invisible while its invocation runs (renewed); after a crash it reappears this much later")
	if done, err := parse(fs, args); done {
		return err
	}
	cfg, app, _, err := loadSettings(env)
	if err != nil {
		return describeConfigError(err)
	}
	log := newLogger(cfg, env.Stderr)
	p, err := newPipeline(cfg, app, log)
	if err != nil {
		return err
	}
	if err := p.setup(ctx, log); err != nil {
		return err
	}
	h, err := p.handler(env.Stderr)
	if err != nil {
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
	emu := &functions.Emulator{
		App:     app,
		Queues:  p.queues,
		Handler: "http://" + handlerLn.Addr().String(),
		Client:  &http.Client{},
		Log:     log.With("component", "host-emulator"),
		Hold:    *hold,
	}
	front, err := emu.Front()
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "CheckoutComplete: [POST] http://%s/api/CheckoutComplete\n", frontLn.Addr())
	for _, fn := range app.QueueFunctions() {
		fmt.Fprintf(env.Stdout, "%s: queueTrigger on %s (poison: %s)\n", fn.Name, fn.Queue, fn.PoisonQueue())
	}
	fmt.Fprintf(env.Stdout, "Stripe mode: %s. Press Ctrl-C to stop.\n", cfg.Stripe.Mode())
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return serveHTTP(gctx, handlerLn, h, log) })
	g.Go(func() error { return serveHTTP(gctx, frontLn, front, log) })
	g.Go(func() error { return emu.Run(gctx) })
	return g.Wait()
}
