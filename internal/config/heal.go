package config

import (
	"time"

	"github.com/filedrop/filedrop/internal/ncrontab"
)

// Retry is how the pipeline outlasts a dependency's outage: a transient
// failure re-schedules its message after Min doubling up to Max, until
// Budget has passed since its first failure.
type Retry struct {
	// Budget is RETRY_BUDGET (default 24h): how long a message is retried
	// before its order needs attention and the message is poisoned.
	Budget time.Duration
	// Min and Max are RETRY_MIN (default 1s) and RETRY_MAX (default 15m),
	// the first and the longest delay. They are for tests that compress
	// time (scripts/fault.sh --mode outage); production keeps the defaults.
	Min, Max time.Duration
}

// Reconcile is the scheduled Reconcile function's settings.
type Reconcile struct {
	// Schedule is RECONCILE_SCHEDULE (default every 15 minutes), the
	// NCRONTAB schedule Reconcile/function.json names; the host reads the
	// same setting.
	Schedule string
	// Window is RECONCILE_WINDOW (default 72h): each run looks at the
	// Checkout Sessions created this long ago or later.
	Window time.Duration
	// Grace is RECONCILE_GRACE (default 10m): a session younger than this,
	// or an order changed this recently, may still be on its way through
	// the pipeline and is left alone.
	Grace time.Duration
}

// DefaultReconcileSchedule is RECONCILE_SCHEDULE's default: every 15
// minutes, on the quarter hour.
const DefaultReconcileSchedule = "0 */15 * * * *"

func loadRetry(l *loader) Retry {
	r := Retry{
		Budget: l.duration("RETRY_BUDGET", 24*time.Hour),
		Min:    l.duration("RETRY_MIN", time.Second),
		Max:    l.duration("RETRY_MAX", 15*time.Minute),
	}
	switch {
	case r.Min < time.Second:
		l.problem("RETRY_MIN", "must be at least 1s, the least a queue message can wait, not %s", FormatDuration(r.Min))
	case r.Max < r.Min:
		l.problem("RETRY_MAX", "must not be shorter than RETRY_MIN (%s), not %s", FormatDuration(r.Min), FormatDuration(r.Max))
	case r.Budget < r.Max:
		l.problem("RETRY_BUDGET", "must not be shorter than RETRY_MAX (%s), one retry's delay, not %s", FormatDuration(r.Max), FormatDuration(r.Budget))
	}
	return r
}

func loadReconcile(l *loader) Reconcile {
	r := Reconcile{
		Schedule: l.str("RECONCILE_SCHEDULE", DefaultReconcileSchedule),
		Window:   l.duration("RECONCILE_WINDOW", 72*time.Hour),
		Grace:    l.duration("RECONCILE_GRACE", 10*time.Minute),
	}
	if _, err := ncrontab.Parse(r.Schedule); err != nil {
		l.problem("RECONCILE_SCHEDULE", "is not a six-field NCRONTAB schedule: %v", err)
	}
	if r.Grace >= r.Window {
		l.problem("RECONCILE_GRACE", "must be shorter than RECONCILE_WINDOW (%s), not %s", FormatDuration(r.Window), FormatDuration(r.Grace))
	}
	return r
}
