package order

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Changes returns the order events of one write: what changed from before,
// the record as read, to after, the record as it will be written, at now.
// It is a pure function of the two (the methods of Order never change a
// list of the record in place, so a copy of the Order value made before a
// change keeps the record as read), so that every writer of the ledger
// produces the events of its changes in one place (Mutate, through a
// Publisher) and a write repeated on a fresh read (a lost race, a
// redelivered message, a retried step) finds the change made already and
// produces nothing. Each event's id (NewEventID) names the change itself:
//
//   - paid: the payment recorded (PaidAt set), once per order;
//   - links_ready: a download mail generation queued (its generation);
//   - mail_accepted: a mail of the order taken by the transport (its
//     operation id);
//   - mail_delivered, mail_not_delivered: a delivery report changed the
//     mail's verdict (the operation id, the status and the report);
//   - payment_failed: the failure recorded (PaymentFailedAt set), once;
//   - refunded: the refunded total grew (the new total);
//   - dispute_opened, dispute_closed: a dispute appeared (its id), or
//     reached won, lost or a closed inquiry (its id and status);
//   - access_revoked: a hold placed (its kind, ref and time);
//   - access_restored: the last hold lifted (the holds lifted);
//   - needs_attention: the order entered needs_attention (the how-manyth
//     time, Attentions).
//
// Mails of the "Lost your link?" page (MailOrderLinks) are no change of
// the order: they produce nothing.
func Changes(before, after Order, now time.Time) []OutboxEvent {
	c := changes{before: &before, after: &after, now: now}
	c.paid()
	c.linksReady()
	c.mails()
	c.paymentFailed()
	c.refunded()
	c.disputes()
	c.access()
	c.attention()
	return c.out
}

// changes gathers the events of one write.
type changes struct {
	before, after *Order
	now           time.Time
	out           []OutboxEvent
}

// add appends an event of type t for the change named change, at at (now
// when zero), with the order's state after the write.
func (c *changes) add(t EventType, change string, at time.Time, detail func(e *OutboxEvent)) {
	if at.IsZero() {
		at = c.now
	}
	state := c.after.state
	if state == "" {
		state = StateReceived // a record a refund made before the order's own events
	}
	e := OutboxEvent{ID: NewEventID(c.after.SessionID, t, change), Type: t, At: at, State: state}
	if detail != nil {
		detail(&e)
	}
	c.out = append(c.out, e)
}

func (c *changes) paid() {
	if c.before.PaidAt.IsZero() && !c.after.PaidAt.IsZero() {
		c.add(TypePaid, "", c.after.PaidAt, nil)
	}
}

func (c *changes) linksReady() {
	a, b := c.after, c.before
	if a.MailKind != MailDownloadLinks || a.mailGeneration == 0 {
		return
	}
	if b.MailKind == MailDownloadLinks && a.mailGeneration <= b.mailGeneration {
		return
	}
	c.add(TypeLinksReady, strconv.Itoa(a.mailGeneration), a.LinksReadyAt, nil)
}

// mails finds the mails the transport took and the verdicts of delivery
// reports.
func (c *changes) mails() {
	for _, m := range c.after.mails {
		if m.Kind != MailDownloadLinks && m.Kind != MailPaymentFailed {
			continue
		}
		old, known := c.before.MailOf(m.OperationID)
		taken := func(r MailRecord) bool { return r.Send == StatusAccepted || r.Send == StatusSent }
		if taken(m) && (!known || !taken(old)) {
			c.add(TypeMailAccepted, m.OperationID, m.SentAt, func(e *OutboxEvent) {
				e.Mail = &EventMail{Kind: m.Kind, Generation: max(m.Generation, 1)}
			})
		}
		r := m.Report
		if r == nil || known && old.Report != nil && old.Report.Status == r.Status {
			continue
		}
		report := r.EventID
		if report == "" {
			report = changeTime(r.At)
		}
		t, status := TypeMailDelivered, ""
		if r.Status != MailDelivered {
			t = TypeMailNotDelivered
			if validStatusWord(string(r.Status)) {
				status = string(r.Status)
			}
		}
		c.add(t, m.OperationID+"/"+string(r.Status)+"/"+report, r.At, func(e *OutboxEvent) {
			e.Mail = &EventMail{Kind: m.Kind, Generation: max(m.Generation, 1), Status: status}
		})
	}
}

func (c *changes) paymentFailed() {
	if c.before.PaymentFailedAt.IsZero() && !c.after.PaymentFailedAt.IsZero() {
		c.add(TypePaymentFailed, "", c.after.PaymentFailedAt, nil)
	}
}

func (c *changes) refunded() {
	a := c.after
	if a.RefundedAmount <= c.before.RefundedAmount || a.RefundedAmount > MaxEventAmount {
		return
	}
	total := a.receipt().AmountTotal
	full := total > 0 && a.RefundedAmount >= total || a.holding(HoldRefund, "") >= 0
	c.add(TypeRefunded, strconv.FormatInt(a.RefundedAmount, 10), c.now, func(e *OutboxEvent) {
		e.Refund = &EventRefund{AmountRefunded: a.RefundedAmount, Full: full}
	})
}

// disputes finds the disputes that appeared and those that closed (won,
// lost, or an inquiry closed). A dispute that appears closed opens and
// closes in one write.
func (c *changes) disputes() {
	for _, d := range c.after.Disputes {
		if !validStatusWord(d.Status) {
			continue
		}
		i := slices.IndexFunc(c.before.Disputes, func(o Dispute) bool { return o.ID == d.ID })
		if i < 0 {
			// A record kept before the ledger kept dispute ids names its
			// dispute "" until an event adopts the id (see adoptDispute).
			i = slices.IndexFunc(c.before.Disputes, func(o Dispute) bool { return o.ID == "" })
		}
		detail := func(e *OutboxEvent) { e.Dispute = &EventDispute{Status: d.Status} }
		if i < 0 {
			c.add(TypeDisputeOpened, d.ID, c.now, detail)
		}
		if d.stage() != disputeOpen && (i < 0 || c.before.Disputes[i].stage() == disputeOpen) {
			c.add(TypeDisputeClosed, d.ID+"/"+d.Status, c.now, detail)
		}
	}
}

// holdKey names a hold for an event id: its kind, ref and time.
func holdKey(h Hold) string {
	return string(h.Kind) + "/" + h.Ref + "/" + changeTime(h.At)
}

// changeTime writes a time for an event id: UTC, to the millisecond, so
// that the id is the same whether it is made from the time as written or
// as a ledger gives it back (the Table ledger keeps 100 ns ticks).
func changeTime(t time.Time) string {
	return t.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z")
}

// sameHold reports whether a and b are the same hold: a hold's ref may be
// adopted later (adoptDispute), so kind and time decide.
func sameHold(a, b Hold) bool { return a.Kind == b.Kind && a.At.Equal(b.At) }

// access finds the holds placed, and access reopened: the last hold
// lifted, by an operator's grant or by the cause itself (a dispute won).
func (c *changes) access() {
	a, b := c.after, c.before
	for _, h := range a.accessHolds {
		if slices.ContainsFunc(b.accessHolds, func(o Hold) bool { return sameHold(o, h) }) {
			continue
		}
		c.add(TypeAccessRevoked, holdKey(h), h.At, func(e *OutboxEvent) {
			e.Access = &EventAccess{By: string(h.Kind)}
			if h.Kind == HoldOperator {
				e.Access.Reason = cut(cleanLine(h.Reason), MaxEventReason)
			}
		})
	}
	if len(b.accessHolds) == 0 || len(a.accessHolds) > 0 {
		return
	}
	keys := make([]string, len(b.accessHolds))
	for i, h := range b.accessHolds {
		keys[i] = holdKey(h)
	}
	by := string(b.accessHolds[len(b.accessHolds)-1].Kind)
	if !a.Granted.At.Equal(b.Granted.At) {
		by = string(HoldOperator) // a grant lifted them
	}
	c.add(TypeAccessRestored, strings.Join(keys, ","), c.now, func(e *OutboxEvent) {
		e.Access = &EventAccess{By: by}
	})
}

func (c *changes) attention() {
	a := c.after
	if a.state != StateNeedsAttention || c.before.state == StateNeedsAttention {
		return
	}
	reason := cut(cleanLine(a.Reason), MaxEventReason)
	if reason == "" {
		reason = "the order needs attention"
	}
	c.add(TypeNeedsAttention, strconv.Itoa(a.Attentions), a.AttentionAt, func(e *OutboxEvent) {
		e.Attention = &EventAttention{Reason: reason}
	})
}

// lastMail decodes the order's last queued mail: what was bought and
// paid, and who to.
func (o *Order) lastMail() (MailJob, bool) {
	if len(o.Mail) == 0 {
		return MailJob{}, false
	}
	var m MailJob
	if json.Unmarshal(o.Mail, &m) != nil {
		return MailJob{}, false
	}
	return m, true
}

// receipt is the last queued mail's receipt, the zero Receipt when none.
func (o *Order) receipt() Receipt {
	if m, ok := o.lastMail(); ok && m.Receipt != nil {
		return *m.Receipt
	}
	return Receipt{}
}
