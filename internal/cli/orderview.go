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

	// Mails are the order's newest mails, oldest first, with what became
	// of each (the delivery reports of ACS; SMTP and the outbox have none,
	// so their mails stay accepted).
	Mails []sentMailView `json:"mails,omitempty"`

	// Access is the order's access to the order page (orders show only).
	Access *accessView `json:"access,omitempty"`

	// Events are the order's events (paid, refunded, ...) and what became
	// of them at each sink (orders show only); nil when it has none.
	Events *orderEventsView `json:"events,omitempty"`
}

// orderEventsView is an order's events as orders show prints them.
type orderEventsView struct {
	// Count is the events the order keeps; Dropped those it let go before
	// every sink had them (it keeps at most order.MaxOutbox).
	Count   int `json:"count"`
	Dropped int `json:"dropped,omitempty"`
	// Waiting counts the events not yet queued for any sink.
	Waiting int `json:"waiting,omitempty"`
	// Sinks is each sink the events were queued for.
	Sinks []sinkView `json:"sinks,omitempty"`
}

// sinkView is what became of an order's events at one sink.
type sinkView struct {
	Sink      string `json:"sink"`
	Delivered int    `json:"delivered"`
	// Undelivered counts the events queued for the sink that it has not
	// taken; Failing those whose last delivery failed (GaveUp of them
	// will not be tried again without a redelivery).
	Undelivered int        `json:"undelivered"`
	Failing     int        `json:"failing,omitempty"`
	GaveUp      int        `json:"gave_up,omitempty"`
	Attempts    int        `json:"attempts,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	FailedAt    *time.Time `json:"failed_at,omitempty"`
	// LastDelivered is when the sink last took one of the events.
	LastDelivered *time.Time `json:"last_delivered,omitempty"`
}

// orderEventsOf summarises o's events by sink; nil when it has none.
func orderEventsOf(o order.Order) *orderEventsView {
	events := o.Outbox()
	if len(events) == 0 && o.EventsDropped() == 0 {
		return nil
	}
	v := &orderEventsView{Count: len(events), Dropped: o.EventsDropped()}
	index := map[string]int{} // of each sink in v.Sinks
	for _, e := range events {
		if len(e.Sinks) == 0 {
			v.Waiting++
		}
		for _, d := range e.Sinks {
			i, ok := index[d.Sink]
			if !ok {
				i = len(v.Sinks)
				index[d.Sink] = i
				v.Sinks = append(v.Sinks, sinkView{Sink: d.Sink})
			}
			s := &v.Sinks[i]
			switch {
			case d.Delivered():
				s.Delivered++
				if t := jsonTime(d.DeliveredAt); t != nil && (s.LastDelivered == nil || t.After(*s.LastDelivered)) {
					s.LastDelivered = t
				}
				continue
			case d.GaveUp:
				s.GaveUp++
			}
			s.Undelivered++
			if d.Failing() {
				s.Failing++
				if s.FailedAt == nil || d.FailedAt.After(*s.FailedAt) {
					s.LastError, s.Attempts, s.FailedAt = d.Error, d.Attempts, jsonTime(d.FailedAt)
				}
			}
		}
	}
	return v
}

// line says in words what became of the events at the sink.
func (s sinkView) line() string {
	if s.Undelivered == 0 {
		return fmt.Sprintf("%d delivered, the last %s", s.Delivered, stamp(deref(s.LastDelivered)))
	}
	out := fmt.Sprintf("%d delivered, %d NOT DELIVERED", s.Delivered, s.Undelivered)
	if s.Failing > 0 {
		out += fmt.Sprintf(" (%d failing, %d given up; last error %s after %s: %s)", s.Failing, s.GaveUp, stamp(deref(s.FailedAt)),
			plural(s.Attempts, "attempt"), s.LastError)
	}
	return out
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

// sentMailView is one mail of the order and what became of it.
type sentMailView struct {
	OperationID string `json:"operation_id"`
	Kind        string `json:"kind"`
	Generation  int    `json:"generation"`
	To          string `json:"to,omitempty"`
	// Status is sending, accepted, sent, delivered, not_delivered or failed.
	Status    string      `json:"status"`
	StartedAt *time.Time  `json:"started_at,omitempty"`
	SentAt    *time.Time  `json:"sent_at,omitempty"`
	Error     string      `json:"error,omitempty"`
	Report    *reportView `json:"report,omitempty"`
}

// reportView is the latest delivery report of a mail.
type reportView struct {
	// Status is the report's: Delivered, Bounced, Suppressed, Failed,
	// Quarantined, FilteredSpam, or another the service sent.
	Status  string     `json:"status"`
	Message string     `json:"message,omitempty"`
	At      *time.Time `json:"at,omitempty"`
	EventID string     `json:"event_id,omitempty"`
}

func sentMailsOf(o order.Order) []sentMailView {
	var out []sentMailView
	for _, m := range o.Mails() {
		v := sentMailView{OperationID: m.OperationID, Kind: m.Kind, Generation: m.Generation, To: m.To, Status: string(m.Status()),
			StartedAt: jsonTime(m.StartedAt), SentAt: jsonTime(m.SentAt), Error: m.Error}
		if r := m.Report; r != nil {
			v.Report = &reportView{Status: string(r.Status), Message: r.Message, At: jsonTime(r.At), EventID: r.EventID}
		}
		out = append(out, v)
	}
	return out
}

// fate says in words what became of the mail.
func (m sentMailView) fate() string {
	switch order.MailStatus(m.Status) {
	case order.StatusDelivered:
		return "delivered " + stamp(deref(m.Report.At))
	case order.StatusNotDelivered:
		s := fmt.Sprintf("NOT DELIVERED: %s %s", m.Report.Status, stamp(deref(m.Report.At)))
		if m.Report.Message != "" {
			s += ": " + m.Report.Message
		}
		return s
	case order.StatusFailed:
		return "failed: " + m.Error
	case order.StatusSending:
		return "sending since " + stamp(deref(m.StartedAt))
	}
	return m.Status + " " + stamp(deref(m.SentAt))
}

// undelivered says why the order's last mail did not arrive, "" when it did
// or nothing says it did not.
func (v orderView) undelivered() string {
	if len(v.Mails) == 0 {
		return ""
	}
	last := v.Mails[len(v.Mails)-1]
	if order.MailStatus(last.Status) != order.StatusNotDelivered {
		return ""
	}
	return fmt.Sprintf("mail not delivered (%s): %s", last.Report.Status, dash(last.Report.Message))
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
		Mails: sentMailsOf(o),
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

// undeliveredStatus is what orders list calls an order whose last mail a
// delivery report says did not arrive.
const undeliveredStatus = "undelivered"

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
	if v.LastError == "" {
		return v.undelivered()
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
