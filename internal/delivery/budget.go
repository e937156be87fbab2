package delivery

import (
	"errors"
	"fmt"
	"time"

	"github.com/filedrop/filedrop/internal/order"
)

// Budget is the time one queue invocation may take, and how the stages
// spend it. It is derived once, from the Functions host's functionTimeout
// (BudgetFor), and passed to the route and to every stage, so that the
// timeouts and the lease agree by construction rather than by comment.
type Budget struct {
	// Invocation bounds one invocation of a queue function: well inside
	// functionTimeout, because on a timeout the host restarts the whole
	// handler.
	Invocation time.Duration
	// Step bounds a stage's work on one message (ProcessOrder's whole
	// Handle, SendLink's send), leaving the rest of Invocation to record
	// the outcome.
	Step time.Duration
	// Lease is how long a stage's claim keeps other deliveries off the
	// order: longer than an invocation and the failure record after it, so
	// a lease never runs out while its holder still works.
	Lease time.Duration
}

const (
	// MaxInvocation caps Budget.Invocation, so that a crashed invocation's
	// lease does not hold an order for long.
	MaxInvocation = 2 * time.Minute
	// RecordMargin is the part of Invocation a stage keeps, after its Step,
	// to record the outcome.
	RecordMargin = 20 * time.Second
	// leaseMargin is how much longer than an invocation a lease lasts: the
	// failure record (order.RecordTimeout) may outlive the invocation.
	leaseMargin = 3 * order.RecordTimeout
)

// BudgetFor derives the budget from the host's functionTimeout (0 or less:
// unlimited): an invocation gets four fifths of it, at most MaxInvocation;
// a step gets the invocation less RecordMargin; a lease lasts the
// invocation plus three times order.RecordTimeout. The budget may be invalid
// (a functionTimeout too short); see Validate.
func BudgetFor(functionTimeout time.Duration) Budget {
	inv := MaxInvocation
	if functionTimeout > 0 {
		inv = min(functionTimeout*4/5, MaxInvocation)
	}
	return Budget{Invocation: inv, Step: inv - RecordMargin, Lease: inv + leaseMargin}
}

// ErrBudget reports a budget whose parts do not fit together.
var ErrBudget = errors.New("inconsistent time budget")

// Validate reports, wrapping ErrBudget, whether the budget leaves a step at
// least minStep long (and at least a second; minStep is the longest one attempt of a dependency may take;
// shorter, every slow attempt is cut before it can succeed) and a lease
// longer than an invocation and its failure record.
func (b Budget) Validate(minStep time.Duration) error {
	minStep = max(minStep, time.Second)
	switch {
	case b.Step < minStep:
		return fmt.Errorf("%w: a step may take %s but needs at least %s", ErrBudget, b.Step, minStep)
	case b.Step > b.Invocation-RecordMargin:
		return fmt.Errorf("%w: a step of %s leaves less than %s of a %s invocation to record its outcome", ErrBudget, b.Step, RecordMargin, b.Invocation)
	case b.Lease <= b.Invocation+order.RecordTimeout:
		return fmt.Errorf("%w: a lease of %s is not longer than a %s invocation and its %s failure record", ErrBudget, b.Lease, b.Invocation, order.RecordTimeout)
	}
	return nil
}

// MinFunctionTimeout is the shortest functionTimeout whose budget leaves a
// step of minStep.
func MinFunctionTimeout(minStep time.Duration) time.Duration {
	d := ((max(minStep, time.Second)+RecordMargin)*5 + 3) / 4 // rounded up
	if r := d % time.Second; r != 0 {
		d += time.Second - r
	}
	return d
}
