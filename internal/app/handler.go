package app

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/filedrop/filedrop/internal/checkoutcomplete"
	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/deliveryreport"
	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/pace"
	"github.com/filedrop/filedrop/internal/processorder"
	"github.com/filedrop/filedrop/internal/sendlink"
)

// Handler returns the custom handler's HTTP surface (see newServer): the
// webhook, the order page, and a route per queue and timer function, each
// with its stage built from the settings. Failures the host retries are
// also written to stderr, which the host logs at Error level. A host.json
// functionTimeout too short for a stage's step is a *ConfigError.
func (p *Pipeline) Handler(stderr io.Writer) (http.Handler, error) {
	secrets := make([]string, len(p.cfg.Stripe.WebhookSecrets))
	for i, s := range p.cfg.Stripe.WebhookSecrets {
		secrets[i] = s.Reveal()
	}
	webhook, err := checkoutcomplete.New(checkoutcomplete.Deps{Secrets: secrets, Queue: p.orders, Livemode: p.cfg.Stripe.Livemode, Log: p.log})
	if err != nil {
		return nil, err
	}
	budget := delivery.BudgetFor(p.fns.FunctionTimeout)
	alarms := functions.NewAlarms(time.Minute, time.Now) // one loud line a minute per refused setting
	routes := map[string]http.Handler{}
	for _, fn := range p.fns.QueueFunctions() {
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
	for _, fn := range p.fns.TimerFunctions() {
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
func (p *Pipeline) stage(name string, budget delivery.Budget) (functions.HandlerFunc, error) {
	switch name {
	case fnProcessOrder:
		if err := p.checkBudget(budget, 0, ""); err != nil {
			return nil, err
		}
		stripe := newStripe(p.cfg.Stripe, p.log)
		page, err := p.orderPage()
		if err != nil {
			return nil, err
		}
		st, err := processorder.New(processorder.Deps{Sessions: stripe, Payments: stripe, Originals: p.originals, Mail: p.mails,
			Records: p.records(), Livemode: p.cfg.Stripe.Livemode, Budget: budget, OrderPage: page, Log: p.log})
		if err != nil {
			return nil, err
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
		page, err := p.orderPage()
		if err != nil {
			return nil, err
		}
		st, err := sendlink.New(sendlink.Deps{Sender: sender, Records: p.records(), Renderer: render, Budget: budget,
			Pacer: pace.New(pace.Limits(p.cfg.Mail.RateLimit)), OrderPage: page, Index: p.ledger, Log: p.log})
		if err != nil {
			return nil, err
		}
		return functions.Decoded(order.DecodeMailJob, st.Handle), nil
	case fnDeliveryReport:
		// ACS delivery reports that Event Grid writes into the queue:
		// decoded (an undecodable one is poisoned unread), found through
		// the ledger's index of mails and recorded on their mail.
		st, err := deliveryreport.New(deliveryreport.Deps{Records: p.records(), Mails: p.ledger, Log: p.log})
		if err != nil {
			return nil, err
		}
		return functions.Decoded(deliveryreport.Decode, st.Handle), nil
	case fnOrderEvents:
		return p.eventsStage(budget)
	}
	return nil, fmt.Errorf("function %s has a function.json but no stage in this binary", name)
}

// orderPage gives the order page's link of a session, signed with the first
// ORDER_LINK_SECRET; nil when the mails link to each file instead
// (DOWNLOAD_LINKS=direct).
func (p *Pipeline) orderPage() (func(sessionID string) string, error) {
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
func (p *Pipeline) checkBudget(b delivery.Budget, minStep time.Duration, what string) error {
	if err := b.Validate(minStep); err != nil {
		need := ""
		if what != "" {
			need = fmt.Sprintf(" (%s may take %s)", what, minStep)
		}
		return &ConfigError{Err: fmt.Errorf("host.json functionTimeout %s is too short: %w%s; set functionTimeout to at least %s",
			timeSpan(p.fns.FunctionTimeout), err, need, timeSpan(delivery.MinFunctionTimeout(minStep)))}
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
