// Package ordertest holds what the tests of several packages share about
// orders: Ledger, an in-memory order.Records, and TestRecords, the contract
// that Ledger and the Table ledger (storage/ledger) both pass, so a stage
// tested against the fake behaves as it does against the real thing.
package ordertest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/filedrop/filedrop/internal/order"
)

// Ledger is an in-memory order.Records with the Table ledger's semantics
// (see TestRecords): ETags, conditional writes, records copied in and out.
// It does not normalize times or cut long text as the Table ledger does.
// ETags are "1", "2", ... in the order of writes. It is safe for concurrent
// use; set the hooks before using it.
type Ledger struct {
	// BeforeGet, when set, runs before the nth Get (1-based), outside the
	// lock, so it may block or call the Ledger; an error it returns is Get's.
	BeforeGet func(n int) error
	// BeforeWrite, when set, runs before the nth Create or Update (1-based)
	// of o, outside the lock; an error it returns is the write's. A hook that
	// Puts the record makes the write lose a race.
	BeforeWrite func(n int, o order.Order) error

	mu     sync.Mutex
	recs   map[string]order.Order
	etag   int
	gets   int
	writes int

	// The indexes (see index.go).
	mails  map[string]string
	emails map[string]map[string]time.Time
	quotas map[string]order.LinksQuota
}

var _ order.Records = (*Ledger)(nil)

// NewLedger returns a ledger holding recs, each with a new ETag.
func NewLedger(recs ...order.Order) *Ledger {
	l := &Ledger{recs: map[string]order.Order{}, mails: map[string]string{}, emails: map[string]map[string]time.Time{},
		quotas: map[string]order.LinksQuota{}}
	for _, o := range recs {
		l.Put(o)
	}
	return l
}

// Get returns the record, or an error wrapping order.ErrNotFound.
func (l *Ledger) Get(_ context.Context, sessionID string) (order.Order, error) {
	l.mu.Lock()
	l.gets++
	n, hook := l.gets, l.BeforeGet
	l.mu.Unlock()
	if hook != nil {
		if err := hook(n); err != nil {
			return order.Order{}, err
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	o, ok := l.recs[sessionID]
	if !ok {
		return order.Order{}, fmt.Errorf("get order %s: %w", sessionID, order.ErrNotFound)
	}
	return clone(o), nil
}

// Create inserts o and returns it with its ETag, or an error wrapping
// order.ErrConflict if a record for o.SessionID exists. o.ETag is ignored.
func (l *Ledger) Create(_ context.Context, o order.Order) (order.Order, error) {
	if err := l.beforeWrite(o); err != nil {
		return order.Order{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.recs[o.SessionID]; ok {
		return order.Order{}, fmt.Errorf("create order %s: %w", o.SessionID, order.ErrConflict)
	}
	return l.store(o), nil
}

// Update replaces the record if its ETag is still o.ETag and returns it with
// the new ETag, or an error wrapping order.ErrConflict when the record
// changed or is gone. Without an ETag it fails permanently.
func (l *Ledger) Update(_ context.Context, o order.Order) (order.Order, error) {
	if o.ETag == "" {
		return order.Order{}, order.Permanentf("update order %s: no ETag: update a record read from the ledger", o.SessionID)
	}
	if err := l.beforeWrite(o); err != nil {
		return order.Order{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, ok := l.recs[o.SessionID]
	if !ok || cur.ETag != o.ETag {
		return order.Order{}, fmt.Errorf("update order %s: %w", o.SessionID, order.ErrConflict)
	}
	return l.store(o), nil
}

// Put stores o as the session's record, unconditionally and with a new
// ETag, as another writer would, and returns it as stored. It runs no hook.
func (l *Ledger) Put(o order.Order) order.Order {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.store(o)
}

// Lookup returns the session's record and whether there is one, without
// counting a Get or running a hook.
func (l *Ledger) Lookup(sessionID string) (order.Order, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	o, ok := l.recs[sessionID]
	return clone(o), ok
}

// Record returns the session's record as Lookup does, and fails the test if
// there is none.
func (l *Ledger) Record(t testing.TB, sessionID string) order.Order {
	t.Helper()
	o, ok := l.Lookup(sessionID)
	if !ok {
		t.Fatalf("the ledger has no record of %s", sessionID)
	}
	return o
}

// Gets returns the number of Get calls so far.
func (l *Ledger) Gets() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gets
}

func (l *Ledger) beforeWrite(o order.Order) error {
	l.mu.Lock()
	l.writes++
	n, hook := l.writes, l.BeforeWrite
	l.mu.Unlock()
	if hook == nil {
		return nil
	}
	return hook(n, clone(o))
}

// store stores a copy of o with a new ETag and returns another; l.mu is held.
func (l *Ledger) store(o order.Order) order.Order {
	l.etag++
	o.ETag = strconv.Itoa(l.etag)
	l.recs[o.SessionID] = clone(o)
	return clone(o)
}

// clone copies o's slices, as the Table ledger's encoding does: empty ones
// come back nil.
func clone(o order.Order) order.Order {
	s := o.Snapshot()
	s.EventIDs = cloneSlice(s.EventIDs)
	s.Mail = cloneSlice(s.Mail)
	s.AccessHolds = cloneSlice(s.AccessHolds)
	s.Disputes = cloneSlice(s.Disputes)
	s.Granted.Disputes = cloneSlice(s.Granted.Disputes)
	s.Mails = cloneSlice(s.Mails)
	for i, m := range s.Mails {
		if m.Report != nil {
			r := *m.Report
			s.Mails[i].Report = &r
		}
	}
	s.Outbox = cloneSlice(s.Outbox)
	for i := range s.Outbox {
		e := &s.Outbox[i]
		e.Sinks = cloneSlice(e.Sinks)
		e.Mail, e.Refund, e.Dispute, e.Access, e.Attention = clonePtr(e.Mail), clonePtr(e.Refund), clonePtr(e.Dispute), clonePtr(e.Access), clonePtr(e.Attention)
	}
	s.Files = cloneSlice(s.Files)
	for i := range s.Files {
		s.Files[i].DownloadedAt = cloneSlice(s.Files[i].DownloadedAt)
		s.Files[i].Clicks = cloneSlice(s.Files[i].Clicks)
	}
	return order.Restore(s)
}

// Edit returns o with edit applied to its snapshot: a test's way to put an
// order in a state that its methods would take several steps to reach.
// Code under test changes orders through their methods only.
func Edit(o order.Order, edit func(s *order.Snapshot)) order.Order {
	s := o.Snapshot()
	edit(&s)
	return order.Restore(s)
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// List returns the records f selects (order.Filter.Match), by session id,
// at most f.Limit (0: all), as the Table ledger's List does.
func (l *Ledger) List(_ context.Context, f order.Filter) ([]order.Order, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := slices.Sorted(maps.Keys(l.recs))
	var out []order.Order
	for _, id := range ids {
		if o := l.recs[id]; f.Match(o) {
			out = append(out, clone(o))
		}
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

func cloneSlice[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}
