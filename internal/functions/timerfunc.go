package functions

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

// Timer is what the host tells a timer function about its run. The host
// sends the schedule's status too (Schedule, ScheduleStatus); only
// IsPastDue is relied on.
type Timer struct {
	// IsPastDue reports a run the host missed (the app was down, or
	// another instance held the singleton lock) and makes up for now.
	IsPastDue bool `json:"IsPastDue"`
}

// TimerFunc is a timer function's work: one run, logging to log.
type TimerFunc func(ctx context.Context, log *slog.Logger, t Timer) error

// TimerRoute is the route of one timer-triggered function. The host
// invokes it like a queue function (POST /<Function>, the timer's status
// under Data.<binding>) and never retries a failed run: the next one
// comes on schedule.
type TimerRoute struct {
	Function Function
	Run      TimerFunc
	// Timeout bounds one run (delivery.Budget.Invocation).
	Timeout time.Duration
	Log     *slog.Logger
	// Stderr receives failures, which the host logs at Error level.
	Stderr io.Writer
}

// ServeHTTP runs the function once and answers 200 with the run's log
// lines in Logs, or 500 when it failed.
func (tr TimerRoute) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeResponse(w, http.StatusMethodNotAllowed, Response{Error: "use POST"})
		return
	}
	inv, err := DecodeInvocation(r, tr.Function.Binding, false)
	log, lines := invocationLogger(tr.Log, "function", tr.Function.Name, "invocation_id", inv.ID)
	var t Timer
	if err == nil && len(inv.Data) > 0 {
		err = json.Unmarshal(inv.Data, &t)
	}
	if err != nil { // the run does not depend on it: say so and go on
		log.Warn("timer status not understood; running anyway", "err", err)
	}
	ctx, cancel := context.WithTimeout(r.Context(), tr.Timeout)
	defer cancel()
	if err = tr.run(ctx, log, t); err != nil {
		log.Error("run failed; the next comes on schedule", "err", err)
		fmt.Fprintf(tr.Stderr, "%s %s: %v\n", tr.Function.Name, inv.ID, err)
		writeResponse(w, http.StatusInternalServerError, Response{Logs: lines.take(), Error: err.Error()})
		return
	}
	writeResponse(w, http.StatusOK, Response{Logs: lines.take()})
}

// run calls the function, turning a panic into an error.
func (tr TimerRoute) run(ctx context.Context, log *slog.Logger, t Timer) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return tr.Run(ctx, log, t)
}
