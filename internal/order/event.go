package order

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// EventType names a change of an order that a seller may follow (an order
// event, published to the sinks: signed webhooks, Dataverse). The values are
// a stable contract with the seller's receivers: never derived from Go names.
type EventType string

// The order event types.
const (
	// TypePaid: the payment succeeded (at once, or a delayed one later).
	TypePaid EventType = "order.paid"
	// TypeLinksReady: the files are ready and the download mail is queued.
	TypeLinksReady EventType = "order.links_ready"
	// TypeMailAccepted: the mail service accepted a mail of the order.
	TypeMailAccepted EventType = "order.mail_accepted"
	// TypeMailDelivered and TypeMailNotDelivered: the mail service reported
	// the mail delivered, or not (bounced, suppressed, ...), where delivery
	// reports exist.
	TypeMailDelivered    EventType = "order.mail_delivered"
	TypeMailNotDelivered EventType = "order.mail_not_delivered"
	// TypePaymentFailed: a delayed payment failed.
	TypePaymentFailed EventType = "order.payment_failed"
	// TypeRefunded: a refund, full or partial (see EventRefund).
	TypeRefunded EventType = "order.refunded"
	// TypeDisputeOpened and TypeDisputeClosed: the customer's bank opened a
	// dispute, and it was closed (see EventDispute).
	TypeDisputeOpened EventType = "order.dispute_opened"
	TypeDisputeClosed EventType = "order.dispute_closed"
	// TypeAccessRevoked and TypeAccessRestored: the order page stopped, or
	// started again, offering the files (see EventAccess).
	TypeAccessRevoked  EventType = "order.access_revoked"
	TypeAccessRestored EventType = "order.access_restored"
	// TypeNeedsAttention: the order needs an operator (see EventAttention).
	TypeNeedsAttention EventType = "order.needs_attention"
)

// EventTypes returns every event type.
func EventTypes() []EventType {
	return []EventType{TypePaid, TypeLinksReady, TypeMailAccepted, TypeMailDelivered, TypeMailNotDelivered,
		TypePaymentFailed, TypeRefunded, TypeDisputeOpened, TypeDisputeClosed, TypeAccessRevoked,
		TypeAccessRestored, TypeNeedsAttention}
}

// detail names the part of an Event that carries an event type's own data,
// "" for the types that carry none.
func (t EventType) detail() (string, bool) {
	switch t {
	case TypePaid, TypeLinksReady, TypePaymentFailed:
		return "", true
	case TypeMailAccepted, TypeMailDelivered, TypeMailNotDelivered:
		return "mail", true
	case TypeRefunded:
		return "refund", true
	case TypeDisputeOpened, TypeDisputeClosed:
		return "dispute", true
	case TypeAccessRevoked, TypeAccessRestored:
		return "access", true
	case TypeNeedsAttention:
		return "attention", true
	}
	return "", false
}

// EventVersion is the current version of Event.
const EventVersion = 1

// Event is one change of an order, as the sinks receive it: the body of a
// signed webhook, and what the Dataverse sink writes. The JSON names are a
// stable contract with the seller's receivers; a receiver de-duplicates on
// ID, which is the same on every delivery of one change.
//
// Next to the order and the customer, an event carries the part of its type
// (EventType.detail): Mail for the mail events, Refund, Dispute, Access for
// their events, Attention for needs_attention; the other parts are absent.
type Event struct {
	// Version is EventVersion.
	Version int `json:"version"`
	// ID identifies the change (NewEventID): oevt_ and letters, digits and
	// underscores. It is the webhook-id of a webhook.
	ID   string    `json:"id"`
	Type EventType `json:"type"`
	// Time is when the change happened, not when it is delivered.
	Time     time.Time     `json:"timestamp"`
	Order    EventOrder    `json:"order"`
	Customer EventCustomer `json:"customer"`

	Mail      *EventMail      `json:"mail,omitempty"`
	Refund    *EventRefund    `json:"refund,omitempty"`
	Dispute   *EventDispute   `json:"dispute,omitempty"`
	Access    *EventAccess    `json:"access,omitempty"`
	Attention *EventAttention `json:"attention,omitempty"`
}

// EventOrder is the order as an event shows it. Amounts are in the
// currency's minor unit, as Stripe gives them (cents; yen for zero-decimal
// currencies).
type EventOrder struct {
	SessionID string `json:"session_id"`
	Livemode  bool   `json:"livemode"`
	// State is the order's state after the change.
	State       State  `json:"state"`
	AmountTotal int64  `json:"amount_total"`
	Currency    string `json:"currency,omitempty"`
	// Items are what was bought; absent when the event does not know them.
	Items  []EventItem `json:"items,omitempty"`
	PaidAt time.Time   `json:"paid_at,omitzero"`
	// PageURL is the customer's order page, a link that grants the
	// downloads: set only when the seller opted in (ORDER_EVENTS_INCLUDE_LINK).
	PageURL string `json:"page_url,omitempty"`
}

// EventItem is one line of what was bought.
type EventItem struct {
	Title    string `json:"title"`
	Quantity int64  `json:"quantity"`
}

// EventCustomer is who bought. Email is empty only when the order has none
// (an order that needs attention for that reason).
type EventCustomer struct {
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
	// Language is the customer's language as a BCP 47 tag ("en", "fr-CA").
	Language string `json:"language,omitempty"`
}

// EventMail is the mail of a mail event.
type EventMail struct {
	// Kind is MailDownloadLinks or MailPaymentFailed.
	Kind       string `json:"kind"`
	Generation int    `json:"generation"`
	// Status is the mail service's delivery status of a not-delivered mail
	// ("Bounced", "Suppressed", ...); empty otherwise.
	Status string `json:"status,omitempty"`
}

// EventRefund is a refund: AmountRefunded is the total refunded so far, and
// Full is set once the whole payment is refunded.
type EventRefund struct {
	AmountRefunded int64 `json:"amount_refunded"`
	Full           bool  `json:"full"`
}

// EventDispute is a dispute: Status is Stripe's dispute status
// (needs_response, under_review, won, lost, ...).
type EventDispute struct {
	Status string `json:"status"`
}

// EventAccess says what closed or reopened access (a HoldKind: operator,
// refund, dispute, dispute_lost, window) and, from an operator, why.
type EventAccess struct {
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
}

// EventAttention says why the order needs an operator.
type EventAttention struct {
	Reason string `json:"reason"`
}

// Bounds of an Event. The encoded event fits one queue message with room
// for its envelope.
const (
	// MaxEventBytes bounds an encoded Event.
	MaxEventBytes = 32 * 1024
	// MaxEventItems bounds EventOrder.Items.
	MaxEventItems = 100
	// MaxEventReason bounds, in characters, the reasons of EventAccess and
	// EventAttention.
	MaxEventReason = 500
	// MaxEventAmount bounds every amount and quantity: the largest integer
	// a JSON number holds exactly in every receiver's language (2^53-1).
	MaxEventAmount = 1<<53 - 1
	// MaxPageURL bounds EventOrder.PageURL, in bytes.
	MaxPageURL = 2048
	// maxEmail bounds an address (RFC 5321's path limit).
	maxEmail = 254
)

// eventIDPrefix starts every event id; distinct from Stripe's evt_.
const eventIDPrefix = "oevt_"

// eventNamespace is the UUID namespace of event ids.
var eventNamespace = uuid.MustParse("3d0f7c52-9a8e-4b8b-8c3e-6a4f0b2d9e17")

// NewEventID returns the id of one change of an order: oevt_ and the hex
// of a UUIDv5 of the session id, the event type and change, which tells
// this change from others of the same type (a Stripe event id, a mail
// generation). The same arguments give the same id, so a change that is
// produced again after a crash or a redelivery publishes under the same id.
func NewEventID(sessionID string, t EventType, change string) string {
	u := uuid.NewSHA1(eventNamespace, fmt.Appendf(nil, "%s\x00%s\x00%s", sessionID, t, change))
	return eventIDPrefix + strings.ReplaceAll(u.String(), "-", "")
}

// ValidOrderEventID reports whether id looks like an order event's id:
// oevt_ followed by letters, digits and underscores, at most MaxIDBytes in
// all. It holds no full stop, as a webhook-id must not.
func ValidOrderEventID(id string) bool {
	return validID(id, eventIDPrefix, MaxIDBytes-len(eventIDPrefix))
}

// Validate checks every field and its bounds.
func (e Event) Validate() error {
	var errs []error
	if e.Version != EventVersion {
		errs = append(errs, fmt.Errorf("unsupported version %d (want %d)", e.Version, EventVersion))
	}
	if !ValidOrderEventID(e.ID) {
		errs = append(errs, fmt.Errorf("id %s is not an order event id", clip(e.ID)))
	}
	if err := validTime("timestamp", e.Time, true); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, e.Order.validate()...)
	errs = append(errs, e.Customer.validate()...)
	detail, known := e.Type.detail()
	if !known {
		errs = append(errs, fmt.Errorf("type %s is unknown", clip(string(e.Type))))
	}
	parts := []struct {
		name     string
		present  bool
		validate func() error
	}{
		{"mail", e.Mail != nil, func() error { return e.Mail.validate() }},
		{"refund", e.Refund != nil, func() error { return e.Refund.validate() }},
		{"dispute", e.Dispute != nil, func() error { return e.Dispute.validate() }},
		{"access", e.Access != nil, func() error { return e.Access.validate() }},
		{"attention", e.Attention != nil, func() error { return e.Attention.validate() }},
	}
	for _, p := range parts {
		switch {
		case p.present && p.name != detail:
			errs = append(errs, fmt.Errorf("type %s carries no %s", clip(string(e.Type)), p.name))
		case p.present:
			if err := p.validate(); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p.name, err))
			}
		case known && p.name == detail:
			errs = append(errs, fmt.Errorf("type %s needs its %s", e.Type, p.name))
		}
	}
	return errors.Join(errs...)
}

func (o EventOrder) validate() []error {
	var errs []error
	if !ValidSessionID(o.SessionID) {
		errs = append(errs, fmt.Errorf("order session_id %s is not a Checkout Session id", clip(o.SessionID)))
	}
	if !validState(o.State) {
		errs = append(errs, fmt.Errorf("order state %s is unknown", clip(string(o.State))))
	}
	if o.AmountTotal < 0 || o.AmountTotal > MaxEventAmount {
		errs = append(errs, fmt.Errorf("order amount_total %d is out of range", o.AmountTotal))
	}
	switch {
	case o.Currency == "" && o.AmountTotal != 0:
		errs = append(errs, errors.New("order amount_total has no currency"))
	case o.Currency != "" && !validCurrency(o.Currency):
		errs = append(errs, fmt.Errorf("order currency %s is not a lowercase ISO 4217 code", clip(o.Currency)))
	}
	if len(o.Items) > MaxEventItems {
		errs = append(errs, fmt.Errorf("order has %d items, more than %d", len(o.Items), MaxEventItems))
	}
	for i, it := range o.Items {
		if it.Title == "" || !cleanText(it.Title, MaxReceiptDescription) {
			errs = append(errs, fmt.Errorf("order item %d: title %s is empty, too long or not clean text", i+1, clip(it.Title)))
		}
		if it.Quantity < 0 || it.Quantity > MaxEventAmount {
			errs = append(errs, fmt.Errorf("order item %d: quantity %d is out of range", i+1, it.Quantity))
		}
	}
	if err := validTime("order paid_at", o.PaidAt, false); err != nil {
		errs = append(errs, err)
	}
	if o.PageURL != "" && !validPageURL(o.PageURL) {
		errs = append(errs, errors.New("order page_url is not an https URL of at most 2048 bytes"))
	}
	return errs
}

func (c EventCustomer) validate() []error {
	var errs []error
	if c.Email != "" && !validEmail(c.Email) {
		errs = append(errs, fmt.Errorf("customer email %s is not a bare email address", clip(c.Email)))
	}
	if c.Name != "" && CustomerName(c.Name) != c.Name {
		errs = append(errs, fmt.Errorf("customer name %s is too long or not clean text", clip(c.Name)))
	}
	if c.Language != "" && !validLanguage(c.Language) {
		errs = append(errs, fmt.Errorf("customer language %s is not a language tag", clip(c.Language)))
	}
	return errs
}

func (m *EventMail) validate() error {
	var errs []error
	if m.Kind != MailDownloadLinks && m.Kind != MailPaymentFailed {
		errs = append(errs, fmt.Errorf("kind %s is unknown", clip(m.Kind)))
	}
	if m.Generation < 1 {
		errs = append(errs, fmt.Errorf("generation %d is not positive", m.Generation))
	}
	if m.Status != "" && !validStatusWord(m.Status) {
		errs = append(errs, fmt.Errorf("status %s is not a status name", clip(m.Status)))
	}
	return errors.Join(errs...)
}

func (r *EventRefund) validate() error {
	if r.AmountRefunded < 0 || r.AmountRefunded > MaxEventAmount {
		return fmt.Errorf("amount_refunded %d is out of range", r.AmountRefunded)
	}
	return nil
}

func (d *EventDispute) validate() error {
	if !validStatusWord(d.Status) {
		return fmt.Errorf("status %s is not a status name", clip(d.Status))
	}
	return nil
}

func (a *EventAccess) validate() error {
	var errs []error
	switch a.By {
	case string(HoldOperator), string(HoldRefund), string(HoldDispute), string(HoldDisputeLost), string(HoldWindow):
	default:
		errs = append(errs, fmt.Errorf("by %s is unknown", clip(a.By)))
	}
	if !cleanText(a.Reason, MaxEventReason) {
		errs = append(errs, fmt.Errorf("reason %s is too long or not clean text", clip(a.Reason)))
	}
	return errors.Join(errs...)
}

func (a *EventAttention) validate() error {
	if a.Reason == "" || !cleanText(a.Reason, MaxEventReason) {
		return fmt.Errorf("reason %s is empty, too long or not clean text", clip(a.Reason))
	}
	return nil
}

// EncodeEvent validates e and returns its JSON: the exact bytes a webhook
// signs and sends. The error is permanent: the same event never encodes.
func EncodeEvent(e Event) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, Permanentf("invalid order event: %w", err)
	}
	data, err := json.Marshal(e)
	if err != nil {
		return nil, Permanentf("encode order event: %w", err)
	}
	if len(data) > MaxEventBytes {
		return nil, Permanentf("order event %s is %d bytes, more than %d: send fewer items", e.ID, len(data), MaxEventBytes)
	}
	return data, nil
}

// DecodeEvent parses and validates an encoded Event. Any failure is
// permanent: the same bytes will never parse.
func DecodeEvent(data []byte) (Event, error) {
	var e Event
	if len(data) > MaxEventBytes {
		return e, Permanentf("order event is %d bytes, more than %d", len(data), MaxEventBytes)
	}
	if err := json.Unmarshal(data, &e); err != nil {
		return e, Permanentf("decode order event: %w", err)
	}
	if err := e.Validate(); err != nil {
		return e, Permanentf("invalid order event: %w", err)
	}
	return e, nil
}

// LogAttrs returns the event's ids for log lines.
func (e Event) LogAttrs() []any {
	return []any{"order_event_id", e.ID, "order_event_type", string(e.Type), "session_id", e.Order.SessionID}
}

// validState reports whether s is one of States.
func validState(s State) bool {
	for _, known := range States {
		if s == known {
			return true
		}
	}
	return false
}

// validTime checks a time of an event: between the years 2000 and 9999
// (JSON cannot encode a later one); a zero time only when it is optional.
func validTime(name string, t time.Time, required bool) error {
	switch {
	case t.IsZero() && !required:
		return nil
	case t.IsZero():
		return fmt.Errorf("%s is missing", name)
	case t.Year() < 2000 || t.Year() > 9999:
		return fmt.Errorf("%s %s is out of range", name, t.UTC().Format(time.RFC3339))
	}
	return nil
}

// validCurrency reports a lowercase ISO 4217 code, as Stripe writes it.
func validCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := range 3 {
		if c[i] < 'a' || c[i] > 'z' {
			return false
		}
	}
	return true
}

// validEmail reports a bare address (no display name, no comments) of at
// most maxEmail bytes.
func validEmail(s string) bool {
	if len(s) > maxEmail || strings.ContainsFunc(s, unicode.IsSpace) {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}

// validLanguage reports a BCP 47-shaped tag: subtags of 1 to 8 letters and
// digits joined by hyphens, the first of letters, at most 35 bytes.
func validLanguage(s string) bool {
	if len(s) > 35 {
		return false
	}
	for i, sub := range strings.Split(s, "-") {
		if len(sub) == 0 || len(sub) > 8 {
			return false
		}
		for j := 0; j < len(sub); j++ {
			c := sub[j]
			letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
			if !letter && (i == 0 || c < '0' || c > '9') {
				return false
			}
		}
	}
	return true
}

// validStatusWord reports a status name: 1 to 64 letters, digits and underscores.
func validStatusWord(s string) bool {
	return validID("_"+s, "_", 64)
}

// validPageURL reports an absolute https URL (http only to a loopback host,
// for local runs) without user info, of at most MaxPageURL bytes.
func validPageURL(s string) bool {
	if len(s) > MaxPageURL || strings.ContainsFunc(s, unicode.IsSpace) {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		h := u.Hostname()
		return h == "localhost" || h == "127.0.0.1" || h == "::1"
	}
	return false
}

// cleanText reports text as CustomerName leaves it (valid UTF-8, no
// control or bidirectional formatting characters, single spaces, none at
// either end) of at most max characters.
func cleanText(s string, max int) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return false
	}
	return strings.Join(strings.Fields(s), " ") == s && !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || isBidiControl(r)
	})
}
