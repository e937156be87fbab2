package functions

import (
	"sync"
	"time"
)

// Alarms rate-limits loud log lines: at most one per key (a setting's name)
// per interval, so that a refused key held by a thousand orders is said
// once a minute, not a thousand times. The zero value is not usable; a nil
// *Alarms lets every alarm through. It is safe for concurrent use.
type Alarms struct {
	every time.Duration
	now   func() time.Time

	mu   sync.Mutex
	last map[string]time.Time
}

// NewAlarms returns Alarms letting one alarm per key through every interval,
// on the clock now.
func NewAlarms(every time.Duration, now func() time.Time) *Alarms {
	return &Alarms{every: every, now: now, last: map[string]time.Time{}}
}

// Due reports whether an alarm for key may be raised now: none was within
// the interval. A due alarm counts as raised.
func (a *Alarms) Due(key string) bool {
	if a == nil {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if last, ok := a.last[key]; ok && now.Sub(last) < a.every {
		return false
	}
	a.last[key] = now
	return true
}
