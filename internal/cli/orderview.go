package cli

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/filedrop/filedrop/internal/order"
)

// orderView is an order as orders list and orders show print it. The JSON
// names are what scripts read: a stable contract, like the ledger's. Links
// never carry their signature.
type orderView struct {
	SessionID      string   `json:"session_id"`
	State          string   `json:"state"`
	Reason         string   `json:"reason,omitempty"`
	LastError      string   `json:"last_error,omitempty"`
	Attempts       int      `json:"attempts,omitempty"`
	CustomerEmail  string   `json:"customer_email,omitempty"`
	Livemode       bool     `json:"livemode"`
	Items          int      `json:"items"`
	EventIDs       []string `json:"event_ids,omitempty"`
	MailKind       string   `json:"mail_kind,omitempty"`
	MailGeneration int      `json:"mail_generation"`
	SentGeneration int      `json:"sent_generation"`
	OperationID    string   `json:"operation_id,omitempty"`
	LeaseOwner     string   `json:"lease_owner,omitempty"`

	LeaseUntil     *time.Time `json:"lease_until,omitempty"`
	ThrottledUntil *time.Time `json:"throttled_until,omitempty"`
	CreatedAt      *time.Time `json:"created_at,omitempty"`
	// OrderedAt is when the customer paid, as Stripe says: the order's date.
	OrderedAt       *time.Time `json:"ordered_at,omitempty"`
	PaidAt          *time.Time `json:"paid_at,omitempty"`
	LinksReadyAt    *time.Time `json:"links_ready_at,omitempty"`
	MailSentAt      *time.Time `json:"mail_sent_at,omitempty"`
	PaymentFailedAt *time.Time `json:"payment_failed_at,omitempty"`
	AttentionAt     *time.Time `json:"attention_at,omitempty"`
	UpdatedAt       *time.Time `json:"updated_at,omitempty"`

	// Stuck, when set, says the order does not move and what moves it.
	Stuck *stuckView `json:"stuck,omitempty"`

	// Holds and HeldUntil: the order waits for a refused setting to be
	// fixed, and is next tried at HeldUntil.
	Holds     int        `json:"holds,omitempty"`
	HeldUntil *time.Time `json:"held_until,omitempty"`

	// Waiting and RetryAt: a dependency failed transiently, and the order's
	// message comes back at RetryAt (see LastError).
	Waiting bool       `json:"waiting,omitempty"`
	RetryAt *time.Time `json:"retry_at,omitempty"`

	// Mail is the last queued mail (orders show only).
	Mail *mailView `json:"mail,omitempty"`

	// Access is the order's access to the order page (orders show only).
	Access *accessView `json:"access,omitempty"`
}

// mailView is a queued mail without its links' signatures.
type mailView struct {
	Kind       string     `json:"kind"`
	Generation int        `json:"generation"`
	Key        string     `json:"key"`
	To         string     `json:"to"`
	EventID    string     `json:"event_id,omitempty"`
	Links      []linkView `json:"links,omitempty"`
}

// linkView is a download link with its query (the signature) redacted.
type linkView struct {
	Title     string    `json:"title"`
	FileName  string    `json:"file_name"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

func viewOf(o order.Order) orderView {
	return orderView{
		SessionID: o.SessionID, State: string(o.State()), Reason: o.Reason, LastError: o.LastError, Attempts: o.Attempts,
		CustomerEmail: o.CustomerEmail, Livemode: o.Livemode, Items: o.Items, EventIDs: o.EventIDs,
		MailKind: o.MailKind, MailGeneration: o.MailGeneration(), SentGeneration: o.SentGeneration(),
		OperationID: o.OperationID, LeaseOwner: o.LeaseOwner,
		LeaseUntil: jsonTime(o.LeaseUntil), ThrottledUntil: jsonTime(o.ThrottledUntil),
		Holds: o.Holds, HeldUntil: jsonTime(o.HeldUntil),
		Waiting: o.Waiting(), RetryAt: jsonTime(o.RetryAt),
		CreatedAt: jsonTime(o.CreatedAt), OrderedAt: jsonTime(o.OrderedAt), PaidAt: jsonTime(o.PaidAt), LinksReadyAt: jsonTime(o.LinksReadyAt),
		MailSentAt: jsonTime(o.MailSentAt), PaymentFailedAt: jsonTime(o.PaymentFailedAt),
		AttentionAt: jsonTime(o.AttentionAt), UpdatedAt: jsonTime(o.UpdatedAt),
	}
}

// mailViewOf decodes a record's last queued mail; nil when there is none or
// it does not decode.
func mailViewOf(data []byte) *mailView {
	if len(data) == 0 {
		return nil
	}
	var m order.MailJob
	if err := json.Unmarshal(data, &m); err != nil {
		return nil
	}
	v := mailViewFrom(m)
	return &v
}

func mailViewFrom(m order.MailJob) mailView {
	v := mailView{Kind: m.Kind, Generation: m.Generation, Key: m.Key(), To: m.Customer.Email, EventID: m.EventID}
	for _, it := range m.Items {
		v.Links = append(v.Links, linkView{Title: it.Title, FileName: it.FileName, URL: it.Redacted(), ExpiresAt: it.ExpiresAt.UTC()})
	}
	return v
}

// heldStatus is what orders list calls an order held by a refused setting.
const heldStatus = "held"

// waitingStatus is what orders list calls an order waiting for a
// transient fault to pass (order.Order.Waiting).
const waitingStatus = "waiting"

// problem is what went wrong last, if anything; for a held order, with
// its next attempt.
func (v orderView) problem() string {
	switch {
	case v.Reason != "":
		return v.Reason
	case v.Holds > 0:
		return "next attempt " + stamp(deref(v.HeldUntil)) + ": " + v.LastError
	case v.Waiting:
		return "next attempt " + stamp(deref(v.RetryAt)) + ": " + v.LastError
	}
	if s := v.Stuck; s != nil && s.Condition == "poisoned" {
		return fmt.Sprintf("after %s: %s", plural(s.Attempts, "attempt"), dash(v.LastError))
	}
	return v.LastError
}

// state is the order's state as a person should read it: a stuck order's
// condition rather than the state it is stuck in.
func (v orderView) state() string {
	switch {
	case v.Stuck != nil:
		return v.Stuck.Condition
	case v.Holds > 0:
		return heldStatus
	case v.Waiting:
		return waitingStatus
	}
	return v.State
}

// step is one of an order's times.
type step struct {
	name string
	at   *time.Time
}

// steps are the order's times in pipeline order.
func (v orderView) steps() []step {
	return []step{
		{"Ordered (paid in Stripe)", v.OrderedAt}, {"Created", v.CreatedAt}, {"Paid", v.PaidAt}, {"Links ready", v.LinksReadyAt}, {"Mail sent", v.MailSentAt},
		{"Payment failed", v.PaymentFailedAt}, {"Needs attention", v.AttentionAt}, {"Updated", v.UpdatedAt},
	}
}
