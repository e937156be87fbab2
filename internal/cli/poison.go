package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/storage"
)

// runPoison shows and redrives the poison queues: poison list, poison redrive.
func runPoison(ctx context.Context, env Env, args []string) error {
	return runVerb(ctx, env, "poison", []verb{
		{"list", "show the poisoned messages of each queue, decoded", runPoisonList},
		{"redrive", "move poisoned messages back to their queue", runPoisonRedrive},
	}, args)
}

// peekMax is the most messages a queue shows without taking them.
const peekMax = 32

// poisoned is a queue function and the poison queue where the host puts the
// messages it failed maxDequeueCount times.
type poisoned struct {
	Function string `json:"function"`
	Queue    string `json:"queue"`
	Poison   string `json:"poison_queue"`
}

// poisonTargets returns the queue functions with a poison queue; only, when
// set, keeps the one with that function, queue or poison queue name.
func (p *pipeline) poisonTargets(only string) ([]poisoned, error) {
	var all, kept []poisoned
	var names []string
	for _, fn := range p.app.QueueFunctions() {
		if fn.PoisonQueue() == "" {
			continue
		}
		t := poisoned{Function: fn.Name, Queue: fn.Queue, Poison: fn.PoisonQueue()}
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
	// Problem says why the message does not decode as its queue's message.
	Problem string `json:"problem,omitempty"`
}

func runPoisonList(ctx context.Context, env Env, args []string) (err error) {
	fs := flags(env, "poison list", "poison list [--queue Q] [--local] [--json]\n\nShows the messages the host gave up on (the <queue>-poison queues), decoded:\nsession, event, mail kind and generation; links without their signature.\nShows at most the first 32 of each queue.")
	only := fs.String("queue", "", "only this queue (process-order, send-link) or its function (ProcessOrder, SendLink)")
	local, asJSON := operatorFlags(fs)
	if done, err := parse(fs, args); done {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("poison list takes no arguments, got %q", fs.Args())
	}
	p, targets, err := openPoison(env, *local, *only)
	if err != nil {
		return err
	}
	defer p.explain(&err)
	queues, err := p.peekPoison(ctx, targets)
	if err != nil {
		return err
	}
	return printer{env.Stdout, *asJSON}.print(queues, func(w io.Writer) { printPoison(w, queues) })
}

func openPoison(env Env, local bool, only string) (*pipeline, []poisoned, error) {
	p, err := openPipeline(env, local)
	if err != nil {
		return nil, nil, err
	}
	targets, err := p.poisonTargets(only)
	return p, targets, err
}

// peekPoison returns the first messages of each target's poison queue.
func (p *pipeline) peekPoison(ctx context.Context, targets []poisoned) ([]poisonQueue, error) {
	out := make([]poisonQueue, 0, len(targets))
	for _, t := range targets {
		q := p.queues.Queue(t.Poison)
		n, err := q.Count(ctx)
		if err != nil {
			return nil, err
		}
		pq := poisonQueue{poisoned: t, Count: n, Messages: []poisonMessage{}}
		if n > 0 {
			msgs, err := q.Peek(ctx, peekMax)
			if err != nil {
				return nil, err
			}
			for _, m := range msgs {
				pq.Messages = append(pq.Messages, decodePoisoned(t.Function, m))
			}
		}
		out = append(out, pq)
	}
	return out, nil
}

// decodePoisoned decodes a message of the named function's queue.
func decodePoisoned(function string, m storage.Message) poisonMessage {
	pm := poisonMessage{ID: m.ID, PoisonedAt: m.InsertedAt.UTC()}
	// Decoded here rather than trusting m.Data: Peek keeps what decodes of
	// an invalid text.
	data, err := base64.StdEncoding.DecodeString(m.Text)
	if err != nil {
		pm.Problem = "not base64: the host cannot read it either"
		return pm
	}
	switch function {
	case fnProcessOrder:
		var om order.OrderMessage
		if err = json.Unmarshal(data, &om); err == nil {
			err = om.Validate()
		}
		pm.SessionID, pm.EventID, pm.EventType, pm.Trigger = om.SessionID, om.EventID, om.EventType, om.Trigger
	case fnSendLink:
		var mm order.MailMessage
		if err = json.Unmarshal(data, &mm); err == nil {
			err = mm.Validate()
		}
		v := mailViewFrom(mm)
		pm.SessionID, pm.EventID, pm.Kind, pm.Generation, pm.To, pm.Links = mm.SessionID, mm.EventID, v.Kind, v.Generation, v.To, v.Links
	default:
		err = fmt.Errorf("%d bytes for %s, which this version does not decode", len(data), function)
	}
	if err != nil {
		pm.Problem = strings.ReplaceAll(err.Error(), "\n", "; ")
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

func runPoisonRedrive(ctx context.Context, env Env, args []string) (err error) {
	fs := flags(env, "poison redrive", "poison redrive [--queue Q] [--dry-run] [--local] [--json]\n\nMoves the poisoned messages back to the queue they came from, unchanged, for\nthe functions to try again (fix the cause first: see poison list and the\norders' last errors). Messages poisoned again during the run are left for the\nnext one. Says \"nothing to redrive\" and exits 0 when the poison queues are empty.")
	only := fs.String("queue", "", "only this queue (process-order, send-link) or its function (ProcessOrder, SendLink)")
	dryRun := fs.Bool("dry-run", false, "show what would move, and move nothing")
	local, asJSON := operatorFlags(fs)
	if done, err := parse(fs, args); done {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("poison redrive takes no arguments, got %q", fs.Args())
	}
	p, targets, err := openPoison(env, *local, *only)
	if err != nil {
		return err
	}
	defer p.explain(&err)
	var out []redriven
	if *dryRun {
		out, err = p.previewRedrive(ctx, targets)
	} else {
		out, err = p.redriveAll(ctx, targets, newProgress(env.Stderr))
	}
	report := struct {
		DryRun bool       `json:"dry_run"`
		Queues []redriven `json:"queues"`
	}{*dryRun, out}
	if perr := (printer{env.Stdout, *asJSON}).print(report, func(w io.Writer) { printRedriven(w, out, *dryRun) }); err == nil {
		err = perr
	}
	return err
}

// previewRedrive tells what a redrive would move.
func (p *pipeline) previewRedrive(ctx context.Context, targets []poisoned) ([]redriven, error) {
	queues, err := p.peekPoison(ctx, targets)
	out := make([]redriven, len(queues))
	for i, q := range queues {
		out[i] = redriven{poisoned: q.poisoned, Pending: q.Count, Messages: q.Messages}
	}
	return out, err
}

// redriveAll moves every target's poisoned messages back; on an error it
// returns what it moved so far with the error.
func (p *pipeline) redriveAll(ctx context.Context, targets []poisoned, prog *progress) ([]redriven, error) {
	out := make([]redriven, 0, len(targets))
	for _, t := range targets {
		n, err := p.redrive(ctx, t, prog)
		out = append(out, redriven{poisoned: t, Moved: n})
		if err != nil {
			return out, fmt.Errorf("redrive %s after moving %s: %w", t.Poison, plural(n, "message"), err)
		}
	}
	return out, nil
}

const (
	// maxRedrive bounds the messages one redrive takes from one queue.
	maxRedrive = 100_000
	// redriveHold is how long a message being moved stays invisible; one
	// that is left (poisoned again during the run) reappears after it.
	redriveHold = 30 * time.Second
)

// redrive moves t's poisoned messages back to t's queue, each sent before it
// is deleted: a failure in between leaves a copy in both queues, which the
// pipeline's deduplication makes harmless. Messages poisoned after the run
// began (by the storage service's clock) are left where they are, so a
// message failing again at once cannot keep the loop going.
func (p *pipeline) redrive(ctx context.Context, t poisoned, prog *progress) (int, error) {
	src, dst := p.queues.Queue(t.Poison), p.queues.Queue(t.Queue)
	began := time.Now()
	moved := 0
	for range maxRedrive / peekMax {
		msgs, err := src.Receive(ctx, peekMax, redriveHold)
		if errors.Is(err, order.ErrNotFound) || (err == nil && len(msgs) == 0) {
			return moved, nil // no poison queue, or nothing (visible) left
		}
		if err != nil {
			return moved, err
		}
		for _, m := range msgs {
			if m.InsertedAt.After(began) {
				continue
			}
			if err := dst.SendText(ctx, m.Text, 0); err != nil {
				return moved, err
			}
			if err := src.Delete(ctx, m); err != nil {
				return moved, err
			}
			moved++
			prog.step(func() string {
				return fmt.Sprintf("redrive: %s moved from %s to %s", plural(moved, "message"), t.Poison, t.Queue)
			})
		}
	}
	return moved, fmt.Errorf("stopped after %d batches; run redrive again for the rest", maxRedrive/peekMax)
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
