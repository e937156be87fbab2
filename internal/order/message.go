package order

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event types this product acts on. They are Stripe's own names.
const (
	EventCompleted             = "checkout.session.completed"
	EventAsyncPaymentSucceeded = "checkout.session.async_payment_succeeded"
	EventAsyncPaymentFailed    = "checkout.session.async_payment_failed"
	// The payment events: their object is a charge or a dispute, which names
	// the payment intent through which the order is found.
	EventChargeRefunded = "charge.refunded"
	EventDisputeCreated = "charge.dispute.created"
	EventDisputeClosed  = "charge.dispute.closed"
)

// Handles reports whether the Stripe event type is one the pipeline acts on.
func Handles(eventType string) bool {
	switch eventType {
	case EventCompleted, EventAsyncPaymentSucceeded, EventAsyncPaymentFailed:
		return true
	}
	return AboutPayment(eventType)
}

// AboutPayment reports whether the event type is a refund or dispute event,
// whose message names a payment intent rather than a Checkout Session.
func AboutPayment(eventType string) bool {
	switch eventType {
	case EventChargeRefunded, EventDisputeCreated, EventDisputeClosed:
		return true
	}
	return false
}

// EventObject is the Stripe object type of a payment event's data.object:
// "charge" for a refund, "dispute" for a dispute; "" for the other events.
func EventObject(eventType string) string {
	switch eventType {
	case EventChargeRefunded:
		return "charge"
	case EventDisputeCreated, EventDisputeClosed:
		return "dispute"
	}
	return ""
}

// Triggers name what put an ProcessJob on the queue.
const (
	TriggerWebhook   = "webhook"   // a verified Stripe webhook
	TriggerReconcile = "reconcile" // handler reconcile found a paid session without mail
	TriggerOperator  = "operator"  // handler resend --new-links, or a repair
)

// ProcessJobVersion is the current version of ProcessJob.
const ProcessJobVersion = 1

// ProcessJob is what CheckoutComplete puts on the ProcessOrder queue: just
// enough to find the session again. Objects are always re-fetched from Stripe,
// never taken from the event. The JSON names are a stable contract. A
// re-scheduled copy also carries the route's retry record (the "retry"
// field, internal/delivery.Retry), which decoding ignores.
type ProcessJob struct {
	Version   int    `json:"v"`
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	SessionID string `json:"session_id"`
	Livemode  bool   `json:"livemode"`
	// Created is the event's creation time (Unix seconds, as Stripe sends it).
	Created int64 `json:"created"`
	// Trigger says who queued it: TriggerWebhook, TriggerReconcile or
	// TriggerOperator. Empty means TriggerWebhook.
	Trigger string `json:"trigger,omitempty"`
	// NewLinks asks for fresh links and a new mail generation even when the
	// order's mail was already sent (handler resend --new-links).
	NewLinks bool `json:"new_links,omitempty"`
	// Force, with NewLinks from an operator (handler resend --new-links
	// --force), mints and mails the links even while a hold closes the
	// order's access.
	Force bool `json:"force,omitempty"`
	// PaymentIntent and ObjectID are set for the payment events
	// (AboutPayment), whose SessionID is empty: the payment intent the
	// charge or dispute belongs to, by which ProcessOrder finds the order,
	// and the charge (ch_, py_) or dispute (dp_, du_) itself, which
	// ProcessOrder re-fetches.
	PaymentIntent string `json:"payment_intent,omitempty"`
	ObjectID      string `json:"object_id,omitempty"`
}

// MailKinds name the mails SendLink sends.
const (
	MailDownloadLinks = "download_links"
	MailPaymentFailed = "payment_failed"
	// MailOrderLinks lists a customer's orders with their order page links
	// (the "Lost your link?" page). It changes nothing of the order it is
	// recorded on (the newest of them) but its list of mails.
	MailOrderLinks = "order_links"
)

// MailJobVersion is the current version of MailJob.
const MailJobVersion = 1

// MailJob is what ProcessOrder puts on the SendLink queue: everything the
// mail needs, so SendLink calls nothing but the mail service. The JSON names
// are a stable contract; a re-scheduled copy also carries the route's retry
// record (the "retry" field, internal/delivery.Retry), which decoding
// ignores.
type MailJob struct {
	Version   int    `json:"v"`
	Kind      string `json:"kind"` // MailDownloadLinks or MailPaymentFailed
	SessionID string `json:"session_id"`
	EventID   string `json:"event_id,omitempty"`
	// Generation numbers the logical mails of one order and kind: 1 for the
	// first, +1 for each operator resend. The idempotency key of the send
	// (ACS Operation-Id, SMTP Message-ID, outbox file name) is derived from
	// SessionID, Kind and Generation, so redeliveries of the same generation
	// never produce a second mail.
	Generation int      `json:"generation"`
	Customer   Customer `json:"customer"`
	Locale     string   `json:"locale,omitempty"`
	Items      []Item   `json:"items,omitempty"`
	// OrderURL is the order page's link (DOWNLOAD_LINKS=page): the download
	// mail links there, and its items carry no link of their own.
	OrderURL string `json:"order_url,omitempty"`
	// Receipt is what the customer bought and paid, for the mail to show;
	// nil in messages queued before it existed, or when it did not fit.
	Receipt *Receipt `json:"receipt,omitempty"`
	// Orders are the orders a MailOrderLinks mail lists, newest first.
	Orders []OrderLink `json:"orders,omitempty"`
}

// OrderLink is one order a MailOrderLinks mail lists: its date, what was
// bought and its order page.
type OrderLink struct {
	SessionID string    `json:"session_id"`
	OrderedAt time.Time `json:"ordered_at,omitzero"`
	// Items are the titles of the order's files, at most MaxOrderLinkItems;
	// More counts the files left out.
	Items []string `json:"items,omitempty"`
	More  int      `json:"more,omitempty"`
	// URL is the order page's link, signed when the mail is sent.
	URL string `json:"url"`
}

// Bounds of a MailOrderLinks mail, so that it fits one queue message.
const (
	// MaxOrderLinks is the most orders one mail lists.
	MaxOrderLinks = 10
	// MaxOrderLinkItems is the most file titles listed per order, each at
	// most MaxReceiptDescription characters.
	MaxOrderLinkItems = 5
)

// Receipt is the order summary a mail shows: when the customer ordered,
// what, and the amount paid. Amounts are in the currency's minor unit, as
// Stripe gives them (cents; yen for zero-decimal currencies).
type Receipt struct {
	OrderedAt time.Time `json:"ordered_at,omitzero"`
	// Currency is the lowercase ISO 4217 code, as Stripe gives it ("eur").
	Currency    string        `json:"currency,omitempty"`
	AmountTotal int64         `json:"amount_total"`
	Lines       []ReceiptLine `json:"lines,omitempty"`
}

// ReceiptLine is one line of a Receipt.
type ReceiptLine struct {
	Description string `json:"description"`
	Quantity    int64  `json:"quantity,omitempty"`
	AmountTotal int64  `json:"amount_total"`
}

// MaxReceiptDescription bounds, in characters, a receipt line's
// description, so that a cart of long names still fits one queue message.
const MaxReceiptDescription = 200

// Customer is who receives the mail.
type Customer struct {
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

// Item is one purchased file and its download link.
type Item struct {
	Title     string    `json:"title"`
	FileName  string    `json:"file_name"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Redacted returns the link with its query (the SAS signature) removed, for logs.
func (it Item) Redacted() string { return RedactURL(it.URL) }

// MaxIDBytes bounds every id a message carries. Stripe's ids are a few
// dozen bytes; the bound keeps a forged or broken one out of the queues, the
// ledger (whose properties hold at most 64 KiB) and the logs.
const MaxIDBytes = 255

// ValidSessionID reports whether id looks like a Checkout Session id: cs_
// followed by 1 to 250 letters, digits and underscores (cs_test_..., cs_live_...).
func ValidSessionID(id string) bool {
	return validID(id, "cs_", 250)
}

// ValidEventID reports whether id looks like a Stripe event id: evt_
// followed by letters, digits and underscores, at most MaxIDBytes in all
// (evt_1Qb..., and this product's own evt_reconcile_..., evt_resend_...).
func ValidEventID(id string) bool {
	return validID(id, "evt_", MaxIDBytes-len("evt_"))
}

// ValidPaymentIntentID reports whether id looks like a payment intent id:
// pi_ followed by letters, digits and underscores, at most MaxIDBytes in all.
func ValidPaymentIntentID(id string) bool {
	return validID(id, "pi_", MaxIDBytes-len("pi_"))
}

// ValidObjectID reports whether id looks like the id of a payment event's
// object of the given type: a charge (ch_, or py_ for some payment methods)
// or a dispute (dp_, or du_), at most MaxIDBytes in all.
func ValidObjectID(objectType, id string) bool {
	var prefixes []string
	switch objectType {
	case "charge":
		prefixes = []string{"ch_", "py_"}
	case "dispute":
		prefixes = []string{"dp_", "du_"}
	}
	for _, p := range prefixes {
		if validID(id, p, MaxIDBytes-len(p)) {
			return true
		}
	}
	return false
}

// validID reports whether id is prefix followed by 1 to maxRest letters,
// digits and underscores.
func validID(id, prefix string, maxRest int) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || len(rest) == 0 || len(rest) > maxRest {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// clip shortens a value quoted in an error: a message may carry anything,
// and its errors reach the logs.
func clip(s string) string {
	const shown = 64
	if len(s) <= shown {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%q... (%d bytes)", s[:shown], len(s))
}

// Validate checks the fields every consumer relies on.
func (m ProcessJob) Validate() error {
	var errs []error
	if m.Version != ProcessJobVersion {
		errs = append(errs, fmt.Errorf("unsupported version %d (want %d)", m.Version, ProcessJobVersion))
	}
	errs = append(errs, m.validateObject()...)
	if m.EventID != "" && !ValidEventID(m.EventID) {
		errs = append(errs, fmt.Errorf("event_id %s is not a Stripe event id", clip(m.EventID)))
	}
	if !Handles(m.EventType) {
		errs = append(errs, fmt.Errorf("event_type %s is not handled", clip(m.EventType)))
	}
	switch m.Trigger {
	case "", TriggerWebhook, TriggerReconcile, TriggerOperator:
	default:
		errs = append(errs, fmt.Errorf("trigger %s is unknown", clip(m.Trigger)))
	}
	if m.Force && (!m.NewLinks || m.Trigger != TriggerOperator) {
		errs = append(errs, errors.New("force is only for an operator's new links"))
	}
	return errors.Join(errs...)
}

// validateObject checks what the message names: a Checkout Session for the
// Checkout events; for the payment events a payment intent and a charge or
// dispute, and a session id only if it is valid (the webhook knows none).
func (m ProcessJob) validateObject() []error {
	var errs []error
	if !AboutPayment(m.EventType) {
		if !ValidSessionID(m.SessionID) {
			errs = append(errs, fmt.Errorf("session_id %s is not a Checkout Session id", clip(m.SessionID)))
		}
		if m.PaymentIntent != "" || m.ObjectID != "" {
			errs = append(errs, fmt.Errorf("event_type %s carries no payment_intent or object_id", clip(m.EventType)))
		}
		return errs
	}
	if m.SessionID != "" && !ValidSessionID(m.SessionID) {
		errs = append(errs, fmt.Errorf("session_id %s is not a Checkout Session id", clip(m.SessionID)))
	}
	if !ValidPaymentIntentID(m.PaymentIntent) {
		errs = append(errs, fmt.Errorf("payment_intent %s is not a payment intent id", clip(m.PaymentIntent)))
	}
	if obj := EventObject(m.EventType); !ValidObjectID(obj, m.ObjectID) {
		errs = append(errs, fmt.Errorf("object_id %s is not a %s id", clip(m.ObjectID), obj))
	}
	return errs
}

// Validate checks the fields every consumer relies on.
func (m MailJob) Validate() error {
	var errs []error
	if m.Version != MailJobVersion {
		errs = append(errs, fmt.Errorf("unsupported version %d (want %d)", m.Version, MailJobVersion))
	}
	if !ValidSessionID(m.SessionID) {
		errs = append(errs, fmt.Errorf("session_id %s is not a Checkout Session id", clip(m.SessionID)))
	}
	if m.EventID != "" && !ValidEventID(m.EventID) {
		errs = append(errs, fmt.Errorf("event_id %s is not a Stripe event id", clip(m.EventID)))
	}
	switch m.Kind {
	case MailDownloadLinks:
		if len(m.Items) == 0 {
			errs = append(errs, errors.New("a download_links mail has no items"))
		}
	case MailPaymentFailed:
	case MailOrderLinks:
		errs = append(errs, m.validateOrders()...)
	default:
		errs = append(errs, fmt.Errorf("kind %s is unknown", clip(m.Kind)))
	}
	if m.Generation < 1 {
		errs = append(errs, fmt.Errorf("generation %d is not positive", m.Generation))
	}
	if m.Customer.Email == "" {
		errs = append(errs, errors.New("customer email is empty"))
	}
	return errors.Join(errs...)
}

// validateOrders checks the orders of a MailOrderLinks mail.
func (m MailJob) validateOrders() []error {
	var errs []error
	if len(m.Orders) == 0 || len(m.Orders) > MaxOrderLinks {
		errs = append(errs, fmt.Errorf("an order_links mail lists %d orders, not 1 to %d", len(m.Orders), MaxOrderLinks))
	}
	for _, o := range m.Orders {
		if !ValidSessionID(o.SessionID) {
			errs = append(errs, fmt.Errorf("listed order %s is not a Checkout Session id", clip(o.SessionID)))
		}
		if o.URL == "" {
			errs = append(errs, fmt.Errorf("listed order %s has no link", o.SessionID))
		}
		if len(o.Items) > MaxOrderLinkItems || o.More < 0 {
			errs = append(errs, fmt.Errorf("listed order %s names %d files (and %d more), over %d", o.SessionID, len(o.Items), o.More, MaxOrderLinkItems))
		}
	}
	return errs
}

// DecodeProcessJob parses and validates a ProcessOrder queue message. Any
// failure is permanent: the same bytes will never parse.
func DecodeProcessJob(data []byte) (ProcessJob, error) {
	var m ProcessJob
	if err := json.Unmarshal(data, &m); err != nil {
		return m, Permanentf("decode order message: %w", err)
	}
	if err := m.Validate(); err != nil {
		return m, Permanentf("invalid order message: %w", err)
	}
	return m, nil
}

// DecodeMailJob parses and validates a SendLink queue message. Any
// failure is permanent.
func DecodeMailJob(data []byte) (MailJob, error) {
	var m MailJob
	if err := json.Unmarshal(data, &m); err != nil {
		return m, Permanentf("decode mail message: %w", err)
	}
	if err := m.Validate(); err != nil {
		return m, Permanentf("invalid mail message: %w", err)
	}
	return m, nil
}

// LogAttrs returns the message's ids for log lines.
func (m ProcessJob) LogAttrs() []any {
	if m.PaymentIntent != "" {
		return []any{"event_id", m.EventID, "session_id", m.SessionID, "payment_intent", m.PaymentIntent}
	}
	return []any{"event_id", m.EventID, "session_id", m.SessionID}
}

// LogAttrs returns the message's ids for log lines.
func (m MailJob) LogAttrs() []any {
	return []any{"event_id", m.EventID, "session_id", m.SessionID, "mail_kind", m.Kind, "generation", m.Generation}
}
