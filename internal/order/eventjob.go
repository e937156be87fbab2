package order

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// EventJobVersion is the current version of EventJob.
const EventJobVersion = 1

// EventJob is what a Publisher puts on the OrderEvents queue: one order
// event for one sink, whole, so that every delivery of it sends the same
// event. The JSON names are a stable contract; a re-scheduled copy also
// carries the route's retry record (the "retry" field,
// internal/delivery.Retry), which decoding ignores.
type EventJob struct {
	Version int `json:"v"`
	// Sink names the sink to deliver to (see SinkDelivery.Sink).
	Sink  string `json:"sink"`
	Event Event  `json:"event"`
}

// MaxEventJobBytes bounds an encoded EventJob: its event and a little room
// for the sink's name, well inside one queue message with the retry
// record.
const MaxEventJobBytes = MaxEventBytes + 1024

// Validate checks the job and its event.
func (j EventJob) Validate() error {
	var errs []error
	if j.Version != EventJobVersion {
		errs = append(errs, fmt.Errorf("unsupported version %d (want %d)", j.Version, EventJobVersion))
	}
	if !ValidSinkName(j.Sink) {
		errs = append(errs, fmt.Errorf("sink %s is not a sink's name", clip(j.Sink)))
	}
	if err := j.Event.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("event: %w", err))
	}
	return errors.Join(errs...)
}

// ValidSinkName reports whether s can name a sink: 1 to MaxSinkName
// printable ASCII characters without spaces.
func ValidSinkName(s string) bool {
	if s == "" || len(s) > MaxSinkName {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// EncodeEventJob validates j and returns its JSON. The error is permanent.
func EncodeEventJob(j EventJob) ([]byte, error) {
	if err := j.Validate(); err != nil {
		return nil, Permanentf("invalid order event message: %w", err)
	}
	data, err := json.Marshal(j)
	if err != nil {
		return nil, Permanentf("encode order event message: %w", err)
	}
	if len(data) > MaxEventJobBytes {
		return nil, Permanentf("order event message %s is %d bytes, more than %d", j.Event.ID, len(data), MaxEventJobBytes)
	}
	return data, nil
}

// DecodeEventJob parses and validates a message of the OrderEvents queue.
// Any failure is permanent: the same bytes will never parse.
func DecodeEventJob(data []byte) (EventJob, error) {
	var j EventJob
	if len(data) > MaxEventJobBytes+maxRetryRecord {
		return j, Permanentf("order event message is %d bytes, more than %d", len(data), MaxEventJobBytes)
	}
	if err := json.Unmarshal(data, &j); err != nil {
		return j, Permanentf("decode order event message: %w", err)
	}
	if err := j.Validate(); err != nil {
		return j, Permanentf("invalid order event message: %w", err)
	}
	return j, nil
}

// maxRetryRecord is room for the route's retry record in a message.
const maxRetryRecord = 1024

// LogAttrs returns the job's ids for log lines.
func (j EventJob) LogAttrs() []any { return append(j.Event.LogAttrs(), "sink", j.Sink) }

// EventOf returns e, an event of the order's outbox, as its sinks receive
// it: with the order and the customer as the record has them (the amount,
// currency, items, name and language from the last queued mail's receipt
// and customer; the files' titles when there is none). Every value is
// cleaned and bounded as Event.Validate requires, or left out; the order
// page's link is for the delivering stage to add.
func (o Order) EventOf(e OutboxEvent) Event {
	ev := Event{
		Version: EventVersion, ID: e.ID, Type: e.Type, Time: e.At,
		Order: EventOrder{SessionID: o.SessionID, Livemode: o.Livemode, State: e.State, PaidAt: o.PaidAt},
		Mail:  clonePtr(e.Mail), Refund: clonePtr(e.Refund), Dispute: clonePtr(e.Dispute), Access: clonePtr(e.Access),
		Attention: clonePtr(e.Attention),
	}
	if ev.Order.State == "" {
		ev.Order.State = StateReceived
	}
	email := o.CustomerEmail
	if m, ok := o.lastMail(); ok {
		if !validEmail(email) {
			email = m.Customer.Email
		}
		ev.Customer.Name = CustomerName(m.Customer.Name)
		if lang := m.Locale; lang != "auto" && validLanguage(lang) {
			ev.Customer.Language = lang
		}
		if r := m.Receipt; r != nil && validCurrency(r.Currency) && r.AmountTotal >= 0 && r.AmountTotal <= MaxEventAmount {
			ev.Order.AmountTotal, ev.Order.Currency = r.AmountTotal, r.Currency
		}
		if r := m.Receipt; r != nil {
			for _, l := range r.Lines {
				ev.Order.Items = appendItem(ev.Order.Items, l.Description, max(l.Quantity, 1))
			}
		}
	}
	if len(ev.Order.Items) == 0 {
		for _, f := range o.Files {
			ev.Order.Items = appendItem(ev.Order.Items, f.Title, 1)
		}
	}
	if validEmail(email) {
		ev.Customer.Email = email
	}
	if validTime("paid_at", ev.Order.PaidAt, false) != nil {
		ev.Order.PaidAt = time.Time{}
	}
	return ev
}

// appendItem adds an item, its title cleaned and cut to
// MaxReceiptDescription characters, unless the list is full or the title
// empty.
func appendItem(items []EventItem, title string, qty int64) []EventItem {
	title = cleanLine(title)
	if utf8.RuneCountInString(title) > MaxReceiptDescription {
		title = strings.TrimSpace(string([]rune(title)[:MaxReceiptDescription-1])) + "…"
	}
	if title == "" || len(items) >= MaxEventItems || qty > MaxEventAmount {
		return items
	}
	return append(items, EventItem{Title: title, Quantity: qty})
}
