package operator

import (
	"context"
	"fmt"
	"time"

	"github.com/filedrop/filedrop/internal/order"
)

// PoisonSource is a poison queue to search for orders' messages: the queue
// function that gave up on them, the queue they came from, and what that
// queue carries.
type PoisonSource struct {
	Function, Queue, PoisonQueue string
	Carries                      Carries
	Messages                     Peeker
}

// Poisoned is one order's message that the host gave up on.
type Poisoned struct {
	Function, Queue, PoisonQueue string
	PoisonedAt                   time.Time
}

// PoisonIndex is what FindPoisoned saw of the poison queues: each session's
// poisoned messages and how many messages it could not see.
type PoisonIndex struct {
	Sessions map[string][]Poisoned
	// Unseen approximates the messages beyond the first PeekMax of a queue,
	// which a peek cannot reach; an order among them looks unpoisoned.
	Unseen int
}

// FindPoisoned peeks at the first PeekMax messages of each source and
// indexes the ones that decode by session. The host puts a message on the
// poison queue without telling the ledger, so this is the only way an
// order's record can be told apart from one still being worked on.
func FindPoisoned(ctx context.Context, sources []PoisonSource) (PoisonIndex, error) {
	idx := PoisonIndex{Sessions: map[string][]Poisoned{}}
	for _, s := range sources {
		n, msgs, err := Peek(ctx, s.Messages, s.Function, s.Carries)
		if err != nil {
			return idx, fmt.Errorf("peek %s: %w", s.PoisonQueue, err)
		}
		idx.Unseen += max(0, n-len(msgs))
		for _, m := range msgs {
			session := ""
			switch {
			case m.Order != nil:
				session = m.Order.SessionID
			case m.Mail != nil:
				session = m.Mail.SessionID
			}
			if session == "" {
				continue
			}
			idx.Sessions[session] = append(idx.Sessions[session],
				Poisoned{Function: s.Function, Queue: s.Queue, PoisonQueue: s.PoisonQueue, PoisonedAt: m.PoisonedAt})
		}
	}
	return idx, nil
}

// StallAfter is how long an order that is not final may go unchanged, with
// no lease held and no throttling delay pending, before it counts as
// stalled: well past the host's retries of a failing message (five tries
// with a 30-second visibility timeout).
const StallAfter = 15 * time.Minute

// Stuck says why an order that is not final does not move, and the command
// that moves it again.
type Stuck struct {
	// Poisoned is the order's newest message the host gave up on; nil when
	// the order is stalled (no progress, no poisoned message seen).
	Poisoned *Poisoned
	// Since is when the order last changed.
	Since time.Time
	// Fix is the handler command (without "handler") that moves the order
	// again once the cause of its last error is fixed.
	Fix string
}

// Condition is "poisoned" or "stalled".
func (s Stuck) Condition() string {
	if s.Poisoned != nil {
		return "poisoned"
	}
	return "stalled"
}

// Diagnose tells whether o, with the poisoned messages found for it, is
// stuck at now, and returns nil when it is not: a final order, or one
// that is leased, throttled or changed within StallAfter (still being
// retried). A poisoned message counts only when the record has not changed
// since (give or take clockSkew): a later change means a newer message
// (a redrive, a resend, reconcile) took over. A poisoned message is moved
// back with poison redrive; a stalled order that never got its mail queued
// is queued again by reconcile, one whose mail is queued gets it again with
// resend.
func Diagnose(o order.Order, poisoned []Poisoned, now time.Time) *Stuck {
	if o.Final() || now.Before(o.LeaseUntil) {
		return nil
	}
	since := o.UpdatedAt
	if since.IsZero() {
		since = o.CreatedAt
	}
	if len(poisoned) > 0 {
		p := poisoned[0]
		for _, q := range poisoned[1:] {
			if q.PoisonedAt.After(p.PoisonedAt) {
				p = q
			}
		}
		if !since.After(p.PoisonedAt.Add(clockSkew)) {
			return &Stuck{Poisoned: &p, Since: since, Fix: "poison redrive --queue " + p.Queue}
		}
	}
	if now.Before(o.ThrottledUntil) || now.Before(o.HeldUntil) || now.Sub(since) < StallAfter {
		return nil
	}
	fix := "reconcile"
	switch {
	case o.MailGeneration() > 0:
		fix = "resend " + o.SessionID
	case now.Sub(o.CreatedAt) > reconcileWindow:
		// reconcile looks back by session creation time; a day more than
		// the order's age covers its session.
		fix = fmt.Sprintf("reconcile --since %dh", int(now.Sub(o.CreatedAt).Hours())+24)
	}
	return &Stuck{Since: since, Fix: fix}
}

// clockSkew is how far the handler's clock, which dates the record, may be
// ahead of the storage service's, which dates a poisoned message.
const clockSkew = time.Minute

// reconcileWindow is how far back reconcile looks unless told (its --since).
const reconcileWindow = 72 * time.Hour
