// Package cli is the handler binary's command line: with no arguments it is
// the Azure Functions custom handler; its subcommands run the pipeline
// locally and give the operator the tools to see and repair every order.
//
// Run is the whole program: main only calls it, so tests drive the binary
// in-process exactly as a person does. The package keeps the flags, the
// commands and the printing, and the settings' layers (the environment,
// local.settings.json, handler local's defaults); what the settings build,
// and the serve and local runtimes, are internal/app's.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/filedrop/filedrop/internal/app"
)

// Env is what the program reads from its surroundings.
type Env struct {
	Args   []string
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Dir is the app root: where host.json, the function folders and
	// local.settings.json are; "" means the working directory.
	Dir string
}

// ExitError carries the process exit code of a failure.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Exit codes.
const (
	ExitFailure  = 1 // the command failed
	ExitUsage    = 2 // bad flags or arguments
	ExitConfig   = 3 // the settings are invalid
	ExitNotFound = 4 // the thing asked for does not exist
	ExitMismatch = 5 // a check found a difference (reconcile --dry-run found work)
)

// exitCoded gives err the exit code of what app reports: settings or a
// host.json the app cannot run with exit ExitConfig.
func exitCoded(err error) error {
	var ee *ExitError
	var ce *app.ConfigError
	if errors.As(err, &ce) && !errors.As(err, &ee) {
		return &ExitError{Code: ExitConfig, Err: err}
	}
	return err
}

func usageErr(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env Env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run as the Azure Functions custom handler (the default with no arguments)", runServe},
		{"local", "run the whole pipeline locally: the webhook on :7071 and the queue functions", runLocal},
		{"setup", "create the queues, container and table that are missing; upload originals", runSetup},
		{"config", "show the effective settings (secrets masked) and check them", runConfig},
		{"simulate", "send a signed checkout.session webhook to a running endpoint, or queue a delivery report", runSimulate},
		{"orders", "list the orders in the ledger, show one, or index them (orders list, orders show <session>, orders index)", runOrders},
		{"resend", "send an order's mail again, optionally with fresh links or to a corrected address", runResend},
		{"revoke", "end an order's access to the order page (revoke <session> --reason R)", runRevoke},
		{"grant", "reopen an order's access, optionally extended or with downloads reset", runGrant},
		{"events", "follow the order events sent to the seller's sinks, send them again, or receive them locally (events list, events redeliver, events receive)", runEvents},
		{"poison", "show poisoned queue messages, or move them back (poison list, poison redrive)", runPoison},
		{"reconcile", "queue the paid Checkout Sessions that have no mail yet (the webhook safety net)", runReconcile},
		{"catalog", "sell a folder of originals through Stripe payment links, or check the catalog (catalog sync, catalog check)", runCatalog},
	}
}

// Run runs the program with env.Args (without the program name).
func Run(ctx context.Context, env Env) error {
	args := env.Args
	if len(args) == 0 {
		return exitCoded(runServe(ctx, env, nil))
	}
	switch args[0] {
	case "-h", "--help", "help":
		printHelp(env.Stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return exitCoded(c.run(ctx, env, args[1:]))
		}
	}
	printHelp(env.Stderr)
	return usageErr("unknown command %q", args[0])
}

func printHelp(w io.Writer) {
	fmt.Fprintf(w, "handler delivers the files bought through Stripe Checkout.\n\nUsage:\n  handler [command] [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'handler <command> --help' for a command's flags.\n")
}

// flags returns a FlagSet for a command that writes its usage to stderr.
func flags(env Env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: handler %s\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, turning --help into a clean exit and other problems
// into a usage error.
func parse(fs *flag.FlagSet, args []string) (done bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return true, &ExitError{Code: ExitUsage, Err: err}
	}
	return false, nil
}

// appDir returns the app root.
func appDir(env Env) string {
	if env.Dir != "" {
		return env.Dir
	}
	if d := env.Getenv("FUNCTIONS_APP_ROOT_PATH"); d != "" {
		return d
	}
	d, err := os.Getwd()
	if err != nil {
		return "."
	}
	return d
}

// settingsFile is local.settings.json in the app root.
func settingsFile(env Env) string { return filepath.Join(appDir(env), "local.settings.json") }

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, strings.TrimSuffix(word, "s"))
}
