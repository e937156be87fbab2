package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/filedrop/filedrop/internal/app"
	"github.com/filedrop/filedrop/internal/operator"
	"github.com/filedrop/filedrop/internal/order"
)

// stuckView says why an order that is not final does not move (its message
// is in a poison queue, or nothing has happened for a long while) and the
// command that moves it again. The ledger cannot say so itself: the host
// poisons a message without telling the handler.
type stuckView struct {
	// Condition is "poisoned" or "stalled".
	Condition string `json:"condition"`
	// Function, Queue and PoisonQueue name where a poisoned message is.
	Function    string     `json:"function,omitempty"`
	Queue       string     `json:"queue,omitempty"`
	PoisonQueue string     `json:"poison_queue,omitempty"`
	PoisonedAt  *time.Time `json:"poisoned_at,omitempty"`
	// Attempts are the host's tries before it poisoned the message
	// (maxDequeueCount).
	Attempts  int       `json:"attempts,omitempty"`
	Since     time.Time `json:"since"`
	LastError string    `json:"last_error,omitempty"`
	// Fix is the command that moves the order again once the cause of
	// the last error is fixed.
	Fix string `json:"fix"`
}

// stuckFinder tells the orders' views which of them are stuck.
type stuckFinder struct {
	index operator.PoisonIndex
	// attempts is the host's maxDequeueCount.
	attempts int
	// local adds --local to the fix commands, as the operator ran them.
	local bool
	now   time.Time
}

// findStuck peeks at the app's poison queues (the first operator.PeekMax
// messages of each) for orders list and show.
func findStuck(ctx context.Context, p *app.Pipeline, local bool) (stuckFinder, error) {
	targets, err := poisonTargets(p.Functions(), "")
	if err != nil {
		return stuckFinder{}, err
	}
	sources := make([]operator.PoisonSource, len(targets))
	for i, t := range targets {
		sources[i] = operator.PoisonSource{Function: t.Function, Queue: t.Queue, PoisonQueue: t.Poison, Carries: t.carries,
			Messages: p.Queue(t.Poison)}
	}
	idx, err := operator.FindPoisoned(ctx, sources)
	return stuckFinder{index: idx, attempts: p.Functions().Queues.MaxDequeueCount, local: local, now: time.Now()}, err
}

// of is rec's stuckView; nil when the order is not stuck.
func (f stuckFinder) of(rec order.Order) *stuckView {
	s := operator.Diagnose(rec, f.index.Sessions[rec.SessionID], f.now)
	if s == nil {
		return nil
	}
	v := &stuckView{Condition: s.Condition(), Since: s.Since.UTC(), LastError: rec.LastError, Fix: "handler " + s.Fix}
	if f.local {
		v.Fix += " --local"
	}
	if p := s.Poisoned; p != nil {
		v.Function, v.Queue, v.PoisonQueue, v.PoisonedAt, v.Attempts = p.Function, p.Queue, p.PoisonQueue, jsonTime(p.PoisonedAt), f.attempts
	}
	return v
}

// summary is the stuck order in one sentence.
func (s *stuckView) summary() string {
	last := ""
	if s.LastError != "" {
		last = "; last error: " + s.LastError
	}
	if s.Condition == "poisoned" {
		return fmt.Sprintf("poisoned: %s gave up after %s; the message is in %s since %s%s", s.Function, plural(s.Attempts, "attempt"),
			s.PoisonQueue, stamp(deref(s.PoisonedAt)), last)
	}
	return fmt.Sprintf("stalled: no progress since %s%s", stamp(s.Since), last)
}

// remedy is what to run, and when.
func (s *stuckView) remedy() string {
	if s.LastError != "" {
		return "fix the cause, then run " + s.Fix
	}
	return "run " + s.Fix
}

// printStuck lists, below orders list's table, each stuck order with what
// to run, and says when the poison queues hold more than a peek shows.
func printStuck(w io.Writer, views []orderView, unseen int) {
	for _, v := range views {
		if s := v.Stuck; s != nil {
			fmt.Fprintf(w, "%s %s; %s\n", v.SessionID, s.summary(), s.remedy())
		}
	}
	if unseen > 0 {
		fmt.Fprintf(w, "(about %s in the poison queues are beyond what a peek shows: an order among them shows as %s; see handler poison list)\n",
			plural(unseen, "message"), order.StateReceived)
	}
}
