package sendlink_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/mail"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/pace"
	"github.com/filedrop/filedrop/internal/sendlink"
)

// sentMails records the mails a Sender was given.
type sentMails struct {
	mu    sync.Mutex
	mails []mail.Message
}

func (s *sentMails) sender(err error) sendlink.SenderFunc {
	return func(_ context.Context, m mail.Message) (mail.Receipt, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.mails = append(s.mails, m)
		if err != nil {
			return mail.Receipt{}, err
		}
		// Accepted, as SMTP, the outbox and an ACS operation still running
		// report it: the stage records the mail as sent all the same.
		return mail.Receipt{OperationID: m.Key, Status: mail.Accepted}, nil
	}
}

func (s *sentMails) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.mails)
}

const session = "cs_test_a1B2c3"

var now = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

// budget is the one today's host.json (functionTimeout 5 minutes) gives.
var budget = delivery.BudgetFor(5 * time.Minute)

func message() order.MailJob {
	return order.MailJob{
		Version:    order.MailJobVersion,
		Kind:       order.MailDownloadLinks,
		SessionID:  session,
		EventID:    "evt_1",
		Generation: 1,
		Customer:   order.Customer{Email: "ada@customer.example", Name: "Ada"},
		Items: []order.Item{{
			Title:     "Harbour",
			FileName:  "harbour.jpg",
			URL:       "https://acct.blob.core.windows.net/originals/harbour.jpg?sig=SECRETSIG&sp=r",
			ExpiresAt: now.Add(30 * 24 * time.Hour),
		}},
	}
}

// linksReady is the record ProcessOrder leaves behind the queued mail.
func linksReady() order.Order {
	return order.Restore(order.Snapshot{
		SessionID:      session,
		State:          order.StateLinksReady,
		CustomerEmail:  "ada@customer.example",
		MailKind:       order.MailDownloadLinks,
		MailGeneration: 1,
		LastError:      "an earlier failure",
		Attempts:       2,
		ThrottledUntil: now.Add(-time.Minute),
	})
}

// newStage builds the stage from d, with the test's renderer and budget
// unless d names its own.
func newStage(t *testing.T, d sendlink.Deps) *sendlink.Stage {
	t.Helper()
	if d.Renderer == nil {
		d.Renderer = renderer(t)
	}
	if d.Budget == (delivery.Budget{}) {
		d.Budget = budget
	}
	st, err := sendlink.New(d)
	require.NoError(t, err)
	return st
}

func renderer(t *testing.T) *mail.Renderer {
	t.Helper()
	r, err := mail.NewRenderer(mail.Settings{Shop: "Lumen", From: "shop@lumen.example", Bcc: []string{"copies@lumen.example"}})
	require.NoError(t, err)
	return r
}

func attempt(log *slog.Logger, invocation string) delivery.Attempt {
	return delivery.Attempt{InvocationID: invocation, DequeueCount: 1, Log: log}
}

func TestHandle(t *testing.T) {
	tests := []struct {
		name    string
		record  func(o *order.Order) // nil: no record at all
		msg     func(m *order.MailJob)
		sendErr error
		recs    func(r *ordertest.Ledger)

		wantErr      string // "" for nil
		wantClass    order.Class
		wantThrottle time.Duration
		wantSends    int
		check        func(t *testing.T, o order.Order)
	}{
		{
			name:      "ok: sent and recorded",
			record:    func(*order.Order) {},
			wantSends: 1,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, order.StateMailSent, o.State())
				require.Equal(t, 1, o.SentGeneration())
				require.Equal(t, message().Key(), o.OperationID)
				require.Equal(t, now, o.MailSentAt)
				require.Empty(t, o.LastError)
				require.Zero(t, o.Attempts)
				require.True(t, o.ThrottledUntil.IsZero())
				require.Empty(t, o.LeaseOwner, "the lease is released")
				require.True(t, o.Final())
			},
		},
		{
			name: "ok: the payment-failed notice keeps its state",
			record: func(o *order.Order) {
				*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State, s.MailKind = order.StatePaymentFailed, order.MailPaymentFailed })
			},
			msg:       func(m *order.MailJob) { m.Kind, m.Items = order.MailPaymentFailed, nil },
			wantSends: 1,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, order.StatePaymentFailed, o.State())
				require.Equal(t, 1, o.SentGeneration())
				require.True(t, o.Final())
			},
		},
		{
			name:      "ok: a record without a mail kind gets the one sent, so redeliveries are recognised",
			record:    func(o *order.Order) { o.MailKind = "" },
			wantSends: 1,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, order.MailDownloadLinks, o.MailKind)
				require.Equal(t, 1, o.SentGeneration())
			},
		},
		{
			// ProcessOrder queued the mail and died before recording it; its
			// redelivery will find mail_sent and skip, so the send records
			// the mail as queued, for orders show and resend.
			name: "ok: a mail whose queueing was never recorded is recorded with the send",
			record: func(o *order.Order) {
				*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State, s.MailKind, s.MailGeneration = order.StateReceived, "", 0 })
				o.Lease("crashed-processorder", now.Add(-3*time.Minute), 2*time.Minute)
			},
			wantSends: 1,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, order.StateMailSent, o.State())
				require.Equal(t, 1, o.MailGeneration(), "the generation sent is recorded as queued")
				require.Equal(t, 1, o.SentGeneration())
				m, err := order.DecodeMailJob(o.Mail)
				require.NoError(t, err, "the mail is kept for resend")
				require.Equal(t, message(), m)
				require.True(t, o.Final())
			},
		},
		{
			name:      "ok: a recorded mail is left as ProcessOrder queued it",
			record:    func(o *order.Order) { o.Mail = []byte(`{"as":"queued"}`) },
			wantSends: 1,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, 1, o.MailGeneration())
				require.JSONEq(t, `{"as":"queued"}`, string(o.Mail))
			},
		},
		{
			name: "duplicate: already sent",
			record: func(o *order.Order) {
				*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State, s.SentGeneration, s.OperationID = order.StateMailSent, 1, "op-1" })
			},
			wantSends: 0,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, "op-1", o.OperationID)
				require.Equal(t, "1", o.ETag, "nothing was written")
			},
		},
		{
			name:      "superseded: a newer generation is queued",
			record:    func(o *order.Order) { *o = ordertest.Edit(*o, func(s *order.Snapshot) { s.MailGeneration = 2 }) },
			wantSends: 0,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, "1", o.ETag, "nothing was written")
			},
		},
		{
			name:         "lease held by another invocation: throttled, looking again within MaxBusyWait",
			record:       func(o *order.Order) { o.Lease("other", now, 90*time.Second) },
			wantErr:      order.ErrBusy.Error(),
			wantClass:    order.ClassThrottled,
			wantThrottle: order.MaxBusyWait,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, "other", o.LeaseOwner)
				require.Equal(t, "1", o.ETag)
			},
		},
		{
			name: "ProcessOrder still recording the mail it queued: look again in a second",
			record: func(o *order.Order) {
				*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State, s.MailGeneration = order.StateReceived, 0 })
				o.Lease("message:process-order-1", now, 2*time.Minute)
			},
			wantErr:      order.ErrBusy.Error(),
			wantClass:    order.ClassThrottled,
			wantThrottle: time.Second,
		},
		{
			name:         "a lease about to end still waits a second",
			record:       func(o *order.Order) { o.Lease("other", now.Add(-LeaseAlmostOver), budget.Lease) },
			wantErr:      order.ErrBusy.Error(),
			wantClass:    order.ClassThrottled,
			wantThrottle: time.Second,
		},
		{
			name:      "an expired lease is taken over",
			record:    func(o *order.Order) { o.Lease("crashed", now.Add(-3*time.Minute), budget.Lease) },
			wantSends: 1,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, order.StateMailSent, o.State())
				require.Empty(t, o.LeaseOwner)
			},
		},
		{
			name:         "throttled transport: ThrottledUntil recorded, throttled error",
			record:       func(*order.Order) {},
			sendErr:      order.Throttled(errors.New("acs: send: 429 Too Many Requests"), 30*time.Second),
			wantErr:      "send mail: acs: send: 429 Too Many Requests",
			wantClass:    order.ClassThrottled,
			wantThrottle: 30 * time.Second,
			wantSends:    1,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, now.Add(30*time.Second), o.ThrottledUntil)
				require.Contains(t, o.LastError, "429")
				require.Equal(t, 2, o.Attempts, "throttling is not a failed attempt")
				require.Equal(t, order.StateLinksReady, o.State())
				require.Empty(t, o.LeaseOwner)
				require.Zero(t, o.SentGeneration())
			},
		},
		{
			name:      "permanent transport error: needs attention",
			record:    func(*order.Order) {},
			sendErr:   order.Permanent(errors.New("acs: send: 400 Bad Request: InvalidEmailAddress")),
			wantErr:   "InvalidEmailAddress",
			wantClass: order.ClassPermanent,
			wantSends: 1,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, order.StateNeedsAttention, o.State())
				require.Contains(t, o.Reason, "InvalidEmailAddress")
				require.Equal(t, now, o.AttentionAt)
				require.Empty(t, o.LeaseOwner)
				require.Zero(t, o.SentGeneration())
			},
		},
		{
			name:      "retryable transport error: LastError and Attempts",
			record:    func(*order.Order) {},
			sendErr:   errors.New("connection reset by peer"),
			wantErr:   "send mail: connection reset by peer",
			wantClass: order.ClassRetryable,
			wantSends: 1,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, "send mail: connection reset by peer", o.LastError)
				require.Equal(t, 3, o.Attempts)
				require.Equal(t, order.StateLinksReady, o.State())
				require.Empty(t, o.LeaseOwner)
			},
		},
		{
			name:   "recording fails after the send: retryable",
			record: func(*order.Order) {},
			recs: func(r *ordertest.Ledger) {
				r.BeforeWrite = func(n int, _ order.Order) error {
					if n == 2 { // 1 is the claim
						return errors.New("table service unavailable")
					}
					return nil
				}
			},
			wantErr:   "record sent mail",
			wantClass: order.ClassRetryable,
			wantSends: 1,
			check: func(t *testing.T, o order.Order) {
				require.Zero(t, o.SentGeneration())
				require.Equal(t, "invocation:inv-1", o.LeaseOwner, "the lease runs out by itself")
			},
		},
		{
			name:      "no record: permanent",
			wantErr:   "has no record",
			wantClass: order.ClassPermanent,
		},
		{
			name:   "the ledger cannot be read: retryable",
			record: func(*order.Order) {},
			recs: func(r *ordertest.Ledger) {
				r.BeforeGet = func(int) error { return errors.New("timeout") }
			},
			wantErr:   "read order: timeout",
			wantClass: order.ClassRetryable,
		},
		{
			name:      "a customer address that does not parse: needs attention",
			record:    func(*order.Order) {},
			msg:       func(m *order.MailJob) { m.Customer.Email = "not an address" },
			wantErr:   "customer",
			wantClass: order.ClassPermanent,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, order.StateNeedsAttention, o.State())
				require.Contains(t, o.Reason, "not an address")
			},
		},
		{
			name:      "an invalid message: permanent",
			record:    func(*order.Order) {},
			msg:       func(m *order.MailJob) { m.Generation = 0 },
			wantErr:   "generation 0",
			wantClass: order.ClassPermanent,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var recs *ordertest.Ledger
			if tt.record != nil {
				o := linksReady()
				tt.record(&o)
				recs = ordertest.NewLedger(o)
			} else {
				recs = ordertest.NewLedger()
			}
			if tt.recs != nil {
				tt.recs(recs)
			}
			msg := message()
			if tt.msg != nil {
				tt.msg(&msg)
			}
			var sent sentMails
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			stage := newStage(t, sendlink.Deps{Sender: sent.sender(tt.sendErr), Records: recs, Now: func() time.Time { return now }, Log: log})

			err := stage.Handle(context.Background(), attempt(log, "inv-1"), msg)

			if tt.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tt.wantErr)
				require.Equal(t, tt.wantClass, order.Classify(err), "class of %v", err)
				d, _ := order.RetryAfter(err)
				require.Equal(t, tt.wantThrottle, d)
			}
			require.Equal(t, tt.wantSends, sent.count())
			for _, m := range sent.mails {
				require.Equal(t, msg.Key(), m.Key, "the deterministic key")
				require.Equal(t, []mail.Address{{Name: "Ada", Email: "ada@customer.example"}}, m.To)
			}
			if tt.check != nil {
				tt.check(t, recs.Record(t, session))
			}
			require.NotContains(t, logs.String(), "SECRETSIG", "links are never logged in full")
		})
	}
}

// LeaseAlmostOver puts a lease's end 100ms after now.
var LeaseAlmostOver = budget.Lease - 100*time.Millisecond

// TestHandleRedeliveryAfterUnrecordedSend: the send succeeded but was not
// recorded; the redelivery, once the lease has run out, sends under the same
// key and records it, and a third delivery sends nothing.
func TestHandleRedeliveryAfterUnrecordedSend(t *testing.T) {
	recs := ordertest.NewLedger(linksReady())
	failOnce := true
	recs.BeforeWrite = func(n int, o order.Order) error {
		if o.SentGeneration() > 0 && failOnce {
			failOnce = false
			return errors.New("table service unavailable")
		}
		return nil
	}
	var sent sentMails
	clock := now
	log := slog.New(slog.DiscardHandler)
	stage := newStage(t, sendlink.Deps{Sender: sent.sender(nil), Records: recs, Now: func() time.Time { return clock }, Log: log})
	msg := message()

	err := stage.Handle(context.Background(), attempt(log, "inv-1"), msg)
	require.Equal(t, order.ClassRetryable, order.Classify(err), "%v", err)

	err = stage.Handle(context.Background(), attempt(log, "inv-2"), msg)
	require.ErrorIs(t, err, order.ErrBusy, "the first invocation's lease still holds")

	clock = now.Add(budget.Lease + time.Second)
	require.NoError(t, stage.Handle(context.Background(), attempt(log, "inv-3"), msg))
	require.NoError(t, stage.Handle(context.Background(), attempt(log, "inv-4"), msg))

	require.Equal(t, 2, sent.count())
	require.Equal(t, sent.mails[0].Key, sent.mails[1].Key, "the resend carries the same key")
	o := recs.Record(t, session)
	require.Equal(t, order.StateMailSent, o.State())
	require.Equal(t, 1, o.SentGeneration())
}

// TestHandleConcurrent runs two deliveries of the same message at once:
// both are past their first read before either claims, and the first send
// does not finish until the other delivery has returned (or, were the
// claim broken, sent too). Exactly one mail is sent; the other delivery is
// told the mail is busy.
func TestHandleConcurrent(t *testing.T) {
	for i := range 10 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			recs := ordertest.NewLedger(linksReady())
			var arrived sync.WaitGroup
			arrived.Add(2)
			bothRead := make(chan struct{})
			go func() { arrived.Wait(); close(bothRead) }()
			recs.BeforeGet = func(n int) error {
				if n <= 2 { // the two first reads meet before either goes on
					arrived.Done()
					select {
					case <-bothRead:
					case <-time.After(5 * time.Second):
						return errors.New("the other delivery never came")
					}
				}
				return nil
			}

			var sent sentMails
			returned := make(chan struct{}, 2)
			secondSend := make(chan struct{})
			var sends sync.Mutex
			n := 0
			send := func(ctx context.Context, m mail.Message) (mail.Receipt, error) {
				sends.Lock()
				n++
				first := n == 1
				if n == 2 {
					close(secondSend)
				}
				sends.Unlock()
				if first {
					select { // hold the lease until the other delivery is done
					case <-returned:
					case <-secondSend:
					case <-time.After(5 * time.Second):
					}
				}
				return sent.sender(nil)(ctx, m)
			}
			log := slog.New(slog.DiscardHandler)
			stage := newStage(t, sendlink.Deps{Sender: sendlink.SenderFunc(send), Records: recs, Now: func() time.Time { return now }, Log: log})

			errs := make([]error, 2)
			var wg sync.WaitGroup
			for j := range 2 {
				wg.Go(func() {
					errs[j] = stage.Handle(context.Background(), attempt(log, "inv-"+strconv.Itoa(j)), message())
					returned <- struct{}{}
				})
			}
			wg.Wait()

			require.Equal(t, 1, sent.count(), "exactly one mail")
			var ok, busy int
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case errors.Is(err, order.ErrBusy) && order.Classify(err) == order.ClassThrottled:
					busy++
				default:
					t.Fatalf("unexpected error: %v", err)
				}
			}
			require.Equal(t, 1, ok)
			require.Equal(t, 1, busy)
			o := recs.Record(t, session)
			require.Equal(t, 1, o.SentGeneration())
			require.Empty(t, o.LeaseOwner)
		})
	}
}

// TestHandleLogs checks that every line carries the delivery's context.
func TestHandleLogs(t *testing.T) {
	recs := ordertest.NewLedger(linksReady())
	var sent sentMails
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	stage := newStage(t, sendlink.Deps{Sender: sent.sender(nil), Records: recs, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)})
	msg := message()
	require.NoError(t, stage.Handle(context.Background(), attempt(log.With("invocation_id", "inv-1"), "inv-1"), msg))
	require.NoError(t, stage.Handle(context.Background(), attempt(log.With("invocation_id", "inv-2"), "inv-2"), msg))

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 2)
	require.Contains(t, lines[0], "mail sent")
	require.Contains(t, lines[0], "https://acct.blob.core.windows.net/originals/harbour.jpg?REDACTED")
	require.Contains(t, lines[1], "already sent")
	for _, line := range lines {
		for _, want := range []string{"invocation_id=inv-", "session_id=" + session, "event_id=evt_1", "mail_key=" + msg.Key()} {
			require.Contains(t, line, want)
		}
		require.NotContains(t, line, "SECRETSIG")
	}
}

// TestHandleRedeliveryOfTheSameMessageTakesItsLeaseOver: the handler died
// holding the lease; the host redelivers the same queue message, which takes
// the lease over at once, while a different message for the order waits.
func TestHandleRedeliveryOfTheSameMessageTakesItsLeaseOver(t *testing.T) {
	held := linksReady()
	held.Lease("message:m-1", now, budget.Lease)
	recs := ordertest.NewLedger(held)
	var sent sentMails
	log := slog.New(slog.DiscardHandler)
	stage := newStage(t, sendlink.Deps{Sender: sent.sender(nil), Records: recs, Now: func() time.Time { return now }, Log: log})
	msg := message()
	deliveryOf := func(messageID string) delivery.Attempt {
		return delivery.Attempt{InvocationID: "inv-" + messageID, MessageID: messageID, DequeueCount: 2, Log: log}
	}

	err := stage.Handle(context.Background(), deliveryOf("m-2"), msg)
	require.ErrorIs(t, err, order.ErrBusy, "another message waits for the lease")
	require.Zero(t, sent.count())

	require.NoError(t, stage.Handle(context.Background(), deliveryOf("m-1"), msg))
	require.Equal(t, 1, sent.count())
}

// deadlineRecords fails every call whose context has ended, as the Table
// ledger does.
type deadlineRecords struct{ *ordertest.Ledger }

func (r deadlineRecords) Get(ctx context.Context, id string) (order.Order, error) {
	if err := ctx.Err(); err != nil {
		return order.Order{}, err
	}
	return r.Ledger.Get(ctx, id)
}

func (r deadlineRecords) Update(ctx context.Context, o order.Order) (order.Order, error) {
	if err := ctx.Err(); err != nil {
		return order.Order{}, err
	}
	return r.Ledger.Update(ctx, o)
}

// TestHandleRecordsAFailureAfterTheDeadline: the send outlives the
// invocation's deadline; the failure is recorded all the same and the lease
// released, so the redelivery need not wait it out.
func TestHandleRecordsAFailureAfterTheDeadline(t *testing.T) {
	for _, tt := range []struct {
		name      string
		sendErr   func(ctx context.Context) error
		wantClass order.Class
		check     func(t *testing.T, o order.Order)
	}{
		{
			name:      "retryable: cut short by the deadline",
			sendErr:   func(ctx context.Context) error { return context.Cause(ctx) },
			wantClass: order.ClassRetryable,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, 3, o.Attempts)
				require.Contains(t, o.LastError, "deadline exceeded")
			},
		},
		{
			name:      "permanent: rejected as the deadline passed",
			sendErr:   func(context.Context) error { return order.Permanentf("acs: 400 InvalidEmailAddress") },
			wantClass: order.ClassPermanent,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, order.StateNeedsAttention, o.State())
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			led := ordertest.NewLedger(linksReady())
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			send := func(sendCtx context.Context, _ mail.Message) (mail.Receipt, error) {
				cancel(context.DeadlineExceeded) // the invocation's time is up
				<-sendCtx.Done()
				return mail.Receipt{}, fmt.Errorf("send: %w", tt.sendErr(sendCtx))
			}
			log := slog.New(slog.DiscardHandler)
			stage := newStage(t, sendlink.Deps{Sender: sendlink.SenderFunc(send), Records: deadlineRecords{led}, Now: func() time.Time { return now }, Log: log})

			err := stage.Handle(ctx, delivery.Attempt{InvocationID: "inv-1", MessageID: "m-1", Log: log}, message())

			require.Error(t, err)
			require.Equal(t, tt.wantClass, order.Classify(err), "%v", err)
			o := led.Record(t, session)
			require.Empty(t, o.LeaseOwner, "the lease is released")
			tt.check(t, o)
		})
	}
}

// TestRefusedCredentialHoldsTheOrder: the mail service refuses the
// credential (401), then accepts it. The order is held with a growing delay,
// never needs_attention, and the mail is sent once the setting is fixed.
func TestRefusedCredentialHoldsTheOrder(t *testing.T) {
	recs := ordertest.NewLedger(linksReady())
	refusals := 2
	var sent sentMails
	send := func(ctx context.Context, m mail.Message) (mail.Receipt, error) {
		if refusals > 0 {
			refusals--
			return mail.Receipt{}, order.Misconfigured(errors.New("acs: send: ACS_CONNECTION_STRING refused: 401 Unauthorized: Denied"), "ACS_CONNECTION_STRING")
		}
		return sent.sender(nil)(ctx, m)
	}
	log := slog.New(slog.DiscardHandler)
	stage := newStage(t, sendlink.Deps{Sender: sendlink.SenderFunc(send), Records: recs, Now: func() time.Time { return now }, Log: log})

	var last time.Duration
	for hold := 1; hold <= 2; hold++ {
		err := stage.Handle(context.Background(), attempt(log, "inv-"+strconv.Itoa(hold)), message())
		require.Equal(t, order.ClassMisconfigured, order.Classify(err), "%v", err)
		delay, ok := order.RetryAfter(err)
		require.True(t, ok, "%v", err)
		require.Greater(t, delay, last, "the delay grows")
		last = delay
		o := recs.Record(t, session)
		require.Equal(t, order.StateLinksReady, o.State(), "held, not needs_attention")
		require.Equal(t, hold, o.Holds)
		require.Equal(t, now.Add(delay), o.HeldUntil)
		require.Contains(t, o.LastError, "ACS_CONNECTION_STRING refused")
		require.Equal(t, 2, o.Attempts, "a hold is not a failed attempt")
		require.Empty(t, o.LeaseOwner)
	}

	require.NoError(t, stage.Handle(context.Background(), attempt(log, "inv-3"), message()))
	o := recs.Record(t, session)
	require.Equal(t, order.StateMailSent, o.State())
	require.False(t, o.Held())
	require.True(t, o.HeldUntil.IsZero())
	require.Equal(t, 1, sent.count())
}

// TestPacedSends: with a pacer, a mail whose slot has not come is
// re-scheduled for it with no ledger call and no send; once its time comes
// it is sent; a send the service throttles waits for the slot the pacer
// gives it, at least the service's Retry-After.
func TestPacedSends(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	clock := now
	first, second := message(), message()
	second.SessionID, second.Customer.Email = "cs_test_second", "bo@customer.example"
	rec2 := linksReady()
	rec2.SessionID, rec2.CustomerEmail = second.SessionID, second.Customer.Email
	recs := ordertest.NewLedger(linksReady(), rec2)
	var sent sentMails
	stage := newStage(t, sendlink.Deps{Sender: sent.sender(nil), Records: recs, Now: func() time.Time { return clock }, Log: log, Pacer: pace.New(pace.Limits{PerMinute: 30})}) // a slot every 2 s
	ctx := context.Background()

	require.NoError(t, stage.Handle(ctx, attempt(log, "inv-1"), first))
	before := recs.Record(t, second.SessionID)
	err := stage.Handle(ctx, attempt(log, "inv-2"), second)
	require.Equal(t, order.ClassThrottled, order.Classify(err), "%v", err)
	wait, _ := order.RetryAfter(err)
	require.Equal(t, 2*time.Second, wait)
	require.Equal(t, before, recs.Record(t, second.SessionID), "a paced mail claims nothing")
	require.Equal(t, 1, sent.count(), "nor sends")

	clock = clock.Add(wait)
	require.NoError(t, stage.Handle(ctx, attempt(log, "inv-3"), second), "its slot has come")
	require.Equal(t, 2, sent.count())

	// The service refuses a third mail and asks for 5 s: the message comes
	// back no earlier, and at a slot of its own.
	third := message()
	third.SessionID, third.Customer.Email = "cs_test_third", "cy@customer.example"
	rec3 := linksReady()
	rec3.SessionID, rec3.CustomerEmail = third.SessionID, third.Customer.Email
	recs.Put(rec3)
	clock = clock.Add(10 * time.Second)
	throttling := newStage(t, sendlink.Deps{Sender: sendlink.SenderFunc(func(context.Context, mail.Message) (mail.Receipt, error) {
		return mail.Receipt{}, order.Throttled(errors.New("acs answered 429"), 5*time.Second)
	}), Records: recs, Now: func() time.Time { return clock }, Log: log, Pacer: pace.New(pace.Limits{PerMinute: 30})})
	err = throttling.Handle(ctx, attempt(log, "inv-4"), third)
	require.Equal(t, order.ClassThrottled, order.Classify(err), "%v", err)
	wait, _ = order.RetryAfter(err)
	require.GreaterOrEqual(t, wait, 5*time.Second)
	require.Equal(t, clock.Add(wait), recs.Record(t, third.SessionID).ThrottledUntil, "the record says when it is tried again")
}

// TestPacingLetsACrashedSendGoOn: the redelivery of a message whose
// invocation died mid-send holds the order's lease; it sends at once
// instead of being paced into a copy that would wait out its own lease.
func TestPacingLetsACrashedSendGoOn(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	rec := linksReady()
	rec.Lease("message:m-1", now.Add(-10*time.Second), budget.Lease) // the crashed invocation's claim
	recs := ordertest.NewLedger(rec)
	var sent sentMails
	p := pace.New(pace.Limits{PerMinute: 30})
	require.Zero(t, p.Reserve("another mail", now)) // the next slot is 2 s away
	stage := newStage(t, sendlink.Deps{Sender: sent.sender(nil), Records: recs, Now: func() time.Time { return now }, Log: log, Pacer: p})
	d := delivery.Attempt{InvocationID: "inv-2", MessageID: "m-1", DequeueCount: 2, Log: log}
	require.NoError(t, stage.Handle(context.Background(), d, message()))
	require.Equal(t, 1, sent.count(), "sent at once, not paced")
	require.Equal(t, order.StateMailSent, recs.Record(t, session).State())
}

// TestNewNamesWhatIsMissing: a stage built without a dependency it needs is
// refused when it is built, naming it; the optional ones may be left out.
func TestNewNamesWhatIsMissing(t *testing.T) {
	full := sendlink.Deps{Sender: sendlink.SenderFunc(func(context.Context, mail.Message) (mail.Receipt, error) { return mail.Receipt{}, nil }),
		Records: ordertest.NewLedger(), Renderer: renderer(t), Budget: budget, Index: ordertest.NewLedger(), Log: slog.New(slog.DiscardHandler)}
	optional := full
	optional.Pacer, optional.OrderPage, optional.Index, optional.Now = nil, nil, nil, nil
	for _, d := range []sendlink.Deps{full, optional} {
		_, err := sendlink.New(d)
		require.NoError(t, err)
	}
	for want, edit := range map[string]func(d *sendlink.Deps){
		"sendlink: no Sender":                func(d *sendlink.Deps) { d.Sender = nil },
		"sendlink: no Records":               func(d *sendlink.Deps) { d.Records = nil },
		"sendlink: no Renderer":              func(d *sendlink.Deps) { d.Renderer = nil },
		"sendlink: no Log":                   func(d *sendlink.Deps) { d.Log = nil },
		"sendlink: inconsistent time budget": func(d *sendlink.Deps) { d.Budget = delivery.Budget{} },
	} {
		d := full
		edit(&d)
		_, err := sendlink.New(d)
		require.ErrorContains(t, err, want)
	}
}
