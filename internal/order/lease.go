package order

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The lease protocol every stage follows:
//
//  1. Claim the order's record with a conditional write (Mutate or
//     MutateFrom calling Order.Claim), so that of two deliveries racing one
//     works and the other gets ErrBusy, throttled until the lease ends.
//  2. Do the step; record its success and Release the lease in one write.
//  3. On failure, RecordFailure: the failure is classified once and written
//     even when the invocation's context has ended.

// ErrBusy reports that another invocation holds the order's lease. Claim
// returns it wrapped in Throttled, so the message comes back when the lease
// ends instead of being worked on twice at once.
var ErrBusy = errors.New("another invocation is working on the order")

// MaxBusyWait caps how long a message waits for another invocation's lease:
// the holder often finishes within milliseconds (ProcessOrder recording the
// mail it just queued), so waiting out the whole lease would delay the order
// by minutes.
const MaxBusyWait = 5 * time.Second

// RecordTimeout bounds RecordFailure, which runs even when the invocation's
// context has expired.
const RecordTimeout = 10 * time.Second

// Claim gives the record to owner for lease, or returns Busy(now, maxWait)
// when someone else holds it. It is meant to run inside a Mutate function.
func (o *Order) Claim(owner string, now time.Time, lease, maxWait time.Duration) error {
	if o.Leased(owner, now) {
		return o.Busy(now, maxWait)
	}
	o.Lease(owner, now, lease)
	return nil
}

// Busy is ErrBusy, throttled until the record's lease ends: at least a
// second (the least a queue message can be delayed) and at most maxWait.
func (o *Order) Busy(now time.Time, maxWait time.Duration) error {
	wait := min(max(o.LeaseUntil.Sub(now), time.Second), max(maxWait, time.Second))
	return Throttled(fmt.Errorf("%w until %s", ErrBusy, o.LeaseUntil.UTC().Format(time.RFC3339)), wait)
}

// Retrying is what the route will do with the message of a step that
// fails, in the terms the order records (RecordFailure). Package delivery
// makes it from the route's plan for each delivery (Attempt.Retrying).
type Retrying struct {
	// At is when the message of a transient failure comes back; zero
	// without a plan (a test, a stage called directly): the failure is
	// then recorded as any other.
	At time.Time
	// Exhausted reports that the retry budget is spent: the transient
	// failure is the Failures-th since First, and the order gives up
	// (GiveUp).
	Exhausted bool
	Failures  int
	First     time.Time
	// HoldDelay is how long the holds-th hold in a row of a Misconfigured
	// failure waits; nil: the order is held without a delay of its own and
	// the route picks one.
	HoldDelay func(holds int) time.Duration
}

// RecordFailure records cause, the failure of a step that owner did while it
// held the order, on the record: classified once with Classify, a permanent
// failure moves the order to needs_attention; a throttled one sets
// ThrottledUntil; a Misconfigured one holds the order (Holds, HeldUntil,
// LastError; the returned error then asks, as Throttled, for r.HoldDelay);
// a transient one waits until r.At (RetryAt, LastError, Attempts) or, once
// r is Exhausted, needs attention with the last error (GiveUp); any other
// counts a failed attempt. All release owner's lease. held is the record as
// owner's claim wrote it (a stale one costs a re-read). Nothing is written
// when another invocation holds the lease now, or when settled (which may
// be nil) reports that the step was done meanwhile.
//
// The write runs under context.WithoutCancel(ctx) and RecordTimeout, so a
// step cut short by the invocation's deadline is still recorded.
//
// It reports whether it wrote the record, and returns the error the route
// acts on: cause when it is recorded (or needs no record), and otherwise a
// retryable error naming both, so that a permanent failure that could not
// be recorded is retried rather than acknowledged and forgotten.
func RecordFailure(ctx context.Context, recs Records, held Order, r Retrying, owner string, cause error, now time.Time, settled func(*Order) bool) (recorded bool, err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RecordTimeout)
	defer cancel()
	class := Classify(cause)
	var hold time.Duration
	_, err = MutateFrom(ctx, recs, held, now, func(o *Order) error {
		hold, recorded = 0, false
		if o.Leased(owner, now) || (settled != nil && settled(o)) {
			return ErrUnchanged
		}
		recorded = true
		switch class {
		case ClassMisconfigured:
			o.Holds++
			if r.HoldDelay != nil {
				hold = r.HoldDelay(o.Holds)
			}
			o.HeldUntil, o.LastError = now.Add(hold), cause.Error()
			o.Release()
		case ClassPermanent:
			o.NeedAttention(cause.Error(), now)
		case ClassThrottled:
			wait, _ := RetryAfter(cause)
			o.ThrottledUntil, o.LastError = now.Add(wait), cause.Error()
			o.Release()
		case ClassTransient:
			if r.Exhausted {
				o.GiveUp(fmt.Sprintf("gave up after %d transient failures since %s: %v", r.Failures,
					r.First.UTC().Format(time.RFC3339), cause), now)
			} else {
				o.Fail(cause)
				o.RetryAt = r.At
			}
		default:
			o.Fail(cause)
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("%v; recording it failed: %w", cause, err)
	}
	if hold > 0 {
		return recorded, Throttled(cause, hold) // still ClassMisconfigured: the delay the route waits
	}
	return recorded, cause
}
