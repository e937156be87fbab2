package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/app"
	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/operator"
)

// runPoison shows and redrives the poison queues: poison list, poison redrive.
func runPoison(ctx context.Context, env Env, args []string) error {
	return runVerb(ctx, env, "poison", []verb{
		{"list", "show the poisoned messages of each queue, decoded", runPoisonList},
		{"redrive", "move poisoned messages back to their queue", runPoisonRedrive},
	}, args)
}

// poisoned is a queue function and the poison queue where the host puts the
// messages it failed maxDequeueCount times.
type poisoned struct {
	Function string `json:"function"`
	Queue    string `json:"queue"`
	Poison   string `json:"poison_queue"`
	// carries is the message the queue carries.
	carries operator.Carries
}

// poisonTargets returns the queue functions of fns with a poison queue;
// only, when set, keeps the one with that function, queue or poison queue
// name.
func poisonTargets(fns functions.App, only string) ([]poisoned, error) {
	var all, kept []poisoned
	var names []string
	for _, fn := range fns.QueueFunctions() {
		if fn.PoisonQueue() == "" {
			continue
		}
		t := poisoned{Function: fn.Name, Queue: fn.Queue, Poison: fn.PoisonQueue(), carries: app.Carries(fn.Name)}
		all = append(all, t)
		names = append(names, t.Queue)
		if strings.EqualFold(only, t.Function) || only == t.Queue || only == t.Poison {
			kept = append(kept, t)
		}
	}
	switch {
	case only == "":
		return all, nil
	case len(kept) == 0:
		return nil, usageErr("--queue %q is not a queue with a poison queue; use a queue (%s) or its function's name", only, strings.Join(names, ", "))
	}
	return kept, nil
}

// poisonQueue is a poison queue's content as poison list shows it.
type poisonQueue struct {
	poisoned
	// Count is the queue's approximate message count.
	Count    int             `json:"count"`
	Messages []poisonMessage `json:"messages"`
}

// poisonMessage is a poisoned message, decoded; links without signature.
type poisonMessage struct {
	ID         string     `json:"id"`
	PoisonedAt time.Time  `json:"poisoned_at"`
	SessionID  string     `json:"session_id,omitempty"`
	EventID    string     `json:"event_id,omitempty"`
	EventType  string     `json:"event_type,omitempty"`
	Trigger    string     `json:"trigger,omitempty"`
	Kind       string     `json:"kind,omitempty"`
	Generation int        `json:"generation,omitempty"`
	To         string     `json:"to,omitempty"`
	Links      []linkView `json:"links,omitempty"`
	// OperationID and DeliveryStatus are a delivery report's.
	OperationID    string `json:"operation_id,omitempty"`
	DeliveryStatus string `json:"delivery_status,omitempty"`
	// OrderEventID and Sink are an order event's, for that sink.
	OrderEventID string `json:"order_event_id,omitempty"`
	Sink         string `json:"sink,omitempty"`
	// Problem says why the message does not decode as its queue's message.
	Problem string `json:"problem,omitempty"`
}

func runPoisonList(ctx context.Context, env Env, args []string) error {
	op := newOperation(env, "poison list", "poison list [--queue Q] [--local] [--json]\n\nShows the messages the host gave up on (the <queue>-poison queues), decoded:\nsession, event, mail kind and generation; links without their signature.\nShows at most the first 32 of each queue.", false)
	only := op.fs.String("queue", "", "only this queue (process-order, send-link, delivery-reports, order-events) or its function (ProcessOrder, ...)")
	return op.run(env, args, op.noArgs, func(p *app.Pipeline, out printer) error {
		targets, err := poisonTargets(p.Functions(), *only)
		if err != nil {
			return err
		}
		queues, err := peekPoison(ctx, p, targets)
		if err != nil {
			return err
		}
		return out.print(queues, func(w io.Writer) { printPoison(w, queues) })
	})
}

// peekPoison returns the first messages of each target's poison queue.
func peekPoison(ctx context.Context, p *app.Pipeline, targets []poisoned) ([]poisonQueue, error) {
	out := make([]poisonQueue, 0, len(targets))
	for _, t := range targets {
		n, msgs, err := operator.Peek(ctx, p.Queue(t.Poison), t.Function, t.carries)
		if err != nil {
			return nil, err
		}
		pq := poisonQueue{poisoned: t, Count: n, Messages: make([]poisonMessage, 0, len(msgs))}
		for _, m := range msgs {
			pq.Messages = append(pq.Messages, poisonMessageOf(m))
		}
		out = append(out, pq)
	}
	return out, nil
}

// poisonMessageOf is a decoded message as poison list shows it.
func poisonMessageOf(m operator.Inspected) poisonMessage {
	pm := poisonMessage{ID: m.ID, PoisonedAt: m.PoisonedAt}
	if om := m.Order; om != nil {
		pm.SessionID, pm.EventID, pm.EventType, pm.Trigger = om.SessionID, om.EventID, om.EventType, om.Trigger
	}
	if mm := m.Mail; mm != nil {
		v := mailViewFrom(*mm)
		pm.SessionID, pm.EventID, pm.Kind, pm.Generation, pm.To, pm.Links = mm.SessionID, mm.EventID, v.Kind, v.Generation, v.To, v.Links
	}
	if r := m.Report; r != nil {
		pm.EventID, pm.EventType, pm.OperationID, pm.DeliveryStatus = r.EventID, r.EventType, r.OperationID, string(r.Status)
	}
	if e := m.Event; e != nil {
		pm.SessionID, pm.OrderEventID, pm.EventType, pm.Sink = e.Event.Order.SessionID, e.Event.ID, string(e.Event.Type), e.Sink
	}
	if m.Problem != nil {
		pm.Problem = strings.ReplaceAll(m.Problem.Error(), "\n", "; ")
	}
	return pm
}

func printPoison(w io.Writer, queues []poisonQueue) {
	total := 0
	for _, q := range queues {
		total += q.Count
		if q.Count == 0 {
			continue
		}
		fmt.Fprintf(w, "%s (%s, back to %s): about %s\n", q.Poison, q.Function, q.Queue, plural(q.Count, "message"))
		if q.Count > len(q.Messages) {
			fmt.Fprintf(w, "showing the first %d\n", len(q.Messages))
		}
		fmt.Fprintln(w, "  POISONED\tSESSION\tEVENT\tDETAIL")
		for _, m := range q.Messages {
			fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", stamp(m.PoisonedAt), dash(m.SessionID), dash(m.EventID), m.detail())
		}
	}
	if total == 0 {
		fmt.Fprintln(w, "no poisoned messages")
	}
}

// detail is the rest of the message on one line.
func (m poisonMessage) detail() string {
	var parts []string
	switch {
	case m.OperationID != "":
		parts = append(parts, fmt.Sprintf("%s of mail %s", dash(m.DeliveryStatus), m.OperationID))
	case m.OrderEventID != "":
		parts = append(parts, fmt.Sprintf("%s %s for %s", m.EventType, m.OrderEventID, m.Sink))
	case m.EventType != "":
		parts = append(parts, m.EventType+", trigger "+dash(m.Trigger))
	case m.Kind != "":
		parts = append(parts, fmt.Sprintf("%s generation %d to %s", m.Kind, m.Generation, dash(m.To)))
	}
	for _, l := range m.Links {
		parts = append(parts, l.URL)
	}
	if m.Problem != "" {
		parts = append(parts, "invalid: "+m.Problem)
	}
	return strings.Join(parts, ", ")
}

// redriven is what poison redrive did to one poison queue.
type redriven struct {
	poisoned
	// Moved counts the messages moved (a dry run moves none).
	Moved int `json:"moved"`
	// Pending is, in a dry run, the approximate count that would move.
	Pending int `json:"pending,omitempty"`
	// Messages are, in a dry run, the first messages that would move.
	Messages []poisonMessage `json:"messages,omitempty"`
}

func runPoisonRedrive(ctx context.Context, env Env, args []string) error {
	op := newOperation(env, "poison redrive", "poison redrive [--queue Q] [--dry-run] [--local] [--json]\n\nMoves the poisoned messages back to the queue they came from, unchanged, for\nthe functions to try again (fix the cause first: see poison list and the\norders' last errors). Messages poisoned again during the run are left for the\nnext one. Says \"nothing to redrive\" and exits 0 when the poison queues are empty.", false)
	only := op.fs.String("queue", "", "only this queue (process-order, send-link, delivery-reports, order-events) or its function (ProcessOrder, ...)")
	dryRun := op.fs.Bool("dry-run", false, "show what would move, and move nothing")
	return op.run(env, args, op.noArgs, func(p *app.Pipeline, out printer) error {
		targets, err := poisonTargets(p.Functions(), *only)
		if err != nil {
			return err
		}
		var moved []redriven
		if *dryRun {
			moved, err = previewRedrive(ctx, p, targets)
		} else {
			moved, err = redriveAll(ctx, p, targets, newProgress(env.Stderr))
		}
		report := struct {
			DryRun bool       `json:"dry_run"`
			Queues []redriven `json:"queues"`
		}{*dryRun, moved}
		if perr := out.print(report, func(w io.Writer) { printRedriven(w, moved, *dryRun) }); err == nil {
			err = perr
		}
		return err
	})
}

// previewRedrive tells what a redrive would move.
func previewRedrive(ctx context.Context, p *app.Pipeline, targets []poisoned) ([]redriven, error) {
	queues, err := peekPoison(ctx, p, targets)
	out := make([]redriven, len(queues))
	for i, q := range queues {
		out[i] = redriven{poisoned: q.poisoned, Pending: q.Count, Messages: q.Messages}
	}
	return out, err
}

// redriveAll moves every target's poisoned messages back; on an error it
// returns what it moved so far with the error.
func redriveAll(ctx context.Context, p *app.Pipeline, targets []poisoned, prog *progress) ([]redriven, error) {
	out := make([]redriven, 0, len(targets))
	for _, t := range targets {
		n, err := operator.Redrive(ctx, p.Queue(t.Poison), p.Queue(t.Queue), func(moved int) {
			prog.step(func() string {
				return fmt.Sprintf("redrive: %s moved from %s to %s", plural(moved, "message"), t.Poison, t.Queue)
			})
		})
		out = append(out, redriven{poisoned: t, Moved: n})
		if err != nil {
			return out, fmt.Errorf("redrive %s after moving %s: %w", t.Poison, plural(n, "message"), err)
		}
	}
	return out, nil
}

func printRedriven(w io.Writer, out []redriven, dryRun bool) {
	total := 0
	for _, r := range out {
		if dryRun {
			total += r.Pending
			continue
		}
		total += r.Moved
		if r.Moved > 0 {
			fmt.Fprintf(w, "moved %s from %s back to %s\n", plural(r.Moved, "message"), r.Poison, r.Queue)
		}
	}
	switch {
	case total == 0:
		fmt.Fprintln(w, "nothing to redrive")
	case dryRun:
		queues := make([]poisonQueue, len(out))
		for i, r := range out {
			queues[i] = poisonQueue{poisoned: r.poisoned, Count: r.Pending, Messages: r.Messages}
		}
		printPoison(w, queues)
		fmt.Fprintf(w, "dry run: would move about %s; nothing moved\n", plural(total, "message"))
	}
}
