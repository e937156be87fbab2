package app

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/http"
	"time"

	"github.com/filedrop/filedrop/internal/config"
	"github.com/filedrop/filedrop/internal/dataverse"
	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/operator"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/orderevents"
	"github.com/filedrop/filedrop/internal/webhooks"
)

// This file is the order events' wiring: the sinks the settings name, the
// ledger every writer uses (an order.Publisher when a sink is configured,
// so that each write records and queues its change's events), and the
// OrderEvents stage.

// sinkNames names the configured sinks, as the outbox and the OrderEvents
// messages name them.
func sinkNames(c config.Events) []string {
	var names []string
	for _, u := range c.URLs {
		names = append(names, orderevents.WebhookSink(u.Reveal()))
	}
	if c.Dataverse.URL != "" {
		names = append(names, orderevents.DataverseSink)
	}
	return names
}

// publisher returns the ledger's order.Publisher on the OrderEvents queue,
// or nil when order events are off.
func (p *Pipeline) publisher() (*order.Publisher, error) {
	if !p.cfg.Events.Enabled() {
		return nil, nil
	}
	q, err := p.fns.QueueOf(fnOrderEvents)
	if err != nil {
		return nil, err
	}
	return &order.Publisher{Records: p.ledger, Queue: p.queues.Queue(q), Sinks: sinkNames(p.cfg.Events), Log: p.log}, nil
}

// EventsEnabled reports whether a sink is configured: only then are order
// events recorded and queued.
func (p *Pipeline) EventsEnabled() bool { return p.cfg.Events.Enabled() }

// newSinks builds the configured sinks by name.
func newSinks(c config.Events) (map[string]orderevents.Sink, error) {
	sinks := map[string]orderevents.Sink{}
	secrets := make([]string, len(c.Secrets))
	for i, s := range c.Secrets {
		secrets[i] = s.Reveal()
	}
	for _, u := range c.URLs {
		s, err := webhooks.New(u.Reveal(), secrets, nil)
		if err != nil {
			return nil, &ConfigError{Err: fmt.Errorf("ORDER_EVENTS_URL: %w", err)}
		}
		sinks[orderevents.WebhookSink(u.Reveal())] = s
	}
	if c.Dataverse.URL != "" {
		cred, err := identity(c.Dataverse.ClientID)
		if err != nil {
			return nil, fmt.Errorf("the Dataverse credential (DATAVERSE_CLIENT_ID): %w", err)
		}
		client, err := dataverse.New(c.Dataverse.URL, cred, &dataverse.Options{OrderTable: c.Dataverse.OrderTable})
		if err != nil {
			return nil, &ConfigError{Err: err}
		}
		sinks[orderevents.DataverseSink] = client
	}
	return sinks, nil
}

// eventsStage returns the OrderEvents stage, or, with events off, a stage
// that acknowledges what its queue still holds (events queued before the
// sinks were unset), each with a line: they stay in their orders' outboxes,
// and handler events redeliver sends them once a sink is set again.
func (p *Pipeline) eventsStage(budget delivery.Budget) (functions.HandlerFunc, error) {
	if !p.cfg.Events.Enabled() {
		return functions.Decoded(order.DecodeEventJob, func(_ context.Context, d delivery.Attempt, j order.EventJob) error {
			cmp.Or(d.Log, p.log).With(j.LogAttrs()...).Warn("order events are off (no ORDER_EVENTS_URL or DATAVERSE_URL): the event is not delivered; it stays on its order")
			return nil
		}), nil
	}
	sinks, err := newSinks(p.cfg.Events)
	if err != nil {
		return nil, err
	}
	var page func(string) string
	if p.cfg.Events.IncludeLink {
		if page, err = p.orderPage(); err != nil {
			return nil, err
		}
	}
	st, err := orderevents.New(orderevents.Deps{Sinks: sinks, Records: p.records(), Budget: budget, OrderPage: page, Log: p.log})
	if err != nil {
		return nil, err
	}
	return functions.Decoded(order.DecodeEventJob, st.Handle), nil
}

// ListEvents returns the order events f selects (see operator.ListEvents).
func (p *Pipeline) ListEvents(ctx context.Context, f operator.EventFilter) ([]operator.EventLine, error) {
	return operator.ListEvents(ctx, p.ledger, p.ledger, f)
}

// RedeliverEvents queues again the order events f selects that a
// configured sink has not taken (see operator.Redeliver); with events off
// it is operator.ErrEventsOff.
func (p *Pipeline) RedeliverEvents(ctx context.Context, f operator.EventFilter, dryRun bool) (operator.RedeliverSummary, error) {
	return operator.Redeliver(ctx, p.events, p.ledger, f, sinkNames(p.cfg.Events), dryRun, time.Now())
}

// EventReceiver returns a receiver of order events for local runs (handler
// events receive): it verifies each webhook with secrets (the whsec_ ones
// of ORDER_EVENTS_SECRET) and hands each event to got with its raw body.
func EventReceiver(secrets []string, got func(e order.Event, body []byte) error) (http.Handler, error) {
	signer, err := webhooks.NewSigner(secrets)
	if err != nil {
		return nil, &ConfigError{Err: fmt.Errorf("ORDER_EVENTS_SECRET: %w", err)}
	}
	return &webhooks.Receiver{Signer: signer, Got: got}, nil
}

// WithoutIdleFunctions returns fns without the OrderEvents function when
// order events are off, as the template disables it in Azure (the app
// setting AzureWebJobs.OrderEvents.Disabled): handler local then polls no
// queue that stays empty.
func WithoutIdleFunctions(fns functions.App, cfg config.Config) functions.App {
	if cfg.Events.Enabled() {
		return fns
	}
	out := fns
	out.Functions = maps.Clone(fns.Functions)
	delete(out.Functions, fnOrderEvents)
	return out
}
