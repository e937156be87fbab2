// Package sendlink is the SendLink stage: it mails the customer the download
// links (or the payment-failed notice) that ProcessOrder queued, or the list
// of a customer's orders that the "Lost your link?" page queued, and records
// the send in the order's ledger record.
//
// Input: an order.MailJob from the send-link queue. Output: one mail through
// the Sender, and the order's record updated (order.Order.MailSent: the
// generation sent, the operation id, mail_sent for the download links), with
// the mail in its list of mails: sending from the claim, then accepted or
// sent as the transport answered. An order_links mail (the customer's
// orders, listed for the "Lost your link?" page) is recorded on the newest
// order it lists and changes nothing of it but that list.
//
// A message whose generation was sent already, or that a newer generation
// superseded, is acknowledged with no side effect. Otherwise Handle takes
// the record's lease with a conditional write, so of two deliveries racing
// only one sends; the other gets order.ErrBusy, throttled until the lease
// ends.
//
// Retried: a throttled send is recorded (ThrottledUntil) and returned as
// order.Throttled, so the host glue re-schedules the message with the
// provider's delay (or the Pacer's slot); a refused credential
// (order.Misconfigured) holds the order (Holds, HeldUntil) and is
// re-scheduled with a growing delay until the setting is fixed; a transient
// fault of the transport (order.Transient) is recorded with the route's
// back-off and re-scheduled until the retry budget is spent; a permanent
// failure (bad address, a rejected mail) marks the order needs_attention
// and its mail failed, and returns the order.Permanent error, which the glue
// acknowledges; anything
// else is recorded (LastError, Attempts) and returned retryable, for the
// host to redeliver and, after its last attempt, to move to the poison
// queue. A missing record is permanent.
//
// A redelivery is harmless: the mail is sent under msg.Key(), the same
// deterministic key on every delivery, so ACS deduplicates the Operation-Id,
// the outbox overwrites the same file and SMTP repeats the same Message-ID;
// and once the send is recorded, a redelivery sends nothing at all.
package sendlink

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/mail"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/pace"
	"github.com/filedrop/filedrop/internal/storage/ledger"
)

// Sender carries a rendered mail: ACS (acs.Client), SMTP (smtpmail.Sender)
// or the local outbox (outbox.Outbox). It sends m under m.Key, the mail's
// idempotency key, and returns the provider's operation id and whether the
// mail was sent or only accepted. Its errors are classified:
// order.Permanent, order.Throttled or retryable.
type Sender interface {
	Send(ctx context.Context, m mail.Message) (mail.Receipt, error)
}

// SenderFunc adapts a function to a Sender.
type SenderFunc func(ctx context.Context, m mail.Message) (mail.Receipt, error)

// Send calls f(ctx, m).
func (f SenderFunc) Send(ctx context.Context, m mail.Message) (mail.Receipt, error) { return f(ctx, m) }

// errDone stops a claim: the mail was sent or superseded meanwhile.
var errDone = errors.New("mail already handled")

// Pacer spaces sends to the mail service's quota (pace.Pacer).
type Pacer interface {
	Reserve(key string, now time.Time) time.Duration
	Refused(key string, now time.Time, after time.Duration) time.Duration
	Accepted(key string, now time.Time)
}

var _ Pacer = (*pace.Pacer)(nil)

// Deps are what the stage uses. Sender, Records, Renderer, a valid Budget
// and Log are required; the others have the zero value's behaviour their
// comments give.
type Deps struct {
	Sender   Sender
	Records  order.Records
	Renderer *mail.Renderer
	// Budget is the invocation's (see delivery.Budget.Validate): a claim
	// holds the order for Budget.Lease, longer than an invocation, and one
	// send is bounded by Budget.Step, so that it ends while the lease holds
	// (a send cut short is retryable, and its redelivery carries the same
	// key).
	Budget delivery.Budget
	// Pacer, when set, spaces the sends: a message whose slot has not come
	// is re-scheduled for it before it claims the order or sends (one
	// ledger read), and a throttled send waits for a slot the Pacer gives
	// it rather than only for the service's Retry-After, so that a burst of
	// mails meets the quota with about one send request per mail. Nil: no
	// pacing.
	Pacer Pacer
	// OrderPage, when set, gives the order page's link for a session,
	// signed at the time the mail is sent: every mail that links to an
	// order page carries it in place of the one queued, so that a mail sent
	// after a rotation of ORDER_LINK_SECRET (a resend, a retried send)
	// carries no link signed with a retired or leaked secret. Nil: the
	// queued link.
	OrderPage func(sessionID string) string
	// Index, when set, records before the stage first sends a mail the
	// mail's operation id against its session (a delivery report names
	// only the operation id, and may come before the send is recorded),
	// and, for a download mail, the order under the address it goes to
	// (the order is fulfilled by it); a service's own id of the send is
	// indexed too when it is not the key. Nil: nothing is indexed, and
	// delivery reports and the "Lost your link?" page find nothing.
	Index Index
	// Now is the stage's clock; nil: time.Now.
	Now func() time.Time
	// Log is used for a delivery without a logger of its own.
	Log *slog.Logger
}

// Index keeps what delivery reports and the "Lost your link?" page find
// mails and orders by (storage/ledger.Ledger).
type Index interface {
	IndexMail(ctx context.Context, operationID, sessionID string) error
	IndexOrder(ctx context.Context, email, sessionID string, at time.Time) error
}

var _ Index = (*ledger.Ledger)(nil)

// Stage sends the mails of the SendLink queue.
type Stage struct {
	send      Sender
	recs      order.Records
	render    *mail.Renderer
	budget    delivery.Budget
	pacer     Pacer
	orderPage func(sessionID string) string
	index     Index
	now       func() time.Time
	log       *slog.Logger
}

// New returns the stage, or an error naming the first thing d lacks.
func New(d Deps) (*Stage, error) {
	switch {
	case d.Sender == nil:
		return nil, errors.New("sendlink: no Sender")
	case d.Records == nil:
		return nil, errors.New("sendlink: no Records")
	case d.Renderer == nil:
		return nil, errors.New("sendlink: no Renderer")
	case d.Log == nil:
		return nil, errors.New("sendlink: no Log")
	}
	if err := d.Budget.Validate(0); err != nil {
		return nil, fmt.Errorf("sendlink: %w", err)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Stage{send: d.Sender, recs: d.Records, render: d.Renderer, budget: d.Budget, pacer: d.Pacer, orderPage: d.OrderPage,
		index: d.Index, now: d.Now, log: d.Log}, nil
}

// Handle sends the mail msg describes, delivered as d, at most once per
// mail; see the package documentation.
func (s *Stage) Handle(ctx context.Context, d delivery.Attempt, msg order.MailJob) error {
	key := msg.Key()
	log := cmp.Or(d.Log, s.log).With("session_id", msg.SessionID, "event_id", msg.EventID, "mail_key", key)
	owner := d.Owner()
	if owner == "" {
		owner = "sendlink-" + uuid.NewString()
	}
	if err := msg.Validate(); err != nil {
		return order.Permanent(fmt.Errorf("invalid mail message: %w", err))
	}
	if msg.OrderURL != "" && s.orderPage != nil {
		msg.OrderURL = s.orderPage(msg.SessionID)
	}
	for i := range msg.Orders {
		if s.orderPage != nil {
			msg.Orders[i].URL = s.orderPage(msg.Orders[i].SessionID)
		}
	}

	now := s.now()
	rec, err := s.recs.Get(ctx, msg.SessionID)
	switch {
	case errors.Is(err, order.ErrNotFound):
		return order.Permanent(fmt.Errorf("order %s has no record: %w", msg.SessionID, err))
	case err != nil:
		return fmt.Errorf("read order: %w", err)
	}
	if why := handled(&rec, msg); why != "" {
		log.Info("mail not sent: "+why, "kind", msg.Kind, "generation", msg.Generation, "sent_generation", rec.SentGeneration())
		return nil
	}
	if rec.Leased(owner, now) {
		return rec.Busy(now, maxBusyWait(&rec))
	}
	// Paced after the record is read: a delivery that already holds the
	// order's lease (its invocation died mid-send) goes on at once, as the
	// crash's send took its slot; a paced copy would be another message,
	// waiting out the lease.
	if s.pacer != nil && (rec.LeaseOwner != owner || !now.Before(rec.LeaseUntil)) {
		if wait := s.pacer.Reserve(key, now); wait > 0 {
			log.Debug("mail paced to the quota", "wait", wait.String())
			return order.Throttled(fmt.Errorf("%w: the next send slot is in %s", errPaced, wait.Round(time.Second)), wait)
		}
	}

	if err := s.indexMail(ctx, rec, msg, now); err != nil {
		return fmt.Errorf("index mail %s: %w", key, err)
	}
	held, err := s.claim(ctx, rec, msg, owner, now)
	switch {
	case errors.Is(err, errDone):
		log.Info("mail not sent: handled meanwhile", "kind", msg.Kind, "generation", msg.Generation)
		return nil
	case err != nil:
		return fmt.Errorf("claim order: %w", err)
	}

	m, err := s.render.Render(msg, now)
	if err != nil {
		return s.failed(ctx, d, held, msg, owner, order.Permanent(err))
	}
	sendCtx, cancel := context.WithTimeout(ctx, s.budget.Step)
	receipt, err := s.send.Send(sendCtx, m)
	cancel()
	if err != nil {
		return s.failed(ctx, d, held, msg, owner, s.paced(key, fmt.Errorf("send mail: %w", err)))
	}
	if s.pacer != nil {
		s.pacer.Accepted(key, s.now())
	}
	s.indexServiceID(ctx, log, msg, receipt.OperationID)
	// Accepted or sent, the mail is the transport's now: it is recorded as
	// sent either way, and the mail's own record says which.
	if err := s.sent(ctx, held, msg, owner, receipt); err != nil {
		// Retryable: the redelivery sends again under the same key, which
		// the transports make harmless, and records it then.
		return fmt.Errorf("record sent mail %s: %w", key, err)
	}
	links := make([]string, len(msg.Items))
	for i, it := range msg.Items {
		links[i] = it.Redacted()
	}
	log.Info("mail sent", "kind", msg.Kind, "generation", msg.Generation, "operation_id", receipt.OperationID,
		"send_status", receipt.Status, "links", links)
	return nil
}

// claim takes the lease of rec, the record as just read, for owner, and
// returns the record holding it. The conditional write lets one of two racing
// invocations win; the loser re-reads the record and gets order.ErrBusy, or errDone
// when the winner has recorded the send already.
func (s *Stage) claim(ctx context.Context, rec order.Order, msg order.MailJob, owner string, now time.Time) (order.Order, error) {
	return order.MutateFrom(ctx, s.recs, rec, now, func(o *order.Order) error {
		switch {
		case o.ETag == "":
			return order.Permanent(fmt.Errorf("order %s has no record: %w", msg.SessionID, order.ErrNotFound))
		case handled(o, msg) != "":
			return errDone
		}
		if err := o.Claim(owner, now, s.budget.Lease, maxBusyWait(o)); err != nil {
			return err
		}
		o.StartMail(msg, now)
		return nil
	})
}

// indexServiceID indexes id, the transport's id of the send of msg, when
// it is not msg's key (a service that chose its own): its delivery reports
// may name it. The mail is sent whatever this write does; a report it
// misses is acknowledged as unknown, so a failure is only logged.
func (s *Stage) indexServiceID(ctx context.Context, log *slog.Logger, msg order.MailJob, id string) {
	if s.index == nil || id == "" || strings.EqualFold(id, msg.Key()) || !order.ValidOperationID(id) {
		return
	}
	if err := s.index.IndexMail(ctx, id, msg.SessionID); err != nil {
		log.Warn("the service's id of the mail is not indexed: its delivery reports will not be recorded", "operation_id", id, "err", err)
	}
}

// indexMail records, once per mail (before its claim lists it on rec), the
// mail's operation id and, for a download mail, the order under its
// address; see Deps.Index.
func (s *Stage) indexMail(ctx context.Context, rec order.Order, msg order.MailJob, now time.Time) error {
	key := msg.Key()
	if _, listed := rec.MailOf(key); s.index == nil || listed {
		return nil
	}
	if err := s.index.IndexMail(ctx, key, msg.SessionID); err != nil {
		return err
	}
	if msg.Kind != order.MailDownloadLinks {
		return nil
	}
	return s.index.IndexOrder(ctx, msg.Customer.Email, msg.SessionID, rec.IndexDate(now))
}

// sent records the sent mail on held, the record owner's claim wrote, and
// releases owner's lease: on the mail's own record, accepted or sent as
// the transport answered (order.Order.RecordSend), and, but for an
// order_links mail, on the order (order.Order.MailSent, which also keeps a
// generation the record does not know as queued).
func (s *Stage) sent(ctx context.Context, held order.Order, msg order.MailJob, owner string, receipt mail.Receipt) error {
	now := s.now()
	status := order.StatusAccepted
	if receipt.Status == mail.Sent {
		status = order.StatusSent
	}
	_, err := order.MutateFrom(ctx, s.recs, held, now, func(o *order.Order) error {
		o.RecordSend(msg, status, receipt.OperationID, now)
		if msg.Kind == order.MailOrderLinks {
			// It lists the customer's orders; this one's state is not its.
			if o.LeaseOwner == owner {
				o.Release()
			}
			return nil
		}
		o.MailSent(msg, receipt.OperationID, now)
		o.LastError, o.Attempts, o.ThrottledUntil = "", 0, time.Time{}
		o.Unhold()
		if o.LeaseOwner == owner {
			o.Release()
		}
		return nil
	})
	return err
}

// handled says why msg needs no send ("" if it does): its generation was
// sent, or a newer generation superseded it.
func handled(o *order.Order, msg order.MailJob) string {
	if msg.Kind == order.MailOrderLinks {
		if o.MailDone(msg.Key()) {
			return "already sent"
		}
		return ""
	}
	switch {
	case o.MailKind == msg.Kind && o.SentGeneration() >= msg.Generation:
		return "already sent"
	case msg.Generation < o.MailGeneration():
		return "superseded by a newer generation"
	}
	return ""
}

// maxBusyWait is how long a message waits at most for the lease of o's
// holder: order.MaxBusyWait, but a second while the order is still received,
// because then the holder is ProcessOrder, which queued this very mail and
// records it next.
func maxBusyWait(o *order.Order) time.Duration {
	if o.State() == order.StateReceived {
		return time.Second
	}
	return order.MaxBusyWait
}

// errPaced reports a send held back until its slot under the mail
// service's quota.
var errPaced = errors.New("mail paced to the service's quota")

// paced returns err, a failed send's error, with the delay the pacer gives
// a throttled send in place of the service's own.
func (s *Stage) paced(key string, err error) error {
	after, throttled := order.RetryAfter(err)
	if s.pacer == nil || !throttled || order.Classify(err) != order.ClassThrottled {
		return err
	}
	return order.Throttled(err, s.pacer.Refused(key, s.now(), after))
}

// failed records the failure of a send that owner held the lease for (on
// held, the claimed record; a transient one with d's retry plan), unless
// the mail was handled meanwhile, and returns the error the route acts on.
// A permanent failure marks the mail failed too. An order_links mail's
// failure is not the order's: it only releases the lease (and marks the
// mail failed when permanent), and the route retries or poisons it.
func (s *Stage) failed(ctx context.Context, d delivery.Attempt, held order.Order, msg order.MailJob, owner string, cause error) error {
	permanent := order.Classify(cause) == order.ClassPermanent
	if msg.Kind == order.MailOrderLinks {
		return s.mailFailed(ctx, held, msg, owner, cause, permanent)
	}
	recorded, err := order.RecordFailure(ctx, s.recs, held, d.Retrying(), owner, cause, s.now(), func(o *order.Order) bool { return handled(o, msg) != "" })
	if recorded && permanent {
		// The order needs attention with the cause as its reason whether
		// or not this write lands; the mail would show sending without it.
		_ = s.mailFailed(ctx, held, msg, "", cause, true)
	}
	return err
}

// mailFailed marks msg's mail failed when permanent, and releases owner's
// lease (none for ""), on held or a fresher record; it returns cause, or a
// retryable error when the write fails.
func (s *Stage) mailFailed(ctx context.Context, held order.Order, msg order.MailJob, owner string, cause error, permanent bool) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), order.RecordTimeout)
	defer cancel()
	_, err := order.MutateFrom(ctx, s.recs, held, s.now(), func(o *order.Order) error {
		changed := permanent && o.FailMail(msg.Key(), cause.Error())
		if owner != "" && o.LeaseOwner == owner {
			o.Release()
			changed = true
		}
		if !changed {
			return order.ErrUnchanged
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%v; recording it failed: %w", cause, err)
	}
	return cause
}
