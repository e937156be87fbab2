package cli

import (
	"fmt"
	"maps"
	"strings"

	"github.com/filedrop/filedrop/internal/config"
	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/operator"
	"github.com/filedrop/filedrop/internal/reconcile"
)

// fnReconcile is the timer function that heals the pipeline.
const fnReconcile = "Reconcile"

// timer returns the stage behind a timer function.
func (p *pipeline) timer(name string) (functions.TimerFunc, error) {
	if name != fnReconcile {
		return nil, fmt.Errorf("function %s has a function.json but no timer work in this binary", name)
	}
	rc, err := p.reconciler()
	if err != nil {
		return nil, err
	}
	var poison []operator.PoisonedQueue
	for _, fn := range p.app.QueueFunctions() {
		poison = append(poison, operator.PoisonedQueue{Function: fn.Name, Carries: carries(fn.Name),
			Poison: p.queues.Queue(fn.PoisonQueue()), Queue: p.queues.Queue(fn.Queue)})
	}
	st, err := reconcile.New(reconcile.Deps{Reconciler: rc, Poison: poison, Window: p.cfg.Reconcile.Window, Grace: p.cfg.Reconcile.Grace})
	if err != nil {
		return nil, err
	}
	return st.Handle, nil
}

// reconciler is the judge of lost sessions that handler reconcile and the
// Reconcile function share.
func (p *pipeline) reconciler() (*operator.Reconciler, error) {
	return operator.NewReconciler(operator.ReconcilerDeps{Stripe: newStripe(p.cfg.Stripe, p.log), Records: p.ledger, Orders: p.orders,
		Livemode: p.cfg.Stripe.Livemode})
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
