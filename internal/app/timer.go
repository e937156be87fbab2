package app

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

// timer returns the stage behind a timer function.
func (p *Pipeline) timer(name string) (functions.TimerFunc, error) {
	if name != fnReconcile {
		return nil, fmt.Errorf("function %s has a function.json but no timer work in this binary", name)
	}
	rc, err := p.Reconciler()
	if err != nil {
		return nil, err
	}
	var poison []operator.PoisonedQueue
	for _, fn := range p.fns.QueueFunctions() {
		poison = append(poison, operator.PoisonedQueue{Function: fn.Name, Carries: Carries(fn.Name),
			Poison: p.queues.Queue(fn.PoisonQueue()), Queue: p.queues.Queue(fn.Queue)})
	}
	d := reconcile.Deps{Reconciler: rc, Poison: poison, Window: p.cfg.Reconcile.Window, Grace: p.cfg.Reconcile.Grace}
	if p.events != nil {
		d.Events, d.Orders = p.events, p.ledger
	}
	st, err := reconcile.New(d)
	if err != nil {
		return nil, err
	}
	return st.Handle, nil
}

// backoff is the route's policy for transient failures, from the settings.
func (p *Pipeline) backoff() delivery.Backoff {
	return delivery.Backoff{Min: p.cfg.Retry.Min, Max: p.cfg.Retry.Max, Budget: p.cfg.Retry.Budget}
}

// ResolveSchedules returns fns with the timer functions' schedules that
// name a setting left unset resolved to the setting's default, as config
// read it: the host needs the setting in the app settings, handler local
// does not.
func ResolveSchedules(fns functions.App, cfg config.Config) functions.App {
	out := fns
	out.Functions = maps.Clone(fns.Functions)
	for name, fn := range out.Functions {
		if fn.Trigger == "timerTrigger" && fn.ScheduleSetting == "RECONCILE_SCHEDULE" && strings.HasPrefix(fn.Schedule, "%") {
			fn.Schedule = cfg.Reconcile.Schedule
			out.Functions[name] = fn
		}
	}
	return out
}
