package order

import (
	"errors"
	"slices"
	"strings"
	"time"
)

// MailStatus is what became of one mail of an order, as far as the shop
// knows. The values are stored in the ledger and printed by the CLI: a
// stable contract.
type MailStatus string

const (
	// StatusSending: SendLink claimed the order to send the mail and the
	// transport has not taken it yet. A send that fails transiently leaves
	// the mail sending while the order waits (see Order.LastError).
	StatusSending MailStatus = "sending"
	// StatusAccepted: the transport took the mail and has no word yet that
	// it went out. SMTP and the outbox never have one, so their mails stay
	// accepted; an ACS send operation still running when SendLink stopped
	// polling is accepted too.
	StatusAccepted MailStatus = "accepted"
	// StatusSent: the mail service sent the mail out (an ACS send
	// operation that Succeeded); whether it arrived, a delivery report says.
	StatusSent MailStatus = "sent"
	// StatusDelivered: a delivery report says the mail arrived.
	StatusDelivered MailStatus = "delivered"
	// StatusNotDelivered: a delivery report says the mail did not arrive
	// (bounced, suppressed, quarantined, filtered as spam, failed); the
	// report's status and the server's message say why.
	StatusNotDelivered MailStatus = "not_delivered"
	// StatusFailed: the send failed permanently; the mail never left.
	StatusFailed MailStatus = "failed"
)

// MaxMails bounds Order.Mails: the newest are kept.
const MaxMails = 10

// MailRecord is one mail of an order and what became of it. The JSON
// names are stored in the ledger: a stable contract.
type MailRecord struct {
	// OperationID is the mail's idempotency key (MailJob.Key): the ACS
	// Operation-Id, which delivery reports name as their messageId.
	OperationID string `json:"operation_id"`
	// ServiceID is the transport's id of the send when it is not
	// OperationID (a service that chose its own); reports may name it.
	ServiceID  string `json:"service_id,omitempty"`
	Kind       string `json:"kind"`
	Generation int    `json:"generation"`
	// To is the recipient's address as the mail was sent.
	To string `json:"to,omitempty"`
	// Send is how far the send went: StatusSending, StatusAccepted,
	// StatusSent or StatusFailed.
	Send MailStatus `json:"send"`
	// StartedAt is when SendLink claimed the order to send it; SentAt when
	// the transport took it (accepted or sent).
	StartedAt time.Time `json:"started_at,omitzero"`
	SentAt    time.Time `json:"sent_at,omitzero"`
	// Error says why a failed send failed, at most MaxStatusMessage
	// characters.
	Error string `json:"error,omitempty"`
	// Report is the latest delivery report of the mail (by its attempt
	// time); nil before any.
	Report *MailReport `json:"report,omitempty"`
}

// MailReport is what a delivery report said of a mail.
type MailReport struct {
	Status DeliveryStatus `json:"status"`
	// Message is the receiving server's message, "" when the report has none.
	Message string `json:"message,omitempty"`
	// At is when the delivery was attempted.
	At time.Time `json:"at,omitzero"`
	// EventID is the Event Grid event that reported it.
	EventID string `json:"event_id,omitempty"`
}

// Status is what became of the mail: the delivery report's verdict when
// there is one, else how far the send went.
func (m MailRecord) Status() MailStatus {
	switch {
	case m.Report == nil:
		return m.Send
	case m.Report.Status == MailDelivered:
		return StatusDelivered
	}
	return StatusNotDelivered
}

// Undelivered reports whether a delivery report says the mail did not arrive.
func (m MailRecord) Undelivered() bool { return m.Status() == StatusNotDelivered }

// named reports whether id names the mail (OperationID or ServiceID,
// whatever the case).
func (m MailRecord) named(id string) bool {
	return id != "" && (strings.EqualFold(m.OperationID, id) || strings.EqualFold(m.ServiceID, id))
}

// ErrUnknownMail reports a delivery report for a mail the order does not
// list (never recorded, or older than the newest MaxMails).
var ErrUnknownMail = errors.New("the order lists no mail of this operation id")

// Mails are the order's newest mails (at most MaxMails, oldest first) and
// what became of each. They change only through StartMail, RecordSend,
// FailMail and RecordDelivery, which never change the list in place (a
// copy of the Order keeps the mails as they were: see Changes); the slice
// and its reports are the caller's.
func (o Order) Mails() []MailRecord {
	mails := slices.Clone(o.mails)
	for i, m := range mails {
		if m.Report != nil {
			r := *m.Report
			mails[i].Report = &r
		}
	}
	return mails
}

// mail returns the index of the mail id names in o.mails, or -1.
func (o *Order) mail(id string) int {
	return slices.IndexFunc(o.mails, func(m MailRecord) bool { return m.named(id) })
}

// MailOf returns the mail whose operation id (or service id) is id.
func (o *Order) MailOf(id string) (MailRecord, bool) {
	if i := o.mail(id); i >= 0 {
		return o.mails[i], true
	}
	return MailRecord{}, false
}

// LastMail returns the order's newest mail.
func (o *Order) LastMail() (MailRecord, bool) {
	if len(o.mails) == 0 {
		return MailRecord{}, false
	}
	return o.mails[len(o.mails)-1], true
}

// StartMail records msg as a mail of the order being sent at now, to the
// address it names, unless the order lists it already (a redelivery). The
// newest MaxMails are kept.
func (o *Order) StartMail(msg MailJob, now time.Time) {
	key := msg.Key()
	if o.mail(key) >= 0 {
		return
	}
	o.mails = append(slices.Clip(o.mails), MailRecord{OperationID: key, Kind: msg.Kind, Generation: msg.Generation,
		To: msg.Customer.Email, Send: StatusSending, StartedAt: now})
	if n := len(o.mails); n > MaxMails {
		o.mails = slices.Clone(o.mails[n-MaxMails:])
	}
}

// RecordSend records that the transport took the mail key at now: status
// is StatusAccepted or StatusSent. serviceID is the transport's id of the
// send, kept when it differs from key. A mail the order does not list
// (recorded before StartMail existed) is added.
func (o *Order) RecordSend(msg MailJob, status MailStatus, serviceID string, now time.Time) {
	o.StartMail(msg, now)
	o.mails = slices.Clone(o.mails)
	m := &o.mails[o.mail(msg.Key())]
	if m.Send == StatusSending || m.Send == StatusFailed || m.Send == StatusAccepted && status == StatusSent {
		m.Send, m.Error = status, ""
	}
	if m.SentAt.IsZero() {
		m.SentAt = now
	}
	if serviceID != "" && !strings.EqualFold(serviceID, m.OperationID) {
		m.ServiceID = serviceID
	}
}

// FailMail records that the send of the mail key failed permanently, and
// why, and reports whether the order lists the mail. A mail the transport
// took already is left as it is.
func (o *Order) FailMail(key, reason string) bool {
	i := o.mail(key)
	if i < 0 {
		return false
	}
	if o.mails[i].Send == StatusSending {
		o.mails = slices.Clone(o.mails)
		m := &o.mails[i]
		m.Send, m.Error = StatusFailed, cut(cleanLine(reason), MaxStatusMessage)
	}
	return true
}

// RecordDelivery records r, a delivery report, on the mail it names and
// reports whether that changed the record. Reports are per delivery
// attempt and may come twice and in any order: the one of the latest
// attempt is kept, so a redelivered report, or one older than the kept
// one, changes nothing (a report without an attempt time only fills an
// empty place). A report for a mail the order does not list is
// ErrUnknownMail.
func (o *Order) RecordDelivery(r DeliveryReport) (bool, error) {
	i := o.mail(r.OperationID)
	if i < 0 {
		return false, ErrUnknownMail
	}
	m := &o.mails[i]
	if old := m.Report; old != nil && (old.EventID == r.EventID || !r.AttemptedAt.After(old.At)) {
		return false, nil
	}
	o.mails = slices.Clone(o.mails)
	o.mails[i].Report = &MailReport{Status: r.Status, Message: r.StatusMessage, At: r.AttemptedAt, EventID: r.EventID}
	return true, nil
}

// MailDone reports whether the send of the mail key ended: the
// transport took it, or it failed permanently (and would fail the same way
// again). A redelivery of its message then sends nothing.
func (o *Order) MailDone(key string) bool {
	m, ok := o.MailOf(key)
	return ok && m.Send != StatusSending
}
