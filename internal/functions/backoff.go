package functions

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/filedrop/filedrop/internal/delivery"
)

// backoffPolicy is the route's Backoff, or the default.
func (q QueueRoute) backoffPolicy() delivery.Backoff {
	if q.Backoff == (delivery.Backoff{}) {
		return delivery.DefaultBackoff()
	}
	return q.Backoff
}

// retry re-schedules a message whose stage failed transiently, as plan
// says: a copy counting the failure comes back after plan.Delay, and the
// current delivery is acknowledged, so an outage spends none of the host's
// attempts. A spent budget moves the message to the poison queue (the
// stage has recorded the order as needing attention). If the copy cannot
// be queued (storage is down too), the host's retry is the fallback.
func (q QueueRoute) retry(ctx context.Context, log *slog.Logger, inv Invocation, plan delivery.RetryPlan, err error) (int, error) {
	if plan.Exhausted {
		log.Error("transient failure outlasted the retry budget; moving the message to the poison queue",
			"err", err, "failures", plan.Next.N, "first_failure", plan.Next.First.Format(time.RFC3339))
		if perr := q.Poison.Send(ctx, inv.Data, 0); perr != nil {
			return http.StatusInternalServerError, fmt.Errorf("move message to poison queue after the retry budget: %w", perr)
		}
		fmt.Fprintf(q.Stderr, "%s %s: gave up after %d transient failures: %v\n", q.Function.Name, inv.ID, plan.Next.N, err)
		return http.StatusOK, nil
	}
	data, werr := delivery.WithRetry(inv.Data, plan.Next)
	if werr != nil { // a stage that decoded the message failed: cannot happen
		log.Error("failed; the host will retry", "err", err, "dequeue_count", inv.DequeueCount)
		return http.StatusInternalServerError, fmt.Errorf("%w (and re-scheduling: %v)", err, werr)
	}
	if rerr := q.Requeue.Send(ctx, data, plan.Delay); rerr != nil {
		log.Error("failed transiently, and re-scheduling failed; the host will retry", "err", rerr, "cause", err)
		return http.StatusInternalServerError, fmt.Errorf("re-schedule after a transient failure: %w", rerr)
	}
	log.Warn("transient failure; re-scheduled", "delay", plan.Delay.String(), "failures", plan.Next.N, "err", err)
	return http.StatusOK, nil
}
