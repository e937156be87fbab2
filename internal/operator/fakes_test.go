package operator

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/storage"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// memRecords is the shared in-memory ledger, with the Table name Finder
// reports and a way to make every Get fail.
type memRecords struct{ *ordertest.Ledger }

func newRecords(recs ...order.Order) *memRecords {
	return &memRecords{ordertest.NewLedger(recs...)}
}

// failGets makes every Get return err (nil: succeed again).
func (r *memRecords) failGets(err error) {
	r.BeforeGet = nil
	if err != nil {
		r.BeforeGet = func(int) error { return err }
	}
}

// get returns the record as stored, the zero Order when there is none.
func (r *memRecords) get(id string) order.Order {
	o, _ := r.Lookup(id)
	return o
}

func (r *memRecords) Table() string { return "orders" }

// memQueue is a queue in memory. Received messages stay invisible for the
// rest of the test.
type memQueue struct {
	mu      sync.Mutex
	visible []storage.Message
	hidden  []storage.Message
	n       int
	// sendErr, receiveErr and deleteErr, when set, are what those calls
	// return.
	sendErr, receiveErr, deleteErr error
}

// put adds a message with text, inserted at insertedAt.
func (q *memQueue) put(text string, insertedAt time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.n++
	m := storage.Message{ID: fmt.Sprint("msg-", q.n), PopReceipt: fmt.Sprint("pop-", q.n), InsertedAt: insertedAt, Text: text}
	m.Data, _ = base64.StdEncoding.DecodeString(text)
	q.visible = append(q.visible, m)
}

// texts are the texts of the messages on the queue, visible or not.
func (q *memQueue) texts() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := []string{}
	for _, m := range append(slices.Clone(q.visible), q.hidden...) {
		out = append(out, m.Text)
	}
	return out
}

// data are the payloads of the messages on the queue.
func (q *memQueue) data() [][]byte {
	var out [][]byte
	for _, t := range q.texts() {
		b, _ := base64.StdEncoding.DecodeString(t)
		out = append(out, b)
	}
	return out
}

func (q *memQueue) Send(_ context.Context, data []byte, _ time.Duration) error {
	if q.sendErr != nil {
		return q.sendErr
	}
	q.put(base64.StdEncoding.EncodeToString(data), time.Now())
	return nil
}

func (q *memQueue) SendText(_ context.Context, text string, _ time.Duration) error {
	if q.sendErr != nil {
		return q.sendErr
	}
	q.put(text, time.Now())
	return nil
}

func (q *memQueue) Count(context.Context) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.visible) + len(q.hidden), nil
}

func (q *memQueue) Peek(_ context.Context, n int) ([]storage.Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.visible[:min(n, len(q.visible))]), nil
}

func (q *memQueue) Receive(_ context.Context, n int, _ time.Duration) ([]storage.Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.receiveErr != nil {
		return nil, q.receiveErr
	}
	n = min(n, len(q.visible))
	got := slices.Clone(q.visible[:n])
	q.visible = q.visible[n:]
	q.hidden = append(q.hidden, got...)
	return got, nil
}

func (q *memQueue) Delete(_ context.Context, m storage.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deleteErr != nil {
		return q.deleteErr
	}
	q.hidden = slices.DeleteFunc(q.hidden, func(h storage.Message) bool { return h.ID == m.ID && h.PopReceipt == m.PopReceipt })
	return nil
}

// listFunc is a SessionLister of function type.
type listFunc func(ctx context.Context, since time.Time, fn func(stripeapi.ListedSession) error) error

func (f listFunc) ListSessions(ctx context.Context, since time.Time, fn func(stripeapi.ListedSession) error) error {
	return f(ctx, since, fn)
}

// sessionsList lists ss, whatever the window.
func sessionsList(ss ...stripeapi.ListedSession) listFunc {
	return func(_ context.Context, _ time.Time, fn func(stripeapi.ListedSession) error) error {
		for _, s := range ss {
			if err := fn(s); err != nil {
				return err
			}
		}
		return nil
	}
}

var (
	_ order.Records = (*memRecords)(nil)
	_ Finder        = (*memRecords)(nil)
	_ Sender        = (*memQueue)(nil)
	_ TextSender    = (*memQueue)(nil)
	_ Peeker        = (*memQueue)(nil)
	_ Receiver      = (*memQueue)(nil)
	_ SessionLister = listFunc(nil)
)
