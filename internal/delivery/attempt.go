// Package delivery is how the Functions host's queue deliveries run, apart
// from what they do to an order: the time budget an invocation spends
// (Budget, from host.json's functionTimeout), the delivery a stage handles
// (Attempt, whose Owner names the leases it takes), the retry record a
// re-scheduled message carries (Retry, in the message's "retry" field),
// the back-off of transient failures (Backoff, RetryPlan) and the delay of
// a held message (HoldDelay).
//
// The order's side of a failed step, the lease protocol (order.Claim,
// order.RecordFailure), stays in internal/order, which imports nothing of
// ours: this package imports order and hands it what the route planned as
// an order.Retrying (Attempt.Retrying).
package delivery

import (
	"log/slog"

	"github.com/filedrop/filedrop/internal/order"
)

// Attempt describes the queue delivery a stage is handling. The host glue
// passes it to every stage's Handle beside the message, explicitly: the
// lease owner it names decides whether a redelivery after a crash takes its
// lease over at once. A zero Attempt (a test, an example) is valid: the
// stage logs to its own logger and makes a lease owner up.
type Attempt struct {
	// InvocationID is the Functions host's id of the invocation; stages use it
	// in logs and as the owner of the ledger leases they take.
	InvocationID string
	// MessageID is the queue message's id, the same on every redelivery of
	// that message (a re-scheduled copy is a new message with a new id).
	MessageID string
	// DequeueCount is how many times the queue has delivered the message (1
	// on the first delivery).
	DequeueCount int
	// Log is the invocation's logger: its lines go to the process log and to
	// the host's Logs for the invocation. It already carries the function name
	// and invocation id. Nil: the stage's own logger.
	Log *slog.Logger
	// Retry is what happens if this delivery fails transiently
	// (order.Transient): when the message comes back and whether the retry
	// budget is spent. The stage records it on the order (Retrying); the
	// route acts on it. The zero plan (a test, a stage called directly)
	// records a transient failure as any other.
	Retry RetryPlan
	// Continues is the lease owner of the delivery this one continues: a
	// re-scheduled copy carries its first delivery's (Retry.Owner). Empty
	// for a message that has not failed transiently.
	Continues string
}

// Owner names the holder of the ledger leases this delivery takes: the
// queue message, so that when a handler dies mid-invocation the redelivery
// of the same message takes its lease over at once instead of waiting for
// it to expire, while any other message still waits. Without a message id
// it is the invocation; without either, "" (the stage makes one up).
//
// A re-scheduled copy of a message (Continues) is the same delivery going
// on, and owns what its first delivery owned.
func (a Attempt) Owner() string {
	switch {
	case a.Continues != "":
		return a.Continues
	case a.MessageID != "":
		return "message:" + a.MessageID
	case a.InvocationID != "":
		return "invocation:" + a.InvocationID
	}
	return ""
}

// Retrying is what the route will do with the message should this delivery
// fail, as order.RecordFailure records it on the order: the retry plan of a
// transient failure, and HoldDelay for a held one.
func (a Attempt) Retrying() order.Retrying {
	return order.Retrying{At: a.Retry.At, Exhausted: a.Retry.Exhausted, Failures: a.Retry.Next.N, First: a.Retry.Next.First,
		HoldDelay: HoldDelay}
}
