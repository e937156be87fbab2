package order

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Order is the ledger's record of one Checkout Session.
//
// Its state, its mail generations, its mails, its access and its events
// (State, MailGeneration, SentGeneration, Mails, AccessUntil, AccessHolds,
// Outbox, EventsDropped) change only through its methods, which hold the rules: read them with the getters. A store keeps
// an Order as a Snapshot (see Restore).
type Order struct {
	SessionID string
	// ETag is the store's version of the record; Update is conditional on it.
	ETag string

	state State
	// Reason says why the order needs attention.
	Reason string
	// LastError is the most recent retryable failure, kept until a step succeeds.
	LastError string
	// Attempts counts failed attempts since the last successful step.
	Attempts int

	CustomerEmail string
	Livemode      bool
	// EventIDs are the Stripe event ids seen for this session, oldest first,
	// at most MaxEventIDs.
	EventIDs []string
	Items    int

	// MailKind is the kind of the mail the order gets (MailDownloadLinks or
	// MailPaymentFailed).
	MailKind string
	// mailGeneration is the generation of the most recently queued mail.
	mailGeneration int
	// MailEventID is the event id of the message that minted MailGeneration
	// ("" when an operator's resend did), so that a redelivery of that
	// message queues the same generation again instead of minting another
	// (see NewLinksGeneration).
	MailEventID string
	// sentGeneration is the highest generation sent (0: none).
	sentGeneration int
	// OperationID is the idempotency key of the last mail sent.
	OperationID string
	// Mail is the last queued MailJob, JSON, so the operator can resend it.
	Mail []byte
	// mails are the order's newest mails (at most MaxMails, oldest first)
	// and what became of each (see MailRecord).
	mails []MailRecord
	// outbox are the order's events (see OutboxEvent, Publisher), at most
	// MaxOutbox; eventsDropped counts those that left it undelivered.
	outbox        []OutboxEvent
	eventsDropped int

	// Files are the purchased files, recorded at fulfilment, with their
	// downloads through the order page (see access.go).
	Files []File
	// PaymentIntent is the session's payment intent, which refunds and
	// disputes name.
	PaymentIntent string
	// accessUntil, when set, ends access instead of PaidAt plus the
	// download window (an operator's grant --extend).
	accessUntil time.Time
	// accessHolds are what closes the order page, each with who placed it,
	// when and why (see Hold); nil while access is open. The window's end
	// is not among them (see HoldsAt).
	accessHolds []Hold
	// RefundedAmount is the amount refunded so far, in the currency's
	// smallest unit (a partial refund leaves access open).
	RefundedAmount int64
	// Disputes are the payment's disputes as last read from Stripe.
	Disputes []Dispute
	// Granted is what the operator's last grant acknowledged; the zero
	// Grant before any.
	Granted Grant

	// LeaseOwner holds the invocation that works on the record until
	// LeaseUntil; others wait instead of doing the same work at once.
	LeaseOwner string
	LeaseUntil time.Time
	// ThrottledUntil is set when a step was re-scheduled after throttling.
	ThrottledUntil time.Time
	// Holds counts the steps held in a row because a setting of the
	// deployment was refused (Misconfigured); HeldUntil is when the held
	// message comes back. LastError says what was refused. A step that
	// succeeds clears them (Unhold).
	Holds     int
	HeldUntil time.Time
	// RetryAt is when the message of a step that failed transiently comes
	// back (Backoff); LastError says what failed and Attempts how often. A
	// step that succeeds clears it (Unhold), as does NeedAttention.
	RetryAt time.Time
	// BudgetSpent is set while the order needs attention only because the
	// retry budget of a transient failure was spent (GiveUp): nothing
	// needs a person, only the dependency back, and the next message for
	// the order (the Reconcile's redrive of its poisoned message) works on
	// it again.
	BudgetSpent bool

	CreatedAt time.Time
	UpdatedAt time.Time
	// PaidAt is when the ledger recorded the payment (the order's
	// fulfilment): the download window runs from it (see AccessEnds).
	PaidAt time.Time
	// OrderedAt is when the customer paid, as Stripe says (the payment
	// intent's latest charge), recorded once at fulfilment: the order's
	// date that the mail and the order page show. Zero in records kept
	// before it was, whose page shows PaidAt.
	OrderedAt       time.Time
	LinksReadyAt    time.Time
	MailSentAt      time.Time
	PaymentFailedAt time.Time
	// AttentionAt is when the order last entered needs_attention, and
	// Attentions how many times it has: each names one needs_attention
	// event.
	AttentionAt time.Time
	Attentions  int
}

// State is where the order stands.
func (o Order) State() State { return o.state }

// MailGeneration is the generation of the most recently queued mail (0:
// none).
func (o Order) MailGeneration() int { return o.mailGeneration }

// SentGeneration is the highest mail generation sent (0: none).
func (o Order) SentGeneration() int { return o.sentGeneration }

// AccessUntil is when access ends instead of PaidAt plus the download
// window (an operator's grant --extend); zero when not set.
func (o Order) AccessUntil() time.Time { return o.accessUntil }

// AccessHolds are what closes the order page, each with who placed it, when
// and why (see Hold); none while access is open. The window's end is not
// among them (see HoldsAt). The slice is the caller's.
func (o Order) AccessHolds() []Hold { return slices.Clone(o.accessHolds) }

// MaxEventIDs bounds Order.EventIDs.
const MaxEventIDs = 20

// SawEvent reports whether the event id is recorded (see SeeEvent).
func (o *Order) SawEvent(id string) bool { return id != "" && slices.Contains(o.EventIDs, id) }

// SeeEvent records an event id, once, keeping the newest MaxEventIDs.
func (o *Order) SeeEvent(id string) {
	if id == "" {
		return
	}
	if o.SawEvent(id) {
		return
	}
	o.EventIDs = append(o.EventIDs, id)
	if n := len(o.EventIDs); n > MaxEventIDs {
		o.EventIDs = o.EventIDs[n-MaxEventIDs:]
	}
}

// Leased reports whether someone other than owner holds the record's lease at now.
func (o *Order) Leased(owner string, now time.Time) bool {
	return o.LeaseOwner != "" && o.LeaseOwner != owner && now.Before(o.LeaseUntil)
}

// Lease gives the record to owner until now+d.
func (o *Order) Lease(owner string, now time.Time, d time.Duration) {
	o.LeaseOwner, o.LeaseUntil = owner, now.Add(d)
}

// Release drops the lease.
func (o *Order) Release() { o.LeaseOwner, o.LeaseUntil = "", time.Time{} }

// Fail records a retryable failure.
func (o *Order) Fail(err error) {
	o.LastError = err.Error()
	o.Attempts++
	o.Release()
}

// Held reports whether the order waits for a setting of the deployment to
// be fixed.
func (o *Order) Held() bool { return o.Holds > 0 }

// Unhold clears the hold, any scheduled retry and a spent retry budget,
// after a step succeeded.
func (o *Order) Unhold() {
	o.Holds, o.HeldUntil, o.RetryAt, o.BudgetSpent = 0, time.Time{}, time.Time{}, false
}

// Waiting reports whether the order waits for a transient fault to pass:
// a step failed and its message comes back at RetryAt.
func (o *Order) Waiting() bool { return !o.RetryAt.IsZero() && !o.Final() }

// mailNamespace is the UUID namespace of mail idempotency keys.
var mailNamespace = uuid.MustParse("8f4b8f0e-4e6c-4a1f-9c57-2f1d9b0f6a11")

// MailKey is the idempotency key of one logical mail: a UUIDv5 of the session
// id, the mail kind and the generation. It is the ACS Operation-Id, the base
// of the SMTP Message-ID and the outbox file name, identical on every
// redelivery of the same mail.
func MailKey(sessionID, kind string, generation int) string {
	return uuid.NewSHA1(mailNamespace, fmt.Appendf(nil, "%s\x00%s\x00%d", sessionID, kind, generation)).String()
}

// Key returns the message's MailKey. The key of a MailOrderLinks mail
// also derives from its recipient (NormalizeEmail), whose count of such
// mails is its generation: two addresses whose newest order is the same
// (an operator's resend --to) never share a key.
func (m MailJob) Key() string {
	if m.Kind == MailOrderLinks {
		return MailKey(m.SessionID+"\x00"+NormalizeEmail(m.Customer.Email), m.Kind, m.Generation)
	}
	return MailKey(m.SessionID, m.Kind, m.Generation)
}

// Records is a ledger: one record per session, written conditionally.
type Records interface {
	// Get returns the record, or an error wrapping ErrNotFound.
	Get(ctx context.Context, sessionID string) (Order, error)
	// Create inserts o and returns it with its ETag, or an error wrapping
	// ErrConflict if a record for o.SessionID exists.
	Create(ctx context.Context, o Order) (Order, error)
	// Update replaces the record if its ETag is still o.ETag and returns it
	// with the new ETag, or an error wrapping ErrConflict.
	Update(ctx context.Context, o Order) (Order, error)
}

// MaxMutateAttempts bounds Mutate's read-modify-write loop.
const MaxMutateAttempts = 8

// ErrUnchanged may be returned by a Mutate function to leave the record as it
// is; Mutate then returns the record it read and nil.
var ErrUnchanged = errors.New("unchanged")

// Mutate reads the session's record (a new one, with CreatedAt set, when there
// is none), applies fn and writes it back conditionally, re-reading and
// re-applying fn when another writer won the race. fn must be a pure function
// of the record: it may run several times. An error from fn is returned as is
// and nothing is written.
//
// When recs is a *Publisher, the write also records the order events of
// what fn changed (Changes, between the record as read and as written) in
// the order's outbox, and after it the order's waiting events are queued
// (Publisher.Publish); the record returned is then the one that marks them
// queued.
func Mutate(ctx context.Context, recs Records, sessionID string, now time.Time, fn func(*Order) error) (Order, error) {
	return mutate(ctx, recs, sessionID, nil, now, fn)
}

// MutateFrom is Mutate starting from o, a record the caller has just read or
// written (an empty ETag: there is none yet), which saves the first read. If
// o is stale, the conditional write fails and the record is re-read, exactly
// as in Mutate.
func MutateFrom(ctx context.Context, recs Records, o Order, now time.Time, fn func(*Order) error) (Order, error) {
	return mutate(ctx, recs, o.SessionID, &o, now, fn)
}

func mutate(ctx context.Context, recs Records, sessionID string, start *Order, now time.Time, fn func(*Order) error) (Order, error) {
	pub, _ := recs.(*Publisher)
	var lastErr error
	for range MaxMutateAttempts {
		var o Order
		if start != nil {
			o, start = *start, nil
		} else {
			var err error
			o, err = recs.Get(ctx, sessionID)
			switch {
			case errors.Is(err, ErrNotFound):
				o = Order{SessionID: sessionID}
			case err != nil:
				return Order{}, fmt.Errorf("read order %s: %w", sessionID, err)
			}
		}
		created := o.ETag == ""
		if created && o.CreatedAt.IsZero() {
			o.CreatedAt = now
		}
		read := o // the record as read, for Changes
		if err := fn(&o); err != nil {
			if errors.Is(err, ErrUnchanged) {
				return o, nil // o.ETag is empty when no record exists
			}
			return o, err
		}
		o.UpdatedAt = now
		if pub != nil {
			o.record(Changes(read, o, now))
		}
		var err error
		if created {
			o, err = recs.Create(ctx, o)
		} else {
			o, err = recs.Update(ctx, o)
		}
		if err == nil {
			if pub != nil {
				o = pub.published(ctx, o, now)
			}
			return o, nil
		}
		if !errors.Is(err, ErrConflict) {
			return Order{}, fmt.Errorf("write order %s: %w", sessionID, err)
		}
		lastErr = err
	}
	return Order{}, fmt.Errorf("write order %s: gave up after %d conflicting writers: %w", sessionID, MaxMutateAttempts, lastErr)
}

// MailLocale returns the Checkout locale the order's last queued mail was
// written for ("" for Checkout's automatic one) and whether a mail was
// queued: the order page speaks the language the mail did.
func (o *Order) MailLocale() (string, bool) {
	if len(o.Mail) == 0 {
		return "", false
	}
	var m struct {
		Locale string `json:"locale"`
	}
	if json.Unmarshal(o.Mail, &m) != nil {
		return "", false
	}
	return m.Locale, true
}
