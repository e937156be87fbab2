package download

import (
	"sync"
	"time"
)

// maxTracked bounds the orders the rate limiter remembers.
const maxTracked = 10_000

// limiter allows each key at most n units per window (a fixed window per
// key). It remembers at most max keys: when full, it forgets the windows
// that have ended, and if none has, it refuses new keys until one ends, so
// that a flood of links cannot grow it without bound.
type limiter struct {
	mu     sync.Mutex
	n      int
	window time.Duration
	max    int
	keys   map[string]*slot
}

type slot struct {
	start time.Time
	used  int
}

func newLimiter(n int, window time.Duration, max int) *limiter {
	return &limiter{n: n, window: window, max: max, keys: map[string]*slot{}}
}

// allow spends cost units of key at now, or reports how long until its
// window ends.
func (l *limiter) allow(key string, cost int, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.keys[key]
	if ok && now.Sub(s.start) >= l.window {
		s.start, s.used = now, 0
	}
	if !ok {
		if len(l.keys) >= l.max {
			l.sweep(now)
			if len(l.keys) >= l.max {
				return l.window, false
			}
		}
		s = &slot{start: now}
		l.keys[key] = s
	}
	if s.used+cost > l.n {
		return s.start.Add(l.window).Sub(now), false
	}
	s.used += cost
	return 0, true
}

// sweep forgets every window that has ended.
func (l *limiter) sweep(now time.Time) {
	for k, s := range l.keys {
		if now.Sub(s.start) >= l.window {
			delete(l.keys, k)
		}
	}
}
