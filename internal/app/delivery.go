package app

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/filedrop/filedrop/internal/deliveryreport"
	"github.com/filedrop/filedrop/internal/mail"
	"github.com/filedrop/filedrop/internal/operator"
	"github.com/filedrop/filedrop/internal/order"
)

// This file is what the operator's commands use to follow a mail: the
// indexes that delivery reports and the "Lost your link?" page read, a
// simulated delivery report, and the check of an address a mail is resent
// to.

// IndexOrders writes the ledger's indexes for recs as SendLink writes them
// for the mails it sends (see operator.Index), calling step, when not nil,
// after each order.
func (p *Pipeline) IndexOrders(ctx context.Context, recs []order.Order, step func(operator.IndexSummary)) (operator.IndexSummary, error) {
	return operator.Index(ctx, p.ledger, recs, time.Now(), step)
}

// SimulatedDelivery is a delivery report SimulateDelivery queued.
type SimulatedDelivery struct {
	// EventID is the Event Grid event's id; Queue the DeliveryReport
	// function's queue it went to.
	EventID, Queue string
}

// SimulateDelivery puts on the DeliveryReport function's queue the report
// Azure Communication Services would send of mail m, with status and the
// receiving server's message, as the Event Grid subscription writes it
// (see deliveryreport.Event).
func (p *Pipeline) SimulateDelivery(ctx context.Context, m order.MailRecord, status order.DeliveryStatus, message string) (SimulatedDelivery, error) {
	queue, err := p.fns.QueueOf(fnDeliveryReport)
	if err != nil {
		return SimulatedDelivery{}, err
	}
	from, _ := mail.ParseAddress(p.cfg.Mail.Sender)
	r := deliveryreport.Simulated{EventID: uuid.NewString(), OperationID: m.OperationID,
		Sender: from.Email, Recipient: m.To, Status: status, Message: message, At: time.Now()}
	data, err := deliveryreport.Event(r)
	if err != nil {
		return SimulatedDelivery{}, err
	}
	if err := p.queues.Queue(queue).Send(ctx, data, 0); err != nil {
		return SimulatedDelivery{}, fmt.Errorf("queue the report on %s: %w", queue, err)
	}
	return SimulatedDelivery{EventID: r.EventID, Queue: queue}, nil
}

// CheckRecipient says, in words for the person who typed it, why addr is
// not one bare address a mail can be sent to; nil when it is
// (mail.CheckBareAddress, for the command line, which reaches no adapter).
func CheckRecipient(addr string) error { return mail.CheckBareAddress(addr) }
