// Package app is filedrop built from its settings: every adapter made once
// from the loaded configuration (config maps onto each adapter's own
// options here, so that no adapter imports config), the stages wired to
// them behind the custom handler's routes, the two runtimes (serve, under
// the Functions host; local, with the host emulated) and what the
// operator's commands work with.
//
// It is the one package that may import every other; the command line
// (internal/cli) keeps flags, commands and printing, and calls it. Its
// errors are plain, except a *ConfigError for settings or a host.json the
// app cannot run with.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/filedrop/filedrop/internal/config"
	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/operator"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/storage"
	"github.com/filedrop/filedrop/internal/storage/blobstore"
	"github.com/filedrop/filedrop/internal/storage/ledger"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// Function folder names: the routes the host invokes.
const (
	fnCheckoutComplete = "CheckoutComplete"
	fnProcessOrder     = "ProcessOrder"
	fnSendLink         = "SendLink"
	fnDownload         = "Download"
	fnReconcile        = "Reconcile"
	fnDeliveryReport   = "DeliveryReport"
	fnOrderEvents      = "OrderEvents"
)

// The adapters the operator's work uses, as internal/operator asks for
// them.
var (
	_ order.Records          = (*ledger.Ledger)(nil)
	_ operator.Finder        = (*ledger.Ledger)(nil)
	_ operator.Reader        = (*ledger.Ledger)(nil)
	_ Queue                  = (*storage.Queue)(nil)
	_ operator.SessionLister = (*stripeapi.Client)(nil)
)

// ConfigError reports settings, or a host.json, that the app cannot run
// with, in words a person can act on. The command line exits with its
// settings code.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Pipeline is filedrop built from its settings: the storage account, the
// queues (ProcessOrder's and SendLink's named by their function.json), the
// ledger and the originals, made once.
type Pipeline struct {
	cfg     config.Config
	fns     functions.App
	log     *slog.Logger
	account storage.Account
	queues  *storage.Queues
	// orders and mails are the ProcessOrder and SendLink queues.
	orders, mails *storage.Queue
	ledger        *ledger.Ledger
	// events is the ledger's order.Publisher when order events are on,
	// nil when off.
	events    *order.Publisher
	originals *blobstore.Originals
}

// New builds the pipeline from cfg, the settings config loaded and
// validated, and fns, the function folders. It makes clients only: nothing
// is asked of a service yet.
func New(cfg config.Config, fns functions.App, log *slog.Logger) (*Pipeline, error) {
	acct, err := storage.NewAccount(storageOptions(cfg.Storage))
	if err != nil {
		return nil, err
	}
	queues, err := storage.NewQueues(acct)
	if err != nil {
		return nil, err
	}
	led, err := ledger.New(acct, cfg.Ledger.Table)
	if err != nil {
		return nil, err
	}
	originals, err := blobstore.New(acct, originalsOptions(cfg.Links), time.Now)
	if err != nil {
		return nil, err
	}
	p := &Pipeline{cfg: cfg, fns: fns, log: log, account: acct, queues: queues, ledger: led, originals: originals}
	for name, dst := range map[string]**storage.Queue{fnProcessOrder: &p.orders, fnSendLink: &p.mails} {
		q, err := fns.QueueOf(name)
		if err != nil {
			return nil, err
		}
		*dst = queues.Queue(q)
	}
	if p.events, err = p.publisher(); err != nil {
		return nil, err
	}
	return p, nil
}

// records is the ledger every writer uses: the Publisher when order events
// are on, so that each write also queues its events, else the ledger.
func (p *Pipeline) records() order.Records {
	if p.events != nil {
		return p.events
	}
	return p.ledger
}

// Config is the settings the pipeline was built from.
func (p *Pipeline) Config() config.Config { return p.cfg }

// Functions are the function folders the pipeline serves.
func (p *Pipeline) Functions() functions.App { return p.fns }

// StripeUnreachable reports whether err is a Stripe call that got no answer
// at all (a network fault), so that a command can say to check the
// network rather than the storage.
func StripeUnreachable(err error) bool { return errors.Is(err, stripeapi.ErrUnreachable) }

// Setup creates every queue function's queue and poison queue, the
// originals container and the ledger table when missing, and returns a line
// for each thing it made (none: everything existed). It is idempotent.
func (p *Pipeline) Setup(ctx context.Context) (made []string, err error) {
	for _, fn := range p.fns.QueueFunctions() {
		for _, name := range []string{fn.Queue, fn.PoisonQueue()} {
			if name == "" {
				continue
			}
			created, err := p.queues.Create(ctx, name)
			if err != nil {
				return made, fmt.Errorf("setup: %w", err)
			}
			if created {
				made = append(made, "created queue "+name)
			}
		}
	}
	created, err := p.originals.CreateContainer(ctx)
	if err != nil {
		return made, fmt.Errorf("setup: %w", err)
	}
	if created {
		made = append(made, fmt.Sprintf("created container %s (private)", p.originals.Container()))
	}
	created, err = p.ledger.CreateTable(ctx)
	if err != nil {
		return made, fmt.Errorf("setup: %w", err)
	}
	if created {
		made = append(made, "created table "+p.cfg.Ledger.Table)
	}
	return made, nil
}
