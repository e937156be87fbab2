package order

import (
	"encoding/json"
	"time"
)

// State is where an order stands. The values are stored in the ledger and
// printed by the CLI: a stable contract.
type State string

const (
	// StateReceived: the record is claimed and ProcessOrder is working on it.
	StateReceived State = "received"
	// StateAwaitingPayment: the session completed unpaid (a delayed payment
	// method); checkout.session.async_payment_succeeded will fulfil it.
	StateAwaitingPayment State = "awaiting_payment"
	// StateLinksReady: links were minted and the download mail is queued.
	StateLinksReady State = "links_ready"
	// StateMailSent: the download mail of generation SentGeneration was sent.
	StateMailSent State = "mail_sent"
	// StatePaymentFailed: the payment failed; the notice is queued, or sent
	// when SentGeneration >= MailGeneration.
	StatePaymentFailed State = "payment_failed"
	// StateNeedsAttention: a permanent failure that an operator must repair;
	// Reason says what.
	StateNeedsAttention State = "needs_attention"
)

// States lists every state, in pipeline order.
var States = []State{StateReceived, StateAwaitingPayment, StateLinksReady, StateMailSent, StatePaymentFailed, StateNeedsAttention}

// Receive marks an order that ProcessOrder claims for the first time as
// received; an order that has a state keeps it.
func (o *Order) Receive() {
	if o.state == "" {
		o.state = StateReceived
	}
}

// MailQueued records that the mail of generation gen (data, the MailJob's
// JSON) was queued by the message of eventID: a generation newer than the
// order knew was minted by that message (MailEventID, see
// NewLinksGeneration); an older one changes nothing.
func (o *Order) MailQueued(gen int, eventID string, data []byte) {
	if gen > o.mailGeneration {
		o.MailEventID = eventID
	}
	if gen >= o.mailGeneration {
		o.mailGeneration, o.Mail = gen, data
	}
}

// LinksReady records that the download mail of generation gen, with its
// links, was queued at now: the order is links_ready, or stays mail_sent
// when SendLink already sent gen (a state never goes back). The payment is
// recorded at the first fulfilment (PaidAt).
func (o *Order) LinksReady(gen int, now time.Time) {
	if o.sentGeneration < gen {
		o.state = StateLinksReady
	} else {
		o.state = StateMailSent
	}
	if o.PaidAt.IsZero() {
		o.PaidAt = now
	}
	o.LinksReadyAt = now
}

// PaymentFailed records that the payment failed at now and the notice is
// queued.
func (o *Order) PaymentFailed(now time.Time) {
	o.state, o.PaymentFailedAt = StatePaymentFailed, now
}

// AwaitingPayment records that the session completed unpaid: the order
// waits for its asynchronous payment, with its last failure and hold
// cleared. An order that got further (links ready, mail sent, payment
// failed) is left as it is.
func (o *Order) AwaitingPayment() {
	switch o.state {
	case StateLinksReady, StateMailSent, StatePaymentFailed:
		return
	}
	o.state = StateAwaitingPayment
	o.Reason, o.LastError, o.Attempts = "", "", 0
	o.Unhold()
}

// MailSent records that msg was sent (or accepted by the transport) under
// operationID at now: its generation is sent; a download mail moves the
// order to mail_sent, and either kind ends the attention a spent retry
// budget asked for (Resume). A generation the order does not know as
// queued is recorded as queued too: ProcessOrder queued it and died before
// recording it, and this is the last chance to keep the mail for a resend.
func (o *Order) MailSent(msg MailJob, operationID string, now time.Time) {
	if o.MailKind == "" {
		o.MailKind = msg.Kind
	}
	if msg.Generation > o.mailGeneration {
		queued, _ := json.Marshal(msg) // a validated message always encodes
		o.mailGeneration, o.Mail = msg.Generation, queued
	}
	o.sentGeneration = max(o.sentGeneration, msg.Generation)
	o.OperationID, o.MailSentAt = operationID, now
	if msg.Kind == MailDownloadLinks {
		o.Resume(StateMailSent)
		o.state = StateMailSent
	} else {
		o.Resume(StatePaymentFailed)
	}
}

// NeedAttention moves the order to StateNeedsAttention with the reason: a
// permanent problem that a person repairs. Entering the state counts one
// more Attentions since now (AttentionAt), which names its needs_attention
// event; a step repeated on an order already there (a redriven or
// reconciled message) changes the reason, not the event.
func (o *Order) NeedAttention(reason string, now time.Time) {
	if o.state != StateNeedsAttention {
		o.AttentionAt = now
		o.Attentions++
	}
	o.state, o.Reason = StateNeedsAttention, reason
	o.RetryAt, o.BudgetSpent = time.Time{}, false
	o.Release()
}

// GiveUp moves the order to StateNeedsAttention with the reason because the
// retry budget of a transient failure is spent. Unlike NeedAttention, the
// order waits for no person: the next message for it is worked on (see
// BudgetSpent), with a fresh budget.
func (o *Order) GiveUp(reason string, now time.Time) {
	o.NeedAttention(reason, now)
	o.BudgetSpent = true
}

// Resume ends the attention a spent retry budget asked for (GiveUp) once a
// step succeeded after all: the order is in state, without the reason.
// Attention for any other cause stays.
func (o *Order) Resume(state State) {
	if o.state == StateNeedsAttention && o.BudgetSpent {
		o.state, o.Reason = state, ""
	}
	o.BudgetSpent = false
}

// Final reports whether the order rests: nothing more will happen without a
// new event or an operator.
func (o *Order) Final() bool {
	switch o.state {
	case StateMailSent, StateAwaitingPayment, StateNeedsAttention:
		return true
	case StatePaymentFailed:
		return o.sentGeneration >= o.mailGeneration && o.mailGeneration > 0
	}
	return false
}
