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

// permanentError marks an error that no retry can fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as permanent: retrying the same message will fail the
// same way (bad data, a missing original, no customer email). A stage records
// a permanent failure as needing attention and acknowledges the message, so it
// does not loop to the poison queue. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// Permanentf is Permanent(fmt.Errorf(format, args...)).
func Permanentf(format string, args ...any) error {
	return Permanent(fmt.Errorf(format, args...))
}

// IsPermanent reports whether err, or any error it wraps, was marked permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// throttledError marks an error from a dependency that asked us to slow down.
type throttledError struct {
	err   error
	after time.Duration
}

func (e *throttledError) Error() string { return e.err.Error() }
func (e *throttledError) Unwrap() error { return e.err }

// Throttled marks err as a throttling answer (HTTP 429 and the like) that
// asked for a pause of after before the next attempt. Throttling is not
// failure: a stage re-schedules the message with that delay instead of
// spending one of the host's delivery attempts. Throttled(nil, d) is nil.
func Throttled(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &throttledError{err: err, after: after}
}

// RetryAfter reports whether err, or any error it wraps, is a throttling
// error, and the pause it asked for.
func RetryAfter(err error) (time.Duration, bool) {
	var t *throttledError
	if errors.As(err, &t) {
		return t.after, true
	}
	return 0, false
}

// misconfiguredError marks an error that is the deployment's fault, not the
// order's: a dependency refused a credential or a permission.
type misconfiguredError struct {
	err     error
	setting string
}

func (e *misconfiguredError) Error() string { return e.err.Error() }
func (e *misconfiguredError) Unwrap() error { return e.err }

// Misconfigured marks err as caused by the deployment's setting (a key
// refused with 401 or 403, an SMTP login refused with 535): every order
// would fail the same way until a person fixes the setting, and then every
// one would succeed. A stage holds the order instead of recording it as
// needing attention: it re-schedules the message with a growing delay
// (HoldDelay), spending none of the host's attempts, so the order resumes by
// itself once the setting is fixed. Misconfigured(nil, s) is nil.
func Misconfigured(err error, setting string) error {
	if err == nil {
		return nil
	}
	return &misconfiguredError{err: err, setting: setting}
}

// MisconfiguredSetting reports whether err, or any error it wraps, was
// marked Misconfigured, and the setting it names.
func MisconfiguredSetting(err error) (string, bool) {
	var m *misconfiguredError
	if errors.As(err, &m) {
		return m.setting, true
	}
	return "", false
}

// Class is how a stage's failure is handled.
type Class int

const (
	// ClassRetryable failures answer non-2xx so the host redelivers the message
	// and, after maxDequeueCount attempts, moves it to the poison queue.
	ClassRetryable Class = iota
	// Permanent failures are recorded and acknowledged.
	ClassPermanent
	// ClassThrottled failures re-schedule the message with a delay and acknowledge
	// the current delivery.
	ClassThrottled
	// ClassMisconfigured failures are the deployment's (Misconfigured): the order is held,
	// the message re-scheduled with a growing delay and the current delivery
	// acknowledged, as for ClassThrottled, and a person is told which setting to
	// fix.
	ClassMisconfigured
	// ClassTransient failures (Transient) re-schedule the same message with
	// exponential back-off (Backoff), counted in the message, and
	// acknowledge the current delivery; once the retry budget is spent the
	// order needs attention and the message goes to the poison queue.
	ClassTransient
)

// Classify tells how err is to be handled. It is called once, at the edge.
func Classify(err error) Class {
	switch {
	case func() bool { _, ok := MisconfiguredSetting(err); return ok }():
		return ClassMisconfigured // the deployment's fault, never the order's
	case IsPermanent(err):
		return ClassPermanent
	case func() bool { _, ok := RetryAfter(err); return ok }():
		return ClassThrottled // honours Retry-After, even for a transient fault
	case IsTransient(err):
		return ClassTransient
	default:
		return ClassRetryable
	}
}
