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
		var made strings.Builder
		if err := p.setup(sctx, &made); err != nil {
			log.Warn("could not check the queues, container and table; run handler setup", "err", err)
		} else if s := strings.TrimSpace(made.String()); s != "setup: everything already exists" {
			log.Info("created missing storage resources", "created", s)
		}
	}()
	return serveHTTP(ctx, ln, h, log)
}

// serveHTTP serves h on ln until ctx is done, then shuts down gracefully.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
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
