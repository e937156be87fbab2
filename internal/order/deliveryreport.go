package order

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// EventEmailDeliveryReport is the Event Grid event type of an Azure
// Communication Services Email delivery report.
const EventEmailDeliveryReport = "Microsoft.Communication.EmailDeliveryReportReceived"

// DeliveryStatus is what a delivery report says became of a mail. The
// known values are the Azure SDKs' names (AcsEmailDeliveryReportStatus);
// the service may send others (its documentation names Expanded, for a
// distribution list), which DecodeDeliveryReport keeps as they come.
type DeliveryStatus string

// The delivery statuses of the Azure SDKs. Only MailDelivered means that
// the mail arrived.
const (
	MailDelivered    DeliveryStatus = "Delivered"
	MailBounced      DeliveryStatus = "Bounced"
	MailSuppressed   DeliveryStatus = "Suppressed"
	MailFailed       DeliveryStatus = "Failed"
	MailQuarantined  DeliveryStatus = "Quarantined"
	MailFilteredSpam DeliveryStatus = "FilteredSpam"
)

// Bounds of what a delivery report carries into the ledger and the logs.
const (
	// MaxDeliveryReportBytes bounds a delivery report message. Event Grid
	// writes about a kilobyte; a Storage queue message holds 48 KiB of
	// decoded bytes.
	MaxDeliveryReportBytes = 32 << 10
	// MaxStatusMessage bounds, in characters, the server's message a
	// report carries (deliveryStatusDetails.statusMessage); a longer one is
	// cut.
	MaxStatusMessage = 500
	// maxStatus bounds, in characters, a status of no known name.
	maxStatus = 64
	// maxOperationID bounds a send operation id: a UUID is 36 characters.
	maxOperationID = 64
	// maxAddress bounds a recipient's address, as an SMTP path does.
	maxAddress = 254
)

// ErrOtherEventType reports an Event Grid event that is not an email
// delivery report (an engagement report, say, if the subscription's filter
// lets one through). DecodeDeliveryReport returns it, permanent, with the
// report's EventID and EventType set, so that a stage can acknowledge and
// log the event rather than poison it.
var ErrOtherEventType = errors.New("not an email delivery report")

// DeliveryReport is an Azure Communication Services report of what became
// of one mail, the event Microsoft.Communication.EmailDeliveryReportReceived.
type DeliveryReport struct {
	// EventID is the Event Grid event's id: the same on each delivery of
	// the event.
	EventID string
	// EventType is EventEmailDeliveryReport.
	EventType string
	// OperationID is the report's messageId, in lower case: the id of the
	// send operation, which is the Operation-Id the client chose (the
	// mail's key, Order.OperationID).
	OperationID string
	// Status is the delivery status: one of the Mail... values whatever
	// the case it came in, or a value of no known name, cleaned as
	// StatusMessage is, at most 64 characters.
	Status DeliveryStatus
	// StatusMessage is the server's message (deliveryStatusDetails.statusMessage),
	// on one line, without control characters, at most MaxStatusMessage
	// characters; "" if there is none.
	StatusMessage string
	// Recipient is the address the report is about, "" if it has none or
	// it is not a plausible address.
	Recipient string
	// AttemptedAt is when the delivery was attempted
	// (deliveryAttemptTimeStamp), else the event's time, in UTC; zero if
	// neither is an RFC 3339 time.
	AttemptedAt time.Time
}

// Delivered reports whether the mail arrived.
func (r DeliveryReport) Delivered() bool { return r.Status == MailDelivered }

// LogAttrs returns the report's ids and status for log lines. The
// recipient's address is not among them.
func (r DeliveryReport) LogAttrs() []any {
	return []any{"event_id", r.EventID, "operation_id", r.OperationID, "delivery_status", string(r.Status)}
}

// event is an Event Grid event as it arrives: in the Event Grid schema
// (eventType, eventTime) or in the CloudEvents 1.0 schema (specversion,
// type, time), which the subscription's eventDeliverySchema chooses.
type event struct {
	ID          string          `json:"id"`
	Subject     string          `json:"subject"`
	EventType   string          `json:"eventType"`
	EventTime   string          `json:"eventTime"`
	SpecVersion string          `json:"specversion"`
	Type        string          `json:"type"`
	Time        string          `json:"time"`
	Data        json.RawMessage `json:"data"`
}

// deliveryReportData is the event's data. The documentation's samples spell
// the time deliveryAttemptTimeStamp, the SDKs deliveryAttemptTimestamp.
type deliveryReportData struct {
	Recipient        string `json:"recipient"`
	MessageID        string `json:"messageId"`
	Status           string `json:"status"`
	AttemptTimeStamp string `json:"deliveryAttemptTimeStamp"`
	AttemptTimestamp string `json:"deliveryAttemptTimestamp"`
	Details          *struct {
		StatusMessage string `json:"statusMessage"`
	} `json:"deliveryStatusDetails"`
}

// DecodeDeliveryReport parses and validates a delivery report as Event
// Grid writes it into a Storage queue message: one event, a JSON object, in
// the Event Grid or the CloudEvents 1.0 schema (a JSON array holding one
// such event is accepted too, the shape of Event Grid's webhook). Every
// failure is permanent: the same bytes will never parse. An event of
// another type is ErrOtherEventType.
func DecodeDeliveryReport(data []byte) (DeliveryReport, error) {
	if len(data) > MaxDeliveryReportBytes {
		return DeliveryReport{}, Permanentf("delivery report of %d bytes, more than %d", len(data), MaxDeliveryReportBytes)
	}
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '[' {
		var events []json.RawMessage
		if err := json.Unmarshal(trimmed, &events); err != nil {
			return DeliveryReport{}, Permanentf("decode delivery report: %w", err)
		}
		if len(events) != 1 {
			return DeliveryReport{}, Permanentf("decode delivery report: %d events, want one", len(events))
		}
		data = events[0]
	}
	var e event
	if err := json.Unmarshal(data, &e); err != nil {
		return DeliveryReport{}, Permanentf("decode delivery report: %w", err)
	}
	r, err := e.report()
	if err != nil && !errors.Is(err, ErrOtherEventType) {
		err = fmt.Errorf("invalid delivery report: %w", err)
	}
	return r, Permanent(err)
}

// report validates e, an event of either schema, and returns its report.
func (e event) report() (DeliveryReport, error) {
	eventType, eventTime := e.EventType, e.EventTime
	if e.SpecVersion != "" {
		if e.SpecVersion != "1.0" {
			return DeliveryReport{}, fmt.Errorf("CloudEvents specversion %s is not 1.0", clip(e.SpecVersion))
		}
		eventType, eventTime = e.Type, e.Time
	}
	if !validToken(e.ID, ".:_-") {
		return DeliveryReport{}, fmt.Errorf("event id %s is not an Event Grid event id", clip(e.ID))
	}
	if !validToken(eventType, ".") {
		return DeliveryReport{}, fmt.Errorf("event type %s is not an Event Grid event type", clip(eventType))
	}
	r := DeliveryReport{EventID: e.ID, EventType: eventType}
	if !strings.EqualFold(eventType, EventEmailDeliveryReport) {
		return r, fmt.Errorf("event %s of type %s: %w", e.ID, eventType, ErrOtherEventType)
	}
	r.EventType = EventEmailDeliveryReport
	var d deliveryReportData
	if len(e.Data) == 0 || bytes.Equal(e.Data, []byte("null")) {
		return DeliveryReport{}, errors.New("the event has no data")
	}
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return DeliveryReport{}, fmt.Errorf("event data: %w", err)
	}
	id := d.MessageID
	if id == "" { // the subject is sender/<sender>/message/<messageId>
		_, id, _ = strings.Cut(e.Subject, "/message/")
	}
	if !ValidOperationID(id) {
		return DeliveryReport{}, fmt.Errorf("messageId %s is not an operation id", clip(id))
	}
	r.OperationID = strings.ToLower(id)
	if r.Status = deliveryStatus(d.Status); r.Status == "" {
		return DeliveryReport{}, fmt.Errorf("status %s is not a delivery status", clip(d.Status))
	}
	if d.Details != nil {
		r.StatusMessage = cut(cleanLine(d.Details.StatusMessage), MaxStatusMessage)
	}
	if a := d.Recipient; len(a) <= maxAddress && strings.Contains(a, "@") && cleanLine(a) == a && !strings.ContainsAny(a, " <>") {
		r.Recipient = a
	}
	for _, t := range []string{d.AttemptTimeStamp, d.AttemptTimestamp, eventTime} {
		if at, err := time.Parse(time.RFC3339, t); err == nil {
			r.AttemptedAt = at.UTC()
			break
		}
	}
	return r, nil
}

// deliveryStatus returns s cleaned and bounded, in the SDKs' spelling if it
// names a known status whatever its case; "" if nothing is left of it.
func deliveryStatus(s string) DeliveryStatus {
	s = cut(cleanLine(s), maxStatus)
	for _, known := range []DeliveryStatus{MailDelivered, MailBounced, MailSuppressed, MailFailed, MailQuarantined, MailFilteredSpam} {
		if strings.EqualFold(s, string(known)) {
			return known
		}
	}
	return DeliveryStatus(s)
}

// cut returns s cut to at most n characters, the last of them "…" if it was
// cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// ValidOperationID reports whether id is usable as a mail send operation
// id: 1 to 64 letters, digits and dashes, as the mail keys (MailKey, a
// UUID) are.
func ValidOperationID(id string) bool {
	return len(id) <= maxOperationID && validToken(id, "-")
}

// validToken reports whether s is 1 to MaxIDBytes letters, digits and
// bytes of extra.
func validToken(s, extra string) bool {
	if s == "" || len(s) > MaxIDBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}
