package delivery

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Retry is a message's record of its transient failures, carried in the
// message itself (the "retry" field beside the fields of order.ProcessJob
// or order.MailJob, which the jobs' decoders ignore) so that a
// re-scheduled copy knows how long its order has waited. The route reads
// and writes it (ReadRetry, WithRetry); the JSON names are a stable
// contract; a message without the field has never failed.
type Retry struct {
	// N counts the transient failures of the message so far.
	N int `json:"n"`
	// First is when the message first failed transiently: the retry budget
	// runs from it.
	First time.Time `json:"first"`
	// Redrives counts how often the scheduled Reconcile moved the message
	// back from its poison queue; it stops at MaxRedrives.
	Redrives int `json:"redrives,omitempty"`
	// Owner is the lease owner of the delivery that first failed (see
	// Attempt.Owner): the re-scheduled copies continue that delivery, so
	// a copy takes over a lease its predecessor could not release (the
	// failure record was lost to the same outage) instead of waiting for
	// it to expire.
	Owner string `json:"owner,omitempty"`
	// Holds counts the times in a row the message was held because a
	// setting of the deployment was refused (order.Misconfigured) without the
	// stage naming a delay: the route waits HoldDelay(Holds) before the
	// next. A throttled or held copy starts N and First again: time spent
	// waiting for a setting or a throttle is no transient fault's.
	Holds int `json:"holds,omitempty"`
}

// MaxRedrives is how often the scheduled Reconcile moves one message back
// from a poison queue: a message whose cause is gone succeeds, and a truly
// bad one stays poisoned after that many tries.
const MaxRedrives = 3

// validate checks the retry record of a message.
func (r Retry) validate() error {
	if r.N < 0 || r.Redrives < 0 || r.Holds < 0 {
		return fmt.Errorf("retry counts n=%d, redrives=%d, holds=%d are negative", r.N, r.Redrives, r.Holds)
	}
	return nil
}

// ReadRetry reads the retry record of a queue message (either kind): the
// zero Retry when it has none or is not a JSON object (its stage's decoder
// rejects such a message), and an error when the record is there but is
// not one: a message the route can never re-schedule correctly.
func ReadRetry(data []byte) (Retry, error) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) != nil || fields["retry"] == nil {
		return Retry{}, nil
	}
	var r *Retry
	if err := json.Unmarshal(fields["retry"], &r); err != nil {
		return Retry{}, fmt.Errorf("retry record: %w", err)
	}
	if r == nil {
		return Retry{}, nil
	}
	if err := r.validate(); err != nil {
		return Retry{}, fmt.Errorf("retry record: %w", err)
	}
	return *r, nil
}

// RetryOf is ReadRetry without its error: the zero Retry for a record that
// is not one.
func RetryOf(data []byte) Retry {
	r, _ := ReadRetry(data)
	return r
}

// WithRetry returns the message data with its retry record set to r, every
// other field kept as it is (a field this version does not know, too).
func WithRetry(data []byte, r Retry) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, fmt.Errorf("set retry record: %w", err)
	}
	if fields == nil {
		return nil, errors.New("set retry record: the message is not a JSON object")
	}
	rb, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	fields["retry"] = rb
	return json.Marshal(fields)
}

// Backoff is the policy for transient failures: the delay after the n-th
// failure in a row is Min doubling up to Max, less up to a quarter of it
// at random (jitter, so that the orders failing in one outage do not all
// come back at once); once Budget has passed since the message first
// failed, it is given up.
type Backoff struct {
	Min, Max, Budget time.Duration
}

// Backoff's defaults: RETRY_BUDGET and the delays it scales.
const (
	DefaultRetryMin    = time.Second
	DefaultRetryMax    = 15 * time.Minute
	DefaultRetryBudget = 24 * time.Hour
)

// DefaultBackoff is 1 s doubling to 15 minutes, for 24 hours.
func DefaultBackoff() Backoff {
	return Backoff{Min: DefaultRetryMin, Max: DefaultRetryMax, Budget: DefaultRetryBudget}
}

// RetryPlan is what happens when a delivery fails transiently. The route
// computes it once, before the stage runs, and passes it in the Attempt,
// so that the record order.RecordFailure writes and the copy the route
// re-schedules agree.
type RetryPlan struct {
	// Next is the retry record of the re-scheduled copy.
	Next Retry
	// Delay is how long the copy stays invisible; At is when it comes back.
	Delay time.Duration
	At    time.Time
	// Exhausted reports that the budget is spent: the order is recorded
	// needs_attention and the message moved to the poison queue.
	Exhausted bool
}

// Plan returns the plan for a transient failure at now of a message that
// carries r.
func (b Backoff) Plan(r Retry, now time.Time) RetryPlan {
	next := Retry{N: r.N + 1, First: r.First, Redrives: r.Redrives, Owner: r.Owner}
	if next.First.IsZero() {
		next.First = now.UTC()
	}
	d := b.delay(next.N)
	return RetryPlan{Next: next, Delay: d, At: now.Add(d), Exhausted: now.Sub(next.First) >= b.Budget}
}

// delay is the jittered delay after the n-th failure in a row.
func (b Backoff) delay(n int) time.Duration {
	lo, hi := max(b.Min, time.Second), max(b.Max, b.Min, time.Second)
	d := hi
	if n < 1 {
		n = 1
	}
	if n <= 40 { // beyond, lo<<(n-1) overflows and hi caps it anyway
		if s := lo << (n - 1); s > 0 && s < hi {
			d = s
		}
	}
	return max(d-rand.N(d/4+1), time.Second) // a queue delays by whole seconds, at least one
}

// Validate reports a policy whose parts do not fit together.
func (b Backoff) Validate() error {
	switch {
	case b.Min < time.Second:
		return fmt.Errorf("the first retry delay %s is under a second, the least a queue message can wait", b.Min)
	case b.Max < b.Min:
		return fmt.Errorf("the longest retry delay %s is shorter than the first, %s", b.Max, b.Min)
	case b.Budget < b.Max:
		return fmt.Errorf("the retry budget %s is shorter than one retry delay, %s", b.Budget, b.Max)
	}
	return nil
}

const (
	// MinHold is the delay after the first hold; each next hold doubles it.
	MinHold = time.Second
	// MaxHold caps the delay between two attempts of a held order.
	MaxHold = 15 * time.Minute
)

// HoldDelay is how long the holds-th hold in a row waits: MinHold doubling
// up to MaxHold, less up to a quarter of it at random, so that the orders
// held by one refused setting do not all come back at once.
func HoldDelay(holds int) time.Duration {
	d := MaxHold
	if holds < 1 {
		holds = 1
	}
	if holds <= 20 { // 2^20 s is beyond MaxHold
		d = min(MinHold<<(holds-1), MaxHold)
	}
	return d - rand.N(d/4+1)
}
