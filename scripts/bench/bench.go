package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/filedrop/filedrop"
	"github.com/filedrop/filedrop/internal/cli"
	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/secret"
	"github.com/filedrop/filedrop/internal/storage"
	"github.com/filedrop/filedrop/internal/testenv"
)

// bench is one run: the services it started and what the phases share.
type bench struct {
	o        options
	work     string // the temporary folder: logs, data, outboxes
	step     func(format string, args ...any)
	ev       events
	az       *testenv.Azurite
	mock     *testenv.StripeMock
	settings map[string]string // every handler's, besides its variant's env
	outbox   string
	// queues is the account's queue service; processOrder is ProcessOrder's
	// queue, named by its function.json.
	queues       *storage.Queues
	processOrder *storage.Queue
	procs        []*testenv.Process
}

// setUp starts Azurite and stripe-mock and runs handler setup. The bench
// it returns, even with an error, must be stopped.
func setUp(ctx context.Context, o options, work string, progress io.Writer) (*bench, error) {
	b := &bench{o: o, work: work, outbox: filepath.Join(work, "outbox"),
		step: func(format string, args ...any) { fmt.Fprintf(progress, "bench: "+format+"\n", args...) }}
	root, err := testenv.Root()
	if err != nil {
		return nil, err
	}
	if b.ev, err = loadEvents(filepath.Join(root, "internal", "checkoutcomplete", "testdata", "checkout_session_completed.json"), cli.DemoWebhookSecret); err != nil {
		return nil, err
	}
	for _, d := range []string{"azurite", "stripe-mock", "outbox", "app"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			return nil, err
		}
	}
	b.step("starting Azurite and stripe-mock on 127.0.0.1")
	if b.az, err = testenv.RunAzurite(ctx, filepath.Join(work, "azurite")); err != nil {
		return b, err
	}
	if b.mock, err = testenv.RunStripeMock(ctx, filepath.Join(work, "stripe-mock"), filepath.Join(root, "demo", "stripe-fixtures.json")); err != nil {
		return b, err
	}
	b.settings = map[string]string{
		"AzureWebJobsStorage":   b.az.ConnectionString,
		"STRIPE_API_KEY":        cli.DemoStripeKey,
		"STRIPE_API_URL":        b.mock.URL,
		"STRIPE_WEBHOOK_SECRET": cli.DemoWebhookSecret,
		"EMAIL_OUTBOX_DIR":      b.outbox,
		"EMAIL_SENDER":          "shop@filedrop.localhost",
		"SHOP_NAME":             "filedrop bench shop",
		"LOG_LEVEL":             "info",
		// The mail links each file, so that no order page settings are
		// needed.
		"DOWNLOAD_LINKS": "direct",
	}
	if err := b.handlerSetup(ctx, "setup", b.settings, filepath.Join(root, "demo", "originals")); err != nil {
		return b, err
	}
	b.queues, b.processOrder, err = openQueues(b.az)
	return b, err
}

// stop stops every process the bench started, the last first.
func (b *bench) stop() {
	for i := len(b.procs) - 1; i >= 0; i-- {
		b.procs[i].Stop()
	}
	if b.mock != nil {
		b.mock.Stop()
	}
	if b.az != nil {
		b.az.Stop()
	}
}

// current is the handler the pipeline phases run: the one -handler names.
func (b *bench) current() variant { return b.o.variants[len(b.o.variants)-1] }

// start starts v's handler with args and settings (and v's env), its
// output in logs/<name>.log under the work folder.
func (b *bench) start(v variant, name string, settings map[string]string, args ...string) (*testenv.Process, error) {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, val := range settings {
		env = append(env, k+"="+val)
	}
	for k, val := range v.env {
		env = append(env, k+"="+val)
	}
	if err := os.MkdirAll(filepath.Join(b.work, "logs"), 0o755); err != nil {
		return nil, err
	}
	// The app folder has no local.settings.json: only env counts.
	p, err := testenv.StartProcess(v.label+" "+name, filepath.Join(b.work, "app"), filepath.Join(b.work, "logs", name+".log"), env, v.bin, args...)
	if err != nil {
		return nil, err
	}
	b.procs = append(b.procs, p)
	return p, nil
}

// handlerSetup runs handler setup (queues, container, table, originals)
// with settings, to its end.
func (b *bench) handlerSetup(ctx context.Context, name string, settings map[string]string, originals string) error {
	p, err := b.start(b.current(), name, settings, "setup", "--originals", originals)
	if err != nil {
		return err
	}
	select {
	case <-p.Done():
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Minute):
		return fmt.Errorf("handler setup did not finish within a minute: %s", p.Tail(20))
	}
	if err := p.Err(); err != nil {
		return fmt.Errorf("handler setup: %v: %s", err, p.Tail(20))
	}
	return nil
}

// Where the handler says it is ready: serve mode's log line (text or JSON
// logs), and handler local's last line (after the webhook's address when it runs CheckoutComplete).
var (
	serveListenRE = regexp.MustCompile(`custom handler listening.*addr"?[=:]"?(127\.0\.0\.1:[0-9]+)`)
	localReadyRE  = regexp.MustCompile(`(?m)^(?:CheckoutComplete: \[POST\] (http://127\.0\.0\.1:[0-9]+/api/CheckoutComplete)\n(?s:.*?))?Press Ctrl-C to stop\.$`)
)

// startServe starts v's handler in serve mode, as the Functions host does
// (on a port the OS chooses), and returns it with the webhook's URL once
// GET / answers.
func (b *bench) startServe(ctx context.Context, v variant, name string) (*testenv.Process, string, error) {
	settings := maps.Clone(b.settings)
	settings["FUNCTIONS_CUSTOMHANDLER_PORT"] = "0"
	p, err := b.start(v, name, settings)
	if err != nil {
		return nil, "", err
	}
	m, err := p.WaitOutput(ctx, serveListenRE, 1, 30*time.Second)
	if err != nil {
		return nil, "", err
	}
	base := "http://" + m[0][1]
	for deadline := time.Now().Add(30 * time.Second); ; {
		if resp, err := http.Get(base + "/"); err == nil {
			resp.Body.Close()
			return p, base + "/api/CheckoutComplete", nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil || p.Exited() {
			return nil, "", fmt.Errorf("%s did not answer GET / within 30 s: %s", p.Name, p.Tail(20))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startLocal starts the current handler as handler local on a port the OS
// chooses, with only the named functions when only is set, and returns it
// with the webhook's URL once it says it is ready.
func (b *bench) startLocal(ctx context.Context, name string, settings map[string]string, only string) (*testenv.Process, string, error) {
	args := []string{"local", "--port", "0"}
	if only != "" {
		args = append(args, "--functions", only)
	}
	p, err := b.start(b.current(), name, settings, args...)
	if err != nil {
		return nil, "", err
	}
	m, err := p.WaitOutput(ctx, localReadyRE, 1, time.Minute)
	if err != nil {
		return nil, "", err
	}
	return p, m[0][1], nil
}

// openQueues returns the account's queues and the ProcessOrder queue, named
// by its function.json.
func openQueues(az *testenv.Azurite) (*storage.Queues, *storage.Queue, error) {
	acct, err := storage.NewAccount(storage.Options{AccountName: testenv.DevAccountName, AccountKey: secret.Value(testenv.DevAccountKey),
		BlobURL: az.BlobURL, QueueURL: az.QueueURL, TableURL: az.TableURL})
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

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}
