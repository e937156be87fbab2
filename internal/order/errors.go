package order

import (
	"errors"
	"fmt"
	"time"
)

// ErrNotFound reports that a looked-up thing (a session, an order record, a
// blob) does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict reports that a conditional write lost a race: the record
// changed since it was read, or it already exists.
var ErrConflict = errors.New("conflict")

// Class is how a stage's failure is handled.
type Class int

const (
	// ClassRetryable failures answer non-2xx so the host redelivers the message
	// and, after maxDequeueCount attempts, moves it to the poison queue.
	ClassRetryable Class = iota
	// ClassPermanent failures (Permanent) are recorded and acknowledged.
	ClassPermanent
	// ClassThrottled failures (Throttled) re-schedule the message with a
	// delay and acknowledge the current delivery.
	ClassThrottled
	// ClassMisconfigured failures are the deployment's (Misconfigured): the order is held,
	// the message re-scheduled with a growing delay and the current delivery
	// acknowledged, as for ClassThrottled, and a person is told which setting to
	// fix.
	ClassMisconfigured
	// ClassTransient failures (Transient) re-schedule the same message with
	// exponential back-off, counted in the message, and acknowledge the
	// current delivery; once the retry budget is spent the order needs
	// attention and the message goes to the poison queue.
	ClassTransient
)

// rank orders the classes for an error marked more than once: the
// deployment's fault wins over the order's, which wins over a pause, which
// wins over a passing fault.
func (c Class) rank() int {
	switch c {
	case ClassMisconfigured:
		return 4
	case ClassPermanent:
		return 3
	case ClassThrottled:
		return 2
	case ClassTransient:
		return 1
	}
	return 0
}

// Error is a failure marked with its class: how the pipeline handles it.
// The constructors (Permanent, Throttled, Misconfigured, Transient) make
// it; an Error that wraps another keeps the stronger class of the two (see
// Classify) and the setting and pause of the inner one it does not set
// itself, so that the outermost Error says everything about the failure.
type Error struct {
	// Class is how the failure is handled.
	Class Class
	// Err is the failure itself.
	Err error
	// RetryAfter is the pause asked for before the next attempt: a
	// throttling answer's Retry-After, or a held order's delay. Zero: none
	// was named.
	RetryAfter time.Duration
	// Setting names the setting of the deployment that was refused
	// (ClassMisconfigured).
	Setting string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// mark returns err as an Error of class c, merged with the Error err
// already wraps, if any; mark(nil, ...) is nil. pause reports whether after
// is the pause asked for (Throttled) rather than the inner one's.
func mark(err error, c Class, after time.Duration, pause bool, setting string) error {
	if err == nil {
		return nil
	}
	e := &Error{Class: c, Err: err, RetryAfter: after, Setting: setting}
	var inner *Error
	if errors.As(err, &inner) {
		if inner.Class.rank() > c.rank() {
			e.Class = inner.Class
		}
		if !pause {
			e.RetryAfter = inner.RetryAfter
		}
		if e.Setting == "" {
			e.Setting = inner.Setting
		}
	}
	return e
}

// Permanent marks err as permanent: retrying the same message will fail the
// same way (bad data, a missing original, no customer email). A stage records
// a permanent failure as needing attention and acknowledges the message, so it
// does not loop to the poison queue. Permanent(nil) is nil.
func Permanent(err error) error { return mark(err, ClassPermanent, 0, false, "") }

// Permanentf is Permanent(fmt.Errorf(format, args...)).
func Permanentf(format string, args ...any) error {
	return Permanent(fmt.Errorf(format, args...))
}

// Throttled marks err as a throttling answer (HTTP 429 and the like) that
// asked for a pause of after before the next attempt. Throttling is not
// failure: a stage re-schedules the message with that delay instead of
// spending one of the host's delivery attempts. Throttled(nil, d) is nil.
func Throttled(err error, after time.Duration) error {
	return mark(err, ClassThrottled, after, true, "")
}

// Misconfigured marks err as caused by the deployment's setting (a key
// refused with 401 or 403, an SMTP login refused with 535): every order
// would fail the same way until a person fixes the setting, and then every
// one would succeed. A stage holds the order instead of recording it as
// needing attention: it re-schedules the message with a growing delay,
// spending none of the host's attempts, so the order resumes by itself once
// the setting is fixed. Misconfigured(nil, s) is nil.
func Misconfigured(err error, setting string) error {
	return mark(err, ClassMisconfigured, 0, false, setting)
}

// Transient marks err as a transient fault of a dependency (a network
// error, a timeout, a 5xx answer of Stripe, ACS, SMTP or storage) that the
// adapter knows will pass by itself. A stage's transient failure is
// retried with exponential back-off by re-scheduling the same message,
// spending none of the host's delivery attempts, for as long as the retry
// budget lasts; the host's attempts count only crashes and failures nobody
// classified. Transient(nil) is nil.
func Transient(err error) error { return mark(err, ClassTransient, 0, false, "") }

// Classify tells how err is to be handled: the class of the outermost Error
// it wraps, ClassRetryable when it wraps none. It is called once, at the
// edge.
func Classify(err error) Class {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Class
	}
	return ClassRetryable
}

// IsPermanent reports whether err is classified ClassPermanent.
func IsPermanent(err error) bool { return Classify(err) == ClassPermanent }

// RetryAfter reports whether err asked for a pause (it was marked
// Throttled, or names a pause beside another class), and the pause.
func RetryAfter(err error) (time.Duration, bool) {
	if e, ok := errors.AsType[*Error](err); ok && (e.Class == ClassThrottled || e.RetryAfter > 0) {
		return e.RetryAfter, true
	}
	return 0, false
}

// MisconfiguredSetting reports whether err is classified
// ClassMisconfigured, and the setting it names.
func MisconfiguredSetting(err error) (string, bool) {
	if e, ok := errors.AsType[*Error](err); ok && e.Class == ClassMisconfigured {
		return e.Setting, true
	}
	return "", false
}
