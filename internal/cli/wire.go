package cli

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/filedrop/filedrop/internal/checkoutcomplete"
	"github.com/filedrop/filedrop/internal/config"
	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/operator"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/pace"
	"github.com/filedrop/filedrop/internal/processorder"
	"github.com/filedrop/filedrop/internal/sendlink"
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
)

// The adapters the operator's commands use, as internal/operator asks for
// them.
var (
	_ order.Records          = (*ledger.Ledger)(nil)
	_ operator.Finder        = (*ledger.Ledger)(nil)
	_ operator.Reader        = (*ledger.Ledger)(nil)
	_ operator.Sender        = (*storage.Queue)(nil)
	_ operator.Peeker        = (*storage.Queue)(nil)
	_ operator.Receiver      = (*storage.Queue)(nil)
	_ operator.TextSender    = (*storage.Queue)(nil)
	_ operator.SessionLister = (*stripeapi.Client)(nil)
)

// carries is the message the named function's queue carries, the one its
// stage (see stage) decodes: the operator's poison commands decode with it.
func carries(function string) operator.Carries {
	switch function {
	case fnProcessOrder:
		return operator.ProcessJobs
	case fnSendLink:
		return operator.MailJobs
	case fnDeliveryReport:
		return operator.DeliveryReports
	}
	return 0
}

// pipeline is everything the three functions need, built once from the
// configuration.
type pipeline struct {
	cfg     config.Config
	app     functions.App
	log     *slog.Logger
	account storage.Account
	queues  *storage.Queues
	// orders and mails are the ProcessOrder and SendLink queues, named by
	// their function.json files.
	orders, mails *storage.Queue
	ledger        *ledger.Ledger
	originals     *blobstore.Originals
}

func newPipeline(cfg config.Config, app functions.App, log *slog.Logger) (*pipeline, error) {
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
	p := &pipeline{cfg: cfg, app: app, log: log, account: acct, queues: queues, ledger: led, originals: originals}
	for name, dst := range map[string]**storage.Queue{fnProcessOrder: &p.orders, fnSendLink: &p.mails} {
		q, err := app.QueueOf(name)
		if err != nil {
			return nil, err
		}
		*dst = queues.Queue(q)
	}
	return p, nil
}

// handler returns the custom handler's HTTP surface.
func (p *pipeline) handler(stderr interface{ Write([]byte) (int, error) }) (http.Handler, error) {
	secrets := make([]string, len(p.cfg.Stripe.WebhookSecrets))
	for i, s := range p.cfg.Stripe.WebhookSecrets {
		secrets[i] = s.Reveal()
	}
	webhook := checkoutcomplete.New(secrets, p.orders, p.cfg.Stripe.Livemode, p.log, time.Now)
	budget := order.BudgetFor(p.app.FunctionTimeout)
	alarms := functions.NewAlarms(time.Minute, time.Now) // one loud line a minute per refused setting
	routes := map[string]http.Handler{}
	for _, fn := range p.app.QueueFunctions() {
		stage, err := p.stage(fn.Name, budget)
		if err != nil {
			return nil, err
		}
		q := p.queues.Queue(fn.Queue)
		routes[fn.Name] = functions.QueueRoute{
			Function: fn,
			Handle:   stage,
			Requeue:  q,
			Poison:   p.queues.Queue(fn.PoisonQueue()),
			Timeout:  budget.Invocation,
			Backoff:  p.backoff(),
			Alarms:   alarms,
			Log:      p.log,
			Stderr:   stderr,
		}
	}
	for _, fn := range p.app.TimerFunctions() {
		run, err := p.timer(fn.Name)
		if err != nil {
			return nil, err
		}
		routes[fn.Name] = functions.TimerRoute{Function: fn, Run: run, Timeout: budget.Invocation, Log: p.log, Stderr: stderr}
	}
	page, err := p.downloadHandler()
	if err != nil {
		return nil, err
	}
	return newServer(webhook, page, routes), nil
}

// stage returns the stage behind a queue function, spending budget.
func (p *pipeline) stage(name string, budget order.Budget) (functions.HandlerFunc, error) {
	switch name {
	case fnProcessOrder:
		if err := p.checkBudget(budget, 0, ""); err != nil {
			return nil, err
		}
		stripe := newStripe(p.cfg.Stripe, p.log)
		st := processorder.New(stripe, p.originals, p.mails, p.ledger,
			p.cfg.Stripe.Livemode, budget, time.Now, p.log).WithPayments(stripe)
		page, err := p.orderPage()
		if err != nil {
			return nil, err
		}
		if page != nil {
			st.WithOrderPage(page)
		}
		return functions.Decoded(order.DecodeProcessJob, st.Handle), nil
	case fnSendLink:
		render, err := newRenderer(p.cfg.Mail)
		if err != nil {
			return nil, err
		}
		sender, err := newMailSender(p.cfg.Mail)
		if err != nil {
			return nil, err
		}
		var attempt time.Duration
		if a, ok := sender.(interface{ AttemptTime() time.Duration }); ok {
			attempt = a.AttemptTime()
		}
		if err := p.checkBudget(budget, attempt, "one attempt through MAIL_TRANSPORT="+string(p.cfg.Mail.Transport)); err != nil {
			return nil, err
		}
		st := sendlink.New(sender, p.ledger, render, budget, time.Now, p.log).WithPacer(pace.New(pace.Limits(p.cfg.Mail.RateLimit))).WithIndex(p.ledger)
		page, err := p.orderPage()
		if err != nil {
			return nil, err
		}
		if page != nil {
			st.WithOrderPage(page)
		}
		return functions.Decoded(order.DecodeMailJob, st.Handle), nil
	case fnDeliveryReport:
		return p.deliveryReportStage()
	}
	return nil, fmt.Errorf("function %s has a function.json but no stage in this binary", name)
}

// orderPage gives the order page's link of a session, signed with the first
// ORDER_LINK_SECRET; nil when the mails link to each file instead
// (DOWNLOAD_LINKS=direct).
func (p *pipeline) orderPage() (func(sessionID string) string, error) {
	if !p.cfg.Download.Page() {
		return nil, nil
	}
	signer, err := orderLinks(p.cfg.Download)
	if signer == nil || err != nil {
		return nil, err
	}
	return signer.URL, nil
}

// checkBudget refuses a host.json functionTimeout whose budget does not fit
// a step of minStep (what, for a person: the step that needs it).
func (p *pipeline) checkBudget(b order.Budget, minStep time.Duration, what string) error {
	if err := b.Validate(minStep); err != nil {
		need := ""
		if what != "" {
			need = fmt.Sprintf(" (%s may take %s)", what, minStep)
		}
		return &ExitError{Code: ExitConfig, Err: fmt.Errorf("host.json functionTimeout %s is too short: %w%s; set functionTimeout to at least %s",
			timeSpan(p.app.FunctionTimeout), err, need, timeSpan(order.MinFunctionTimeout(minStep)))}
	}
	return nil
}

// timeSpan writes d as host.json does (hh:mm:ss); 0 is unlimited (-1).
func timeSpan(d time.Duration) string {
	if d <= 0 {
		return "-1"
	}
	s := int(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
}
