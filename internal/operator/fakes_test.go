package operator

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/storage"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// memRecords is an in-memory order.Records with ETags: the minimal fake
// until order/ordertest provides the shared one.
type memRecords struct {
	mu   sync.Mutex
	m    map[string]order.Order
	etag int
	// getErr, when set, is what Get returns.
	getErr error
}

func newRecords(recs ...order.Order) *memRecords {
	r := &memRecords{m: map[string]order.Order{}}
	for _, o := range recs {
		r.store(o)
	}
	return r
}

func clone(o order.Order) order.Order {
	o.EventIDs = slices.Clone(o.EventIDs)
	o.Mail = slices.Clone(o.Mail)
	return o
}

// store stores o with a new ETag and returns it; r.mu is held or not needed.
func (r *memRecords) store(o order.Order) order.Order {
	r.etag++
	o.ETag = strconv.Itoa(r.etag)
	r.m[o.SessionID] = clone(o)
	return clone(o)
}

// get returns the record as stored, the zero Order when there is none.
func (r *memRecords) get(id string) order.Order {
	r.mu.Lock()
	defer r.mu.Unlock()
	return clone(r.m[id])
}

func (r *memRecords) Table() string { return "orders" }

func (r *memRecords) Get(_ context.Context, id string) (order.Order, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.getErr != nil {
		return order.Order{}, r.getErr
	}
	o, ok := r.m[id]
	if !ok {
		return order.Order{}, fmt.Errorf("order %s: %w", id, order.ErrNotFound)
	}
	return clone(o), nil
}

func (r *memRecords) Create(_ context.Context, o order.Order) (order.Order, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.m[o.SessionID]; ok {
		return order.Order{}, fmt.Errorf("order %s: %w", o.SessionID, order.ErrConflict)
	}
	return r.store(o), nil
}

func (r *memRecords) Update(_ context.Context, o order.Order) (order.Order, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cur, ok := r.m[o.SessionID]; !ok || cur.ETag != o.ETag {
		return order.Order{}, fmt.Errorf("order %s: %w", o.SessionID, order.ErrConflict)
	}
	return r.store(o), nil
}

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
