package functions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/order"
)

// Sender puts a message on a queue, invisible for delay.
type Sender interface {
	Send(ctx context.Context, data []byte, delay time.Duration) error
}

// HandlerFunc is a queue function's stage, taking the delivery and the
// message's bytes.
type HandlerFunc func(ctx context.Context, d delivery.Attempt, data []byte) error

// Job is a decoded queue message, the work it asks for, that names itself
// in logs (order.ProcessJob, order.MailJob).
type Job interface {
	LogAttrs() []any
}

// Decoded adapts a stage that takes a typed job. A message that decode
// rejects can never be handled: the route moves it to the poison queue.
// The route's closing line names the message with its LogAttrs (the stage
// adds them to its own lines).
func Decoded[J Job](decode func([]byte) (J, error), handle func(context.Context, delivery.Attempt, J) error) HandlerFunc {
	return func(ctx context.Context, d delivery.Attempt, data []byte) error {
		m, err := decode(data)
		if err != nil {
			return &undecodableError{err: err}
		}
		if cell, ok := ctx.Value(logCellKey{}).(*logCell); ok {
			cell.log = cell.log.With(m.LogAttrs()...)
		}
		return handle(ctx, d, m)
	}
}

// logCell holds an invocation's logger so that Decoded can name the message
// in the route's closing line too. It carries nothing but log attributes;
// what a stage acts on travels in its delivery.Attempt.
type logCell struct{ log *slog.Logger }

type logCellKey struct{}

type undecodableError struct{ err error }

func (e *undecodableError) Error() string { return e.err.Error() }
func (e *undecodableError) Unwrap() error { return e.err }

// QueueRoute is the route of one queue-triggered function.
type QueueRoute struct {
	Function Function
	Handle   HandlerFunc
	// Requeue is the function's own queue: a throttled message is put back
	// on it with the delay the dependency asked for.
	Requeue Sender
	// Poison is the function's poison queue, for messages that can never be
	// decoded.
	Poison Sender
	// Timeout bounds one invocation (delivery.Budget.Invocation); shorter than host.json functionTimeout,
	// because on a timeout the host restarts the whole handler.
	Timeout time.Duration
	// Backoff is the policy for transient failures (order.Transient): the
	// message is re-scheduled with its delay, counted in the message, until
	// its budget is spent. The zero value is delivery.DefaultBackoff().
	Backoff delivery.Backoff
	// Alarms limits the loud line about a refused setting (order.ClassMisconfigured);
	// the wiring shares one among the routes. Nil: every time.
	Alarms *Alarms
	Log    *slog.Logger
	// Stderr receives retryable failures too: the host logs the handler's
	// stderr at Error level, while it discards a failed answer's Logs.
	Stderr io.Writer
}

// ServeHTTP decodes the invocation, runs the stage and answers:
//   - success: 200 with the invocation's log lines in Logs;
//   - permanent failure or an undecodable message (moved to the poison
//     queue): 200, so the host does not retry it. Whether a permanent
//     failure was recorded is the stage's to say: the route only knows that
//     the message is acknowledged;
//   - throttled: the same message is put back on the queue with the delay
//     asked for, then 200, so throttling spends none of the host's attempts;
//   - held (a setting of the deployment was refused): as throttled, and a
//     loud line naming the setting, at most once per Alarms interval;
//   - transient (a dependency is down): a copy of the message counting one
//     more failure is put back on the queue with Backoff's delay, then 200;
//     once the budget is spent (the stage has recorded the order as needing
//     attention) the message is moved to the poison queue instead;
//   - anything else: 500, so the host retries and, after maxDequeueCount,
//     moves the message to the poison queue.
func (q QueueRoute) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeResponse(w, http.StatusMethodNotAllowed, Response{Error: "use POST"})
		return
	}
	inv, err := DecodeInvocation(r, q.Function.Binding, q.Function.DataType == "binary")
	log, lines := invocationLogger(q.Log, "function", q.Function.Name, "invocation_id", inv.ID)
	if err != nil {
		log.Error("invocation not understood", "err", err)
		fmt.Fprintf(q.Stderr, "%s %s: invocation not understood: %v\n", q.Function.Name, inv.ID, err)
		writeResponse(w, http.StatusBadRequest, Response{Error: err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), q.Timeout)
	defer cancel()
	cell := &logCell{log: log}
	ctx = context.WithValue(ctx, logCellKey{}, cell)
	retry, err := delivery.ReadRetry(inv.Data)
	d := delivery.Attempt{InvocationID: inv.ID, MessageID: inv.MessageID, DequeueCount: inv.DequeueCount, Log: log,
		Continues: retry.Owner, Retry: q.backoffPolicy().Plan(retry, time.Now())}
	if d.Retry.Next.Owner == "" {
		d.Retry.Next.Owner = d.Owner() // a copy continues this delivery
	}
	start := time.Now()
	if err != nil {
		err = &undecodableError{err: err} // a retry record that is none can never be re-scheduled
	} else {
		err = q.run(ctx, d, inv.Data)
	}
	log = cell.log
	status, answer := q.classify(ctx, log, inv, d.Retry, err)
	log.Debug("invocation done", "status", status, "ms", time.Since(start).Milliseconds())
	resp := Response{Logs: lines.take()}
	if status != http.StatusOK {
		resp.Error = answer.Error()
		fmt.Fprintf(q.Stderr, "%s %s: %v\n", q.Function.Name, inv.ID, answer)
	}
	writeResponse(w, status, resp)
}

// run calls the stage, turning a panic into a retryable error.
func (q QueueRoute) run(ctx context.Context, d delivery.Attempt, data []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return q.Handle(ctx, d, data)
}

// classify decides the answer for the stage's error; it logs the outcome once.
func (q QueueRoute) classify(ctx context.Context, log *slog.Logger, inv Invocation, plan delivery.RetryPlan, err error) (int, error) {
	var undecodable *undecodableError
	switch {
	case err == nil:
		return http.StatusOK, nil
	case errors.As(err, &undecodable):
		log.Error("message can never be handled; moving it to the poison queue", "err", err, "bytes", len(inv.Data))
		if perr := q.Poison.Send(ctx, inv.Data, 0); perr != nil {
			return http.StatusInternalServerError, fmt.Errorf("move undecodable message to poison queue: %w", perr)
		}
		return http.StatusOK, nil
	}
	switch order.Classify(err) {
	case order.ClassPermanent:
		log.Error("permanent failure; acknowledged", "err", err)
		return http.StatusOK, nil
	case order.ClassThrottled:
		delay, _ := order.RetryAfter(err)
		delay = max(delay, time.Second)
		if rerr := q.Requeue.Send(ctx, pausedCopy(inv.Data, 0), delay); rerr != nil {
			log.Error("throttled, and re-scheduling failed; the host will retry", "err", rerr, "cause", err)
			return http.StatusInternalServerError, fmt.Errorf("re-schedule after throttling: %w", rerr)
		}
		log.Info("throttled; re-scheduled", "delay", delay.String(), "cause", err) // throttling is not failure
		return http.StatusOK, nil
	case order.ClassMisconfigured:
		return q.hold(ctx, log, inv, err)
	case order.ClassTransient:
		return q.retry(ctx, log, inv, plan, err)
	default:
		log.Error("failed; the host will retry", "err", err, "dequeue_count", inv.DequeueCount)
		return http.StatusInternalServerError, err
	}
}

// hold re-schedules a message whose order is held because a setting was
// refused, and says so loudly, once per Alarms interval and setting. The
// delay is the one the stage asked for (it counted the holds on the order's
// record); without one, the route counts the holds in the message and waits
// delivery.HoldDelay, so that a held message is not re-scheduled every second.
func (q QueueRoute) hold(ctx context.Context, log *slog.Logger, inv Invocation, err error) (int, error) {
	setting, _ := order.MisconfiguredSetting(err)
	delay, _ := order.RetryAfter(err)
	holds := 0
	if delay <= 0 {
		holds = delivery.RetryOf(inv.Data).Holds + 1
		delay = delivery.HoldDelay(holds)
	}
	delay = max(delay, time.Second)
	if rerr := q.Requeue.Send(ctx, pausedCopy(inv.Data, holds), delay); rerr != nil {
		log.Error("held, and re-scheduling failed; the host will retry", "err", rerr, "cause", err)
		return http.StatusInternalServerError, fmt.Errorf("re-schedule held order: %w", rerr)
	}
	if !q.Alarms.Due(setting) {
		log.Warn("held; re-scheduled", "setting", setting, "delay", delay.String(), "err", err)
		return http.StatusOK, nil
	}
	msg := setting + " was refused: fix the setting; orders are held and resume by themselves"
	log.Error(msg, "setting", setting, "delay", delay.String(), "err", err)
	fmt.Fprintf(q.Stderr, "%s %s: %s: %v\n", q.Function.Name, inv.ID, msg, err)
	return http.StatusOK, nil
}

// pausedCopy is the message data to re-schedule after a throttle or a hold:
// its retry record keeps the redrives and the lease owner, counts holds, and
// drops the transient failures (n, first), so that a transient failure
// after the pause gets a fresh retry budget instead of one spent waiting.
// Data without a retry record is returned as is when holds is 0.
func pausedCopy(data []byte, holds int) []byte {
	r := delivery.RetryOf(data)
	if r == (delivery.Retry{}) && holds == 0 {
		return data
	}
	out, err := delivery.WithRetry(data, delivery.Retry{Redrives: r.Redrives, Owner: r.Owner, Holds: holds})
	if err != nil { // a stage that decoded the message failed: cannot happen
		return data
	}
	return out
}
