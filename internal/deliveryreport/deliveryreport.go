// Package deliveryreport is the DeliveryReport stage: it records on each
// mail what Azure Communication Services reports became of it.
//
// Input: one Event Grid event per message of the delivery-reports queue,
// which an Event Grid subscription on the Communication Service writes
// (docs/event-grid-queue.md): an email delivery report
// (Microsoft.Communication.EmailDeliveryReportReceived), decoded and
// validated by Decode (order.DecodeDeliveryReport) before the stage runs,
// so that a message that does not decode (malformed, or over
// order.MaxDeliveryReportBytes) goes to the poison queue unread. An event
// of another type is acknowledged and logged.
//
// Output: the report on the mail it names, in the order's list of mails
// (order.Order.RecordDelivery): delivered, or not delivered with the
// report's status and the receiving server's message, which orders show
// prints; a non-delivery logs one warning line. The mail's order is found
// by the report's messageId (the send's operation id) in the index SendLink
// writes before it sends.
//
// Retried: only a ledger that cannot be read or written, as the ledger
// classifies it. A report for a mail the index does not know (another
// shop's on the same Communication Service, or one sent before the index
// existed) or that its order no longer lists is acknowledged and logged.
//
// Redelivery is harmless: a report is one delivery attempt, and the mail
// keeps the report of its latest attempt, so the same report again, or an
// earlier attempt's arriving late, changes nothing and logs no warning.
package deliveryreport

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/storage/ledger"
)

// MailFinder finds the session whose mail an operation id names
// (storage/ledger.Ledger): an error wrapping order.ErrNotFound when none.
type MailFinder interface {
	SessionOfMail(ctx context.Context, operationID string) (string, error)
}

var _ MailFinder = (*ledger.Ledger)(nil)

// Deps are what the stage uses.
type Deps struct {
	// Records is the ledger the reports are recorded in.
	Records order.Records
	// Mails finds a mail's order by its operation id.
	Mails MailFinder
	// Now is the stage's clock; nil means time.Now.
	Now func() time.Time
	// Log is used for a delivery without a logger of its own; nil discards.
	Log *slog.Logger
}

// Stage records delivery reports.
type Stage struct {
	records order.Records
	mails   MailFinder
	now     func() time.Time
	log     *slog.Logger
}

// New returns the stage, or an error naming a missing dependency.
func New(d Deps) (*Stage, error) {
	var errs []error
	if d.Records == nil {
		errs = append(errs, errors.New("deliveryreport: no Records"))
	}
	if d.Mails == nil {
		errs = append(errs, errors.New("deliveryreport: no Mails"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s := &Stage{records: d.Records, mails: d.Mails, now: d.Now, log: d.Log}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Decode decodes a message of the delivery-reports queue (see
// order.DecodeDeliveryReport). An event of another type is no error: the
// report it returns carries only the event's id and type, for Handle to
// acknowledge.
func Decode(data []byte) (order.DeliveryReport, error) {
	r, err := order.DecodeDeliveryReport(data)
	if errors.Is(err, order.ErrOtherEventType) {
		return r, nil
	}
	return r, err
}

// errNoOrder stops the record of a report whose order is not in the ledger.
var errNoOrder = errors.New("the order is not in the ledger")

// Handle records r, delivered as d; see the package documentation.
func (s *Stage) Handle(ctx context.Context, d delivery.Attempt, r order.DeliveryReport) error {
	log := cmp.Or(d.Log, s.log).With(r.LogAttrs()...)
	if r.EventType != order.EventEmailDeliveryReport {
		log.Info("not an email delivery report; acknowledged", "event_type", r.EventType)
		return nil
	}
	if !order.ValidOperationID(r.OperationID) {
		return order.Permanentf("delivery report %s names no operation id", r.EventID)
	}
	session, err := s.mails.SessionOfMail(ctx, r.OperationID)
	switch {
	case errors.Is(err, order.ErrNotFound):
		log.Info("delivery report for a mail this shop does not know; acknowledged")
		return nil
	case err != nil:
		return fmt.Errorf("find the order of mail %s: %w", r.OperationID, err)
	}
	log = log.With("session_id", session)
	changed := false
	rec, err := order.Mutate(ctx, s.records, session, s.now(), func(o *order.Order) error {
		changed = false
		if o.ETag == "" {
			return errNoOrder
		}
		c, err := o.RecordDelivery(r)
		if err != nil {
			return err
		}
		if !c {
			return order.ErrUnchanged
		}
		changed = true
		return nil
	})
	switch {
	case errors.Is(err, errNoOrder):
		log.Info("delivery report for a mail whose order is not in the ledger; acknowledged")
		return nil
	case errors.Is(err, order.ErrUnknownMail):
		log.Info("delivery report for a mail its order no longer lists (older than its newest mails); acknowledged")
		return nil
	case err != nil:
		return fmt.Errorf("record delivery report: %w", err)
	case !changed:
		log.Info("delivery report changes nothing: the same report again, or an earlier attempt than the one recorded")
		return nil
	}
	m, _ := rec.MailOf(r.OperationID)
	if r.Delivered() {
		log.Info("mail delivered", "mail_kind", m.Kind, "generation", m.Generation)
		return nil
	}
	// The server's message may quote the address: it is in the ledger
	// (orders show), not in the log.
	log.Warn("mail not delivered; handler orders show has the server's message, handler resend --to a corrected address",
		"mail_kind", m.Kind, "generation", m.Generation)
	return nil
}
