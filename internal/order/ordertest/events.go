package ordertest

import (
	"context"
	"sync"
	"time"

	"github.com/filedrop/filedrop/internal/order"
)

// EventQueue is the order-events queue in memory, for an order.Publisher
// in tests: it decodes each message (a message that does not decode is
// Send's error) and keeps the jobs. Fail, when set, is what Send returns
// instead. It is safe for concurrent use.
type EventQueue struct {
	mu   sync.Mutex
	jobs []order.EventJob
	fail error
}

var _ order.EventQueue = (*EventQueue)(nil)

// Send decodes data and keeps the job.
func (q *EventQueue) Send(_ context.Context, data []byte, _ time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fail != nil {
		return q.fail
	}
	j, err := order.DecodeEventJob(data)
	if err != nil {
		return err
	}
	q.jobs = append(q.jobs, j)
	return nil
}

// Fail makes every Send return err from now on (nil: succeed again).
func (q *EventQueue) Fail(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.fail = err
}

// Jobs returns the jobs queued so far, oldest first.
func (q *EventQueue) Jobs() []order.EventJob {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]order.EventJob(nil), q.jobs...)
}
