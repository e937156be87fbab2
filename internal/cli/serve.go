package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// runServe runs the binary as the Functions custom handler: it listens on
// 127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT until the host stops it.
func runServe(ctx context.Context, env Env, args []string) error {
	fs := flags(env, "serve", "serve\n\nRuns as the Azure Functions custom handler; the Functions host starts it with FUNCTIONS_CUSTOMHANDLER_PORT set.")
	if done, err := parse(fs, args); done {
		return err
	}
	port := env.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	if port == "" {
		port = env.Getenv("FUNCTIONS_HTTPWORKER_PORT")
	}
	if port == "" {
		return usageErr("FUNCTIONS_CUSTOMHANDLER_PORT is not set: the Functions host sets it (func start, or Azure). To run on your own machine without Core Tools, use: handler local")
	}
	cfg, app, _, err := loadSettings(env, false)
	if err != nil {
		return describeConfigError(err)
	}
	log := newLogger(cfg, env.Stdout)
	tuneProcs(env.Getenv, log)
	if err := startPprof(ctx, env.Getenv(pprofSetting), log); err != nil {
		return err
	}
	p, err := newPipeline(cfg, app, log)
	if err != nil {
		return err
	}
	h, err := p.handler(env.Stderr)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return fmt.Errorf("listen on FUNCTIONS_CUSTOMHANDLER_PORT %s: %w", port, err)
	}
	log.Info("custom handler listening", "addr", ln.Addr().String(), "mode", cfg.Stripe.Mode())
	// Create what is missing, after listening: the host's readiness poll
	// must not wait for storage. Idempotent, and a no-op once set up.
	go func() {
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		made, err := p.setup(sctx)
		if len(made) > 0 {
			log.Info("created missing storage resources", "created", strings.Join(made, "; "))
		}
		if err != nil {
			log.Warn("could not check the queues, container and table; run handler setup", "err", err)
		}
	}()
	return serveHTTP(ctx, ln, h, log, hostLimits())
}

// connLimits bounds how long one connection may hold the server while it
// sends a request or sits idle, and how big its header may be.
type connLimits struct {
	readHeader, read, idle time.Duration
	maxHeaderBytes         int
}

// hostLimits are the limits of the handler's servers (serve, and both of
// handler local's). Their callers are the Functions host on loopback and,
// through it, Stripe; a connection that trickles a request or idles holds a
// descriptor and a goroutine, so none may do either for long.
//
// They bound reading only, never the work: net/http clears the read
// deadline once a handler has read its body to the end, so an invocation
// may still run for its route's whole timeout (wire.go: at most 4/5 of
// host.json's functionTimeout, and 2 minutes). For the same reason there is
// no WriteTimeout: it would cut a long invocation before its answer.
func hostLimits() connLimits {
	return connLimits{
		// The host sends its headers in one write; 5 s is slack for a
		// loaded machine, not for a slow network.
		readHeader: 5 * time.Second,
		// The whole request, body included: the largest is a webhook
		// (checkoutcomplete.MaxBodyBytes, 512 KiB), which takes
		// milliseconds on loopback and would still arrive within 30 s at
		// 20 KiB/s. Well inside the 2-minute route timeout, so a dripping
		// client never outlasts an invocation.
		read: 30 * time.Second,
		// Longer than the host's own HTTP client keeps an idle pooled
		// connection (.NET's SocketsHttpHandler: PooledConnectionIdleTimeout,
		// 1 minute), so the host, not the handler, closes an idle
		// connection, and a request never lands on one the handler is
		// closing; still a bound, so idle connections do not pile up.
		idle: 90 * time.Second,
		// The host's headers and Stripe's (Stripe-Signature included) are
		// a few KiB; net/http's default is 1 MiB.
		maxHeaderBytes: 64 << 10,
	}
}

// serveHTTP serves h on ln within lim until ctx is done, then shuts down
// gracefully.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, lim connLimits) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: lim.readHeader,
		ReadTimeout:       lim.read,
		IdleTimeout:       lim.idle,
		MaxHeaderBytes:    lim.maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
