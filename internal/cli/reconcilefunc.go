package cli

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/config"
	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/operator"
)

// fnReconcile is the timer function that heals the pipeline.
const fnReconcile = "Reconcile"

// maxLoggedSessions bounds the session ids a Reconcile run's summary line
// names.
const maxLoggedSessions = 100

// timer returns the work behind a timer function.
func (p *pipeline) timer(name string) (functions.TimerFunc, error) {
	if name != fnReconcile {
		return nil, fmt.Errorf("function %s has a function.json but no timer work in this binary", name)
	}
	return p.sweep, nil
}

// sweep is one run of the scheduled Reconcile function (operator.Sweep):
// it logs one summary line of what it saw and did.
func (p *pipeline) sweep(ctx context.Context, log *slog.Logger, t functions.Timer) error {
	rc, err := operator.NewReconciler(operator.ReconcilerDeps{Stripe: newStripe(p.cfg.Stripe, p.log), Records: p.ledger, Orders: p.orders,
		Livemode: p.cfg.Stripe.Livemode})
	if err != nil {
		return err
	}
	s := &operator.Sweep{
		Reconciler: rc,
		Window:     p.cfg.Reconcile.Window,
		Grace:      p.cfg.Reconcile.Grace,
		Now:        time.Now,
	}
	for _, fn := range p.app.QueueFunctions() {
		s.Poison = append(s.Poison, operator.PoisonedQueue{Function: fn.Name, Carries: carries(fn.Name),
			Poison: p.queues.Queue(fn.PoisonQueue()), Queue: p.queues.Queue(fn.Queue)})
	}
	start := time.Now()
	sum, err := s.Run(ctx)
	queued := sum.Reconcile.QueuedSessions
	if len(queued) > maxLoggedSessions {
		queued = queued[:maxLoggedSessions]
	}
	attrs := []any{"past_due", t.IsPastDue, "window", p.cfg.Reconcile.Window.String(),
		"seen", sum.Reconcile.Seen, "fulfilled", sum.Reconcile.Fulfilled, "queued", sum.Reconcile.Queued,
		"redriven", sum.Redriven, "skipped", sum.Skipped, "queued_sessions", queued, "ms", time.Since(start).Milliseconds()}
	if err != nil {
		log.Warn("reconcile run incomplete", append(attrs, "err", err)...)
		return err
	}
	log.Info("reconcile run", attrs...)
	return nil
}

// backoff is the route's policy for transient failures, from the settings.
func (p *pipeline) backoff() delivery.Backoff {
	return delivery.Backoff{Min: p.cfg.Retry.Min, Max: p.cfg.Retry.Max, Budget: p.cfg.Retry.Budget}
}

// withSchedules resolves the timer functions' schedules that name a setting
// left unset to the setting's default, as config read it: the host needs
// the setting in the app settings, handler local does not.
func withSchedules(app functions.App, cfg config.Config) functions.App {
	out := app
	out.Functions = maps.Clone(app.Functions)
	for name, fn := range out.Functions {
		if fn.Trigger == "timerTrigger" && fn.ScheduleSetting == "RECONCILE_SCHEDULE" && strings.HasPrefix(fn.Schedule, "%") {
			fn.Schedule = cfg.Reconcile.Schedule
			out.Functions[name] = fn
		}
	}
	return out
}
