package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/filedrop/filedrop/internal/order"
)

// minLinkLife is how long the links of a resent mail must still work: a
// mail whose links die within the hour is no help to the customer.
const minLinkLife = time.Hour

// resent is what resend queued, as it prints it.
type resent struct {
	SessionID string `json:"session_id"`
	// Queue is the queue the message went to.
	Queue string `json:"queue"`
	// Mail is the mail queued again (without --new-links).
	Mail *mailView `json:"mail,omitempty"`
	// EventID is the id of the order message queued with --new-links.
	EventID string `json:"event_id,omitempty"`
}

// runResend sends an order's mail again.
func runResend(ctx context.Context, env Env, args []string) (err error) {
	fs := flags(env, "resend", "resend <session> [--new-links] [--local] [--json]\n\nSends the order's last mail again as a new mail generation, so that it is not\ndeduplicated away, and records it in the ledger. With --new-links, queues the\norder for ProcessOrder instead, which mints fresh links and mails them (needed\nonce the links have expired). Exits 4 when the ledger has no such order.")
	newLinks := fs.Bool("new-links", false, "mint fresh download links (through ProcessOrder) instead of resending the last mail")
	local, asJSON := operatorFlags(fs)
	rest, done, err := parseArgs(fs, args)
	if done {
		return err
	}
	id, err := sessionArg("resend", rest)
	if err != nil {
		return err
	}
	p, err := openPipeline(env, *local)
	if err != nil {
		return err
	}
	defer p.explain(&err)
	rec, err := getOrder(ctx, p, id)
	if err != nil {
		return err
	}
	var r resent
	if *newLinks {
		r, err = p.resendNewLinks(ctx, rec, time.Now())
	} else {
		r, err = p.resendMail(ctx, rec, time.Now())
	}
	if err != nil {
		return err
	}
	return printer{env.Stdout, *asJSON}.print(r, func(w io.Writer) { printResent(w, r) })
}

func printResent(w io.Writer, r resent) {
	if m := r.Mail; m != nil {
		fmt.Fprintf(w, "queued %s mail generation %d for %s to %s on %s (mail key %s)\n", m.Kind, m.Generation, r.SessionID, m.To, r.Queue, m.Key)
		return
	}
	fmt.Fprintf(w, "queued %s on %s with new links (event %s): ProcessOrder mints fresh links and mails them as a new generation\n",
		r.SessionID, r.Queue, r.EventID)
}

// errNoMail stops a resend of an order without a mail to resend.
var errNoMail = errors.New("no mail to resend")

// resendMail records a new generation of the order's last mail, then queues
// it for SendLink. Its key differs from every earlier generation's, so
// SendLink sends it once; an earlier generation still queued is superseded.
func (p *pipeline) resendMail(ctx context.Context, rec order.Order, now time.Time) (resent, error) {
	var data []byte
	var msg order.MailMessage
	_, err := order.MutateFrom(ctx, p.ledger, rec, now, func(o *order.Order) error {
		m, err := resendable(*o, now)
		if err != nil {
			return err
		}
		m.Generation = max(o.MailGeneration, o.SentGeneration) + 1
		if data, err = json.Marshal(m); err != nil {
			return err
		}
		msg = m
		o.MailKind, o.MailGeneration, o.Mail = m.Kind, m.Generation, data
		if m.Kind == order.MailDownloadLinks {
			o.State = order.StateLinksReady
		} else {
			o.State = order.StatePaymentFailed
		}
		o.Reason, o.LastError, o.Attempts = "", "", 0
		return nil
	})
	if err != nil {
		return resent{}, err
	}
	if err := p.mails.Send(ctx, data, 0); err != nil {
		return resent{}, fmt.Errorf("the ledger records mail generation %d of %s but queueing it failed (run resend again): %w",
			msg.Generation, rec.SessionID, err)
	}
	v := mailViewFrom(msg)
	return resent{SessionID: rec.SessionID, Queue: p.mails.Name, Mail: &v}, nil
}

// resendable returns the order's last queued mail, or why it cannot be sent
// again.
func resendable(o order.Order, now time.Time) (order.MailMessage, error) {
	if o.ETag == "" {
		return order.MailMessage{}, fmt.Errorf("order %s: %w", o.SessionID, order.ErrNotFound)
	}
	if len(o.Mail) == 0 {
		return order.MailMessage{}, fmt.Errorf("order %s (%s) has %w: none was ever queued; resend --new-links has ProcessOrder try again",
			o.SessionID, o.State, errNoMail)
	}
	m, err := order.DecodeMailMessage(o.Mail)
	if err != nil {
		return m, fmt.Errorf("order %s: the last mail does not decode (resend --new-links makes a new one): %w", o.SessionID, err)
	}
	for _, it := range m.Items {
		if it.ExpiresAt.Before(now.Add(minLinkLife)) {
			return m, fmt.Errorf("order %s: the link to %s expires %s: use resend --new-links to mint fresh links",
				o.SessionID, it.FileName, stamp(it.ExpiresAt))
		}
	}
	return m, nil
}

// resendNewLinks queues the order for ProcessOrder, which mints fresh links,
// records them in the ledger and mails them as a new generation.
func (p *pipeline) resendNewLinks(ctx context.Context, rec order.Order, now time.Time) (resent, error) {
	switch rec.State {
	case order.StatePaymentFailed:
		return resent{}, fmt.Errorf("order %s: the payment failed, so there are no links to mint; resend without --new-links sends the notice again", rec.SessionID)
	case order.StateAwaitingPayment:
		return resent{}, fmt.Errorf("order %s awaits its payment; once Stripe shows it paid, handler reconcile queues it", rec.SessionID)
	}
	msg := order.OrderMessage{Version: order.OrderMessageVersion, EventID: "evt_resend_" + randomID(), EventType: order.EventCompleted,
		SessionID: rec.SessionID, Livemode: rec.Livemode, Created: now.Unix(), Trigger: order.TriggerOperator, NewLinks: true}
	if err := p.sendOrder(ctx, msg); err != nil {
		return resent{}, err
	}
	return resent{SessionID: rec.SessionID, Queue: p.orders.Name, EventID: msg.EventID}, nil
}

// sendOrder queues msg for ProcessOrder.
func (p *pipeline) sendOrder(ctx context.Context, msg order.OrderMessage) error {
	if err := msg.Validate(); err != nil {
		return fmt.Errorf("order message for %s: %w", msg.SessionID, err)
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	return p.orders.Send(ctx, data, 0)
}

// randomID is 24 random hex digits, for the event ids the operator's
// commands make up.
func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
