package faulttest

import (
	"sync"
	"time"
)

// trap lets the chaos kill the handler in the middle of an invocation: a
// fake, serving a request, springs the trap; when it is armed, the request
// is held (its answer not written) until the chaos has killed the handler
// and releases it.
type trap struct {
	mu      sync.Mutex
	caught  chan string   // nil when disarmed
	release chan struct{} // closed by the chaos
}

// maxHold bounds how long a sprung trap holds a request.
const maxHold = 30 * time.Second

// arm makes the next spring hold its request. caught receives what was
// caught; release lets the request go on (and disarms the trap if nothing
// was caught).
func (t *trap) arm() (caught <-chan string, release func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, r := make(chan string, 1), make(chan struct{})
	t.caught, t.release = c, r
	var once sync.Once
	return c, func() {
		once.Do(func() {
			t.mu.Lock()
			if t.caught == c {
				t.caught = nil
			}
			t.mu.Unlock()
			close(r)
		})
	}
}

// spring holds the calling request if the trap is armed, until released
// or maxHold passes. what describes the request.
func (t *trap) spring(what string) {
	t.mu.Lock()
	c, r := t.caught, t.release
	t.caught = nil
	t.mu.Unlock()
	if c == nil {
		return
	}
	c <- what
	select {
	case <-r:
	case <-time.After(maxHold):
	}
}
