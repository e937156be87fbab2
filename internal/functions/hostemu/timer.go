package hostemu

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/ncrontab"
)

// tick runs the timer function fn on its schedule until ctx is done, one
// run at a time, as the host's singleton lock does. A run that comes due
// while the previous one still runs is made up for once, late, with
// IsPastDue, as the host's schedule monitor does.
func (e *Emulator) tick(ctx context.Context, fn functions.Function) {
	log := e.Log.With("function", fn.Name, "schedule", fn.Schedule)
	s, err := ncrontab.Parse(fn.Schedule)
	if err != nil {
		log.Error("timer function not scheduled", "err", err)
		return
	}
	last := time.Now()
	if fn.RunOnStartup { // as the host does when the function asks for it
		e.runTimer(ctx, log, fn, s, last, last, false)
	}
	for ctx.Err() == nil {
		next := s.Next(last)
		if next.IsZero() {
			log.Error("the schedule never falls due")
			return
		}
		sleep(ctx, time.Until(next))
		if ctx.Err() != nil {
			return
		}
		pastDue := time.Since(next) > time.Second
		e.runTimer(ctx, log, fn, s, last, next, pastDue)
		last = next
		if behind := time.Now().Add(-time.Second); last.Before(behind) {
			last = behind // at most one make-up run
		}
	}
}

// RunNow runs the named timer function once, at once (handler local
// --now), and reports whether it succeeded.
func (e *Emulator) RunNow(ctx context.Context, name string) error {
	fn, ok := e.App.Functions[name]
	if !ok || fn.Trigger != "timerTrigger" {
		return fmt.Errorf("no timer function named %s", name)
	}
	s, err := ncrontab.Parse(fn.Schedule)
	if err != nil {
		return err
	}
	now := time.Now()
	if ok, err := e.runTimer(ctx, e.Log.With("function", name), fn, s, now, now, false); !ok {
		return fmt.Errorf("%s failed: %w", name, err)
	}
	return nil
}

// runTimer invokes fn once with the host's timer payload.
func (e *Emulator) runTimer(ctx context.Context, log *slog.Logger, fn functions.Function, s *ncrontab.Schedule, last, due time.Time, pastDue bool) (bool, error) {
	ok, err := e.post(context.WithoutCancel(ctx), fn, TimerBody(fn, last, due, s.Next(due), pastDue))
	if !ok {
		log.Warn("timer invocation failed; the next run comes on schedule", "err", err) // the host does not retry it
	}
	return ok, err
}

// TimerBody builds the body the real host POSTs for a timer function's
// run: Data.<binding> holds the timer's TimerInfo (Schedule,
// ScheduleStatus, IsPastDue) as a JSON object, as the host serialises a
// binding value that converts to one (JObject.FromObject; a JSON string only
// when that fails: docs/healing.md), and Metadata the sys values.
func TimerBody(fn functions.Function, last, due, next time.Time, pastDue bool) []byte {
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000+00:00") }
	info := map[string]any{
		"Schedule":       map[string]any{"AdjustForDST": true},
		"ScheduleStatus": map[string]any{"Last": ts(last), "Next": ts(next), "LastUpdated": ts(due)},
		"IsPastDue":      pastDue,
	}
	body, _ := json.Marshal(map[string]any{
		"Data": map[string]any{fn.Binding: info},
		"Metadata": map[string]any{
			"sys": map[string]any{"MethodName": fn.Name, "UtcNow": time.Now().UTC().Format(time.RFC3339Nano), "RandGuid": uuid.NewString()},
		},
	})
	return body
}
