package cli

import (
	"context"

	"github.com/filedrop/filedrop/internal/app"
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
	cfg, fns, _, err := loadSettings(env, false)
	if err != nil {
		return describeConfigError(err)
	}
	log := newLogger(cfg, env.Stdout)
	tuneProcs(env.Getenv, log)
	if err := startPprof(ctx, env.Getenv(pprofSetting), log); err != nil {
		return err
	}
	p, err := app.New(cfg, fns, log)
	if err != nil {
		return err
	}
	return p.Serve(ctx, port, env.Stderr)
}
