package order

import "time"

// Snapshot is an Order as a store keeps it: every field, exported, with no
// rule attached; each means what the Order field or getter of the same
// name does. It is the persistence boundary of the domain: a ledger
// (the Table ledger, the in-memory one of ordertest) writes o.Snapshot() and
// reads back Restore(s), and tests build an order in a given state with
// Restore. Code that changes an order does so through Order's methods,
// never by restoring an edited snapshot.
//
// Snapshot and Restore copy slices as they are: a store that keeps a record
// copies them itself.
type Snapshot struct {
	SessionID string
	ETag      string

	State     State
	Reason    string
	LastError string
	Attempts  int

	CustomerEmail string
	Livemode      bool
	EventIDs      []string
	Items         int

	MailKind       string
	MailGeneration int
	MailEventID    string
	SentGeneration int
	OperationID    string
	Mail           []byte
	Mails          []MailRecord
	Outbox         []OutboxEvent
	EventsDropped  int

	Files          []File
	PaymentIntent  string
	AccessUntil    time.Time
	AccessHolds    []Hold
	RefundedAmount int64
	Disputes       []Dispute
	Granted        Grant

	LeaseOwner     string
	LeaseUntil     time.Time
	ThrottledUntil time.Time
	Holds          int
	HeldUntil      time.Time
	RetryAt        time.Time
	BudgetSpent    bool

	CreatedAt       time.Time
	UpdatedAt       time.Time
	PaidAt          time.Time
	OrderedAt       time.Time
	LinksReadyAt    time.Time
	MailSentAt      time.Time
	PaymentFailedAt time.Time
	AttentionAt     time.Time
	Attentions      int
}

// Snapshot returns the order as a store keeps it.
func (o Order) Snapshot() Snapshot {
	return Snapshot{
		SessionID:       o.SessionID,
		ETag:            o.ETag,
		State:           o.state,
		Reason:          o.Reason,
		LastError:       o.LastError,
		Attempts:        o.Attempts,
		CustomerEmail:   o.CustomerEmail,
		Livemode:        o.Livemode,
		EventIDs:        o.EventIDs,
		Items:           o.Items,
		MailKind:        o.MailKind,
		MailGeneration:  o.mailGeneration,
		MailEventID:     o.MailEventID,
		SentGeneration:  o.sentGeneration,
		OperationID:     o.OperationID,
		Mail:            o.Mail,
		Mails:           o.mails,
		Outbox:          o.outbox,
		EventsDropped:   o.eventsDropped,
		Files:           o.Files,
		PaymentIntent:   o.PaymentIntent,
		AccessUntil:     o.accessUntil,
		AccessHolds:     o.accessHolds,
		RefundedAmount:  o.RefundedAmount,
		Disputes:        o.Disputes,
		Granted:         o.Granted,
		LeaseOwner:      o.LeaseOwner,
		LeaseUntil:      o.LeaseUntil,
		ThrottledUntil:  o.ThrottledUntil,
		Holds:           o.Holds,
		HeldUntil:       o.HeldUntil,
		RetryAt:         o.RetryAt,
		BudgetSpent:     o.BudgetSpent,
		CreatedAt:       o.CreatedAt,
		UpdatedAt:       o.UpdatedAt,
		PaidAt:          o.PaidAt,
		OrderedAt:       o.OrderedAt,
		LinksReadyAt:    o.LinksReadyAt,
		MailSentAt:      o.MailSentAt,
		PaymentFailedAt: o.PaymentFailedAt,
		AttentionAt:     o.AttentionAt,
		Attentions:      o.Attentions,
	}
}

// Restore returns the order a store kept as s.
func Restore(s Snapshot) Order {
	return Order{
		SessionID:       s.SessionID,
		ETag:            s.ETag,
		state:           s.State,
		Reason:          s.Reason,
		LastError:       s.LastError,
		Attempts:        s.Attempts,
		CustomerEmail:   s.CustomerEmail,
		Livemode:        s.Livemode,
		EventIDs:        s.EventIDs,
		Items:           s.Items,
		MailKind:        s.MailKind,
		mailGeneration:  s.MailGeneration,
		MailEventID:     s.MailEventID,
		sentGeneration:  s.SentGeneration,
		OperationID:     s.OperationID,
		Mail:            s.Mail,
		mails:           s.Mails,
		outbox:          s.Outbox,
		eventsDropped:   s.EventsDropped,
		Files:           s.Files,
		PaymentIntent:   s.PaymentIntent,
		accessUntil:     s.AccessUntil,
		accessHolds:     s.AccessHolds,
		RefundedAmount:  s.RefundedAmount,
		Disputes:        s.Disputes,
		Granted:         s.Granted,
		LeaseOwner:      s.LeaseOwner,
		LeaseUntil:      s.LeaseUntil,
		ThrottledUntil:  s.ThrottledUntil,
		Holds:           s.Holds,
		HeldUntil:       s.HeldUntil,
		RetryAt:         s.RetryAt,
		BudgetSpent:     s.BudgetSpent,
		CreatedAt:       s.CreatedAt,
		UpdatedAt:       s.UpdatedAt,
		PaidAt:          s.PaidAt,
		OrderedAt:       s.OrderedAt,
		LinksReadyAt:    s.LinksReadyAt,
		MailSentAt:      s.MailSentAt,
		PaymentFailedAt: s.PaymentFailedAt,
		AttentionAt:     s.AttentionAt,
		Attentions:      s.Attentions,
	}
}
