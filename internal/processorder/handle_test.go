package processorder_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/processorder"
	"github.com/filedrop/filedrop/internal/storage"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

type harness struct {
	stage    *processorder.Stage
	deps     processorder.Deps
	sessions *fakeSessions
	orig     *fakeOriginals
	queue    *fakeQueue
	recs     *ordertest.Ledger
	logs     *bytes.Buffer
}

func newHarness(recs *ordertest.Ledger, livemode bool, session func() (stripeapi.Session, error)) *harness {
	h := &harness{
		sessions: &fakeSessions{SessionFunc: func(context.Context, string) (stripeapi.Session, error) { return session() }},
		orig:     &fakeOriginals{},
		queue:    &fakeQueue{},
		recs:     recs,
		logs:     &bytes.Buffer{},
	}
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.deps = processorder.Deps{Sessions: h.sessions, Originals: h.orig, Mail: h.queue, Records: recs, Livemode: livemode,
		Budget: delivery.BudgetFor(5 * time.Minute), Now: func() time.Time { return t0 }, Log: log}
	h.rebuild(func(*processorder.Deps) {})
	return h
}

// rebuild makes the harness's stage again with edit applied to its Deps.
func (h *harness) rebuild(edit func(d *processorder.Deps)) {
	edit(&h.deps)
	st, err := processorder.New(h.deps)
	if err != nil {
		panic(err)
	}
	h.stage = st
}

// handle runs the stage as the host glue does: with an Attempt whose logger
// carries the function and invocation id.
func (h *harness) handle(msg order.ProcessJob) error {
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})).
		With("function", "ProcessOrder", "invocation_id", "inv-1")
	return h.stage.Handle(context.Background(), delivery.Attempt{InvocationID: "inv-1", MessageID: "msg-1", DequeueCount: 1, Log: log}, msg)
}

func (h *harness) mails(t *testing.T) []order.MailJob {
	t.Helper()
	var out []order.MailJob
	for _, data := range h.queue.sent {
		m, err := order.DecodeMailJob(data)
		require.NoError(t, err, "SendLink must be able to decode what is queued")
		out = append(out, m)
	}
	return out
}

func TestHandle(t *testing.T) {
	paid := func() (stripeapi.Session, error) { return paidSession(), nil }
	with := func(edit func(*stripeapi.Session)) func() (stripeapi.Session, error) {
		return func() (stripeapi.Session, error) { s := paidSession(); edit(&s); return s, nil }
	}
	unpaid := with(func(s *stripeapi.Session) { s.PaymentStatus = stripeapi.PaymentUnpaid })
	failing := func(err error) func() (stripeapi.Session, error) {
		return func() (stripeapi.Session, error) { return stripeapi.Session{}, err }
	}
	rec := func(edit func(*order.Order)) *order.Order {
		o := order.Order{SessionID: sessionID, CreatedAt: t0.Add(-time.Hour), EventIDs: []string{"evt_0"}}
		edit(&o)
		return &o
	}
	completed := message(order.EventCompleted)
	succeeded := message(order.EventAsyncPaymentSucceeded)
	failed := message(order.EventAsyncPaymentFailed)
	withMsg := func(m order.ProcessJob, edit func(*order.ProcessJob)) order.ProcessJob { edit(&m); return m }

	tests := []struct {
		name     string
		existing *order.Order
		msg      order.ProcessJob
		session  func() (stripeapi.Session, error)
		exists   func(string) (bool, error)
		send     func(recs *ordertest.Ledger) error
		livemode bool

		class        string // ok, retryable, permanent, throttled
		throttle     time.Duration
		errContains  string
		state        order.State
		sent         int
		kind         string
		generation   int
		sessionCalls int
		check        func(t *testing.T, h *harness, rec order.Order)
	}{
		{name: "paid: one link per product", msg: completed, session: paid,
			class: "ok", state: order.StateLinksReady, sent: 1, kind: order.MailDownloadLinks, generation: 1, sessionCalls: 1,
			check: func(t *testing.T, h *harness, rec order.Order) {
				m := h.mails(t)[0]
				require.Equal(t, order.Customer{Email: "jane@example.com", Name: "Jane"}, m.Customer)
				require.Equal(t, "fr", m.Locale)
				require.Equal(t, "evt_1", m.EventID)
				require.Equal(t, []order.Item{
					{Title: "Sunset, large", FileName: "sunset.jpg", URL: "https://files.example.com/originals/landscapes/sunset.jpg?sig=SECRET", ExpiresAt: linkExpiry},
					{Title: "Fern", FileName: "prod_Fern.jpg", URL: "https://files.example.com/originals/prod_Fern.jpg?sig=SECRET", ExpiresAt: linkExpiry},
				}, m.Items)
				require.Equal(t, 2, rec.Items)
				require.Equal(t, "jane@example.com", rec.CustomerEmail)
				require.JSONEq(t, string(h.queue.sent[0]), string(rec.Mail))
				require.Equal(t, t0, rec.PaidAt)
				require.Equal(t, t0, rec.LinksReadyAt)
				require.Equal(t, []string{"evt_1"}, rec.EventIDs)
				require.Contains(t, h.logs.String(), "download links queued")
			}},
		{name: "no payment required fulfils", msg: completed,
			session: with(func(s *stripeapi.Session) { s.PaymentStatus = stripeapi.PaymentNotRequired }),
			class:   "ok", state: order.StateLinksReady, sent: 1, kind: order.MailDownloadLinks, generation: 1, sessionCalls: 1},
		{name: "title falls back to the file name", msg: completed,
			session: with(func(s *stripeapi.Session) {
				s.Items = []stripeapi.LineItem{{ID: "li_1", ProductID: "prod_X", Quantity: 1, Original: "a/b/Zürich.jpg"}}
			}),
			class: "ok", state: order.StateLinksReady, sent: 1, kind: order.MailDownloadLinks, generation: 1, sessionCalls: 1,
			check: func(t *testing.T, h *harness, _ order.Order) {
				require.Equal(t, "Zürich.jpg", h.mails(t)[0].Items[0].Title)
				require.Equal(t, "Zürich.jpg", h.mails(t)[0].Items[0].FileName)
			}},
		{name: "duplicate after links ready", existing: rec(func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State, s.MailGeneration = order.StateLinksReady, 1 })
		}),
			msg: withMsg(completed, func(m *order.ProcessJob) { m.EventID = "evt_2" }), session: paid,
			class: "ok", state: order.StateLinksReady,
			check: func(t *testing.T, h *harness, rec order.Order) {
				require.Equal(t, []string{"evt_0", "evt_2"}, rec.EventIDs, "the event is still recorded")
				require.Contains(t, h.logs.String(), "duplicate")
			}},
		{name: "reconcile re-queues the same generation of a links_ready order", existing: rec(func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State, s.MailGeneration = order.StateLinksReady, 1 })
		}),
			msg: withMsg(completed, func(m *order.ProcessJob) { m.EventID, m.Trigger = "evt_reconcile_1", order.TriggerReconcile }), session: paid,
			class: "ok", state: order.StateLinksReady, sent: 1, kind: order.MailDownloadLinks, generation: 1, sessionCalls: 1},
		{name: "reconcile leaves a sent mail alone", existing: rec(func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State, s.MailGeneration, s.SentGeneration = order.StateMailSent, 1, 1 })
		}),
			msg: withMsg(completed, func(m *order.ProcessJob) { m.EventID, m.Trigger = "evt_reconcile_1", order.TriggerReconcile }), session: paid,
			class: "ok", state: order.StateMailSent},
		{name: "duplicate after mail sent", existing: rec(func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State, s.MailGeneration, s.SentGeneration = order.StateMailSent, 1, 1 })
		}),
			msg: succeeded, session: paid, class: "ok", state: order.StateMailSent},
		{name: "the redelivery of a message whose handler died takes its lease over at once", existing: rec(func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) {
				s.State, s.LeaseOwner, s.LeaseUntil = order.StateReceived, "message:msg-1", t0.Add(90*time.Second)
			})
		}), msg: completed, session: paid,
			class: "ok", state: order.StateLinksReady, sent: 1, kind: order.MailDownloadLinks, generation: 1, sessionCalls: 1},
		{name: "lease held by another invocation", existing: rec(func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) {
				s.State, s.LeaseOwner, s.LeaseUntil = order.StateReceived, "inv-other", t0.Add(90*time.Second)
			})
		}), msg: completed, session: paid,
			class: "throttled", throttle: 5 * time.Second, errContains: "another invocation is working on the order", state: order.StateReceived,
			check: func(t *testing.T, _ *harness, rec order.Order) {
				require.Equal(t, "inv-other", rec.LeaseOwner, "the other lease is untouched")
				require.Equal(t, []string{"evt_0"}, rec.EventIDs, "nothing was written")
			}},
		{name: "lease about to expire", existing: rec(func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) {
				s.State, s.LeaseOwner, s.LeaseUntil = order.StateReceived, "inv-other", t0.Add(200*time.Millisecond)
			})
		}), msg: completed, session: paid, class: "throttled", throttle: time.Second, state: order.StateReceived},
		{name: "expired lease is taken over", existing: rec(func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) {
				s.State, s.LeaseOwner, s.LeaseUntil = order.StateReceived, "inv-crashed", t0.Add(-time.Second)
			})
		}), msg: completed, session: paid,
			class: "ok", state: order.StateLinksReady, sent: 1, kind: order.MailDownloadLinks, generation: 1, sessionCalls: 1},
		{name: "stripe unreachable is retryable", msg: completed, session: failing(errors.New("get checkout session: connection refused")),
			class: "retryable", errContains: "connection refused", state: order.StateReceived, sessionCalls: 1,
			check: func(t *testing.T, _ *harness, rec order.Order) {
				require.Equal(t, 1, rec.Attempts)
				require.Contains(t, rec.LastError, "connection refused")
			}},
		{name: "stripe throttled", msg: completed, session: failing(order.Throttled(errors.New("stripe answered 429"), 7*time.Second)),
			class: "throttled", throttle: 7 * time.Second, state: order.StateReceived, sessionCalls: 1,
			check: func(t *testing.T, _ *harness, rec order.Order) {
				require.Equal(t, t0.Add(7*time.Second), rec.ThrottledUntil)
				require.Contains(t, rec.LastError, "429")
				require.Zero(t, rec.Attempts, "throttling is not failure")
			}},
		{name: "missing session is permanent", msg: completed,
			session: failing(order.Permanent(fmt.Errorf("get checkout session %s: %w: stripe answered 404", sessionID, order.ErrNotFound))),
			class:   "permanent", errContains: "stripe answered 404", state: order.StateNeedsAttention, sessionCalls: 1,
			check: func(t *testing.T, _ *harness, rec order.Order) {
				require.Contains(t, rec.Reason, "stripe answered 404")
				require.Equal(t, t0, rec.AttentionAt)
			}},
		{name: "missing original", msg: completed, session: paid,
			exists: func(name string) (bool, error) { return name != "landscapes/sunset.jpg", nil },
			class:  "permanent", state: order.StateNeedsAttention, sessionCalls: 1,
			errContains: `original "landscapes/sunset.jpg" for product prod_Sunset ("Sunset") is not in container originals: upload it, then run handler resend ` + sessionID},
		{name: "invalid original name", msg: completed,
			session: with(func(s *stripeapi.Session) { s.Items[0].Original = "../../secrets/key.pem" }),
			exists:  func(string) (bool, error) { panic("an invalid name must not reach storage") },
			class:   "permanent", state: order.StateNeedsAttention, sessionCalls: 1,
			errContains: `original "../../secrets/key.pem" for product prod_Sunset ("Sunset"): invalid blob name`},
		{name: "storage fault checking an original", msg: completed, session: paid,
			exists: func(string) (bool, error) { return false, errors.New("storage answered 500 InternalError") },
			class:  "retryable", errContains: "500 InternalError", state: order.StateReceived, sessionCalls: 1},
		{name: "line item without product", msg: completed,
			session: with(func(s *stripeapi.Session) { s.Items[1].ProductID = "" }),
			class:   "permanent", errContains: "line item li_2 of session " + sessionID + " has no product", state: order.StateNeedsAttention, sessionCalls: 1},
		{name: "no customer email", msg: completed, session: with(func(s *stripeapi.Session) { s.CustomerEmail = "" }),
			class: "permanent", errContains: "has no customer email", state: order.StateNeedsAttention, sessionCalls: 1},
		{name: "live session with a test key", msg: completed, session: with(func(s *stripeapi.Session) { s.Livemode = true }),
			class: "permanent", errContains: "is a live-mode session but STRIPE_API_KEY is a test-mode key", state: order.StateNeedsAttention, sessionCalls: 1},
		{name: "test session with a live key", msg: completed, session: paid, livemode: true,
			class: "permanent", errContains: "is a test-mode session but STRIPE_API_KEY is a live-mode key", state: order.StateNeedsAttention, sessionCalls: 1},
		{name: "queueing the mail fails", msg: completed, session: paid, send: func(*ordertest.Ledger) error { return errors.New("send to send-link: 500") },
			class: "retryable", errContains: "queue download_links mail", state: order.StateReceived, sessionCalls: 1,
			check: func(t *testing.T, _ *harness, rec order.Order) {
				require.Equal(t, 1, rec.Attempts)
				require.Zero(t, rec.MailGeneration(), "nothing was queued")
			}},
		{name: "cart too big for one message", msg: completed,
			session: with(func(s *stripeapi.Session) {
				s.Items = nil
				for i := range 200 {
					s.Items = append(s.Items, stripeapi.LineItem{ID: fmt.Sprint("li_", i), ProductID: fmt.Sprint("prod_", i), Description: strings.Repeat("x", 300), Quantity: 1})
				}
			}),
			class: "permanent", errContains: "the cart is too big for one mail", state: order.StateNeedsAttention, sessionCalls: 1},
		{name: "unpaid after completed awaits payment", msg: completed, session: unpaid,
			class: "ok", state: order.StateAwaitingPayment, sessionCalls: 1,
			check: func(t *testing.T, _ *harness, rec order.Order) {
				require.Equal(t, "jane@example.com", rec.CustomerEmail)
			}},
		{name: "awaiting payment, completed again", existing: rec(func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State = order.StateAwaitingPayment })
		}),
			msg: completed, session: unpaid, class: "ok", state: order.StateAwaitingPayment},
		{name: "awaiting payment, async payment succeeded", existing: rec(func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State = order.StateAwaitingPayment })
		}),
			msg: succeeded, session: paid,
			class: "ok", state: order.StateLinksReady, sent: 1, kind: order.MailDownloadLinks, generation: 1, sessionCalls: 1},
		{name: "async payment failed", existing: rec(func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State = order.StateAwaitingPayment })
		}),
			msg: failed, session: unpaid,
			class: "ok", state: order.StatePaymentFailed, sent: 1, kind: order.MailPaymentFailed, generation: 1, sessionCalls: 1,
			check: func(t *testing.T, h *harness, rec order.Order) {
				m := h.mails(t)[0]
				require.Empty(t, m.Items)
				require.Equal(t, "jane@example.com", m.Customer.Email)
				require.Equal(t, order.MailPaymentFailed, rec.MailKind)
				require.Equal(t, t0, rec.PaymentFailedAt)
				require.JSONEq(t, string(h.queue.sent[0]), string(rec.Mail))
			}},
		{name: "async payment failed, redelivered", existing: rec(func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State, s.MailGeneration = order.StatePaymentFailed, 1 })
		}),
			msg: failed, session: unpaid, class: "ok", state: order.StatePaymentFailed},
		{name: "needs attention, Stripe retries the webhook", existing: rec(func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State, s.Reason = order.StateNeedsAttention, "original missing" })
		}),
			msg: completed, session: paid, class: "ok", state: order.StateNeedsAttention},
		{name: "needs attention, reconcile after the repair", existing: rec(func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State, s.Reason = order.StateNeedsAttention, "original missing" })
		}),
			msg: withMsg(completed, func(m *order.ProcessJob) { m.Trigger = order.TriggerReconcile }), session: paid,
			class: "ok", state: order.StateLinksReady, sent: 1, kind: order.MailDownloadLinks, generation: 1, sessionCalls: 1,
			check: func(t *testing.T, _ *harness, rec order.Order) { require.Empty(t, rec.Reason) }},
		{name: "new links after the mail was sent", existing: rec(func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) {
				s.State, s.MailKind, s.MailGeneration, s.SentGeneration, s.PaidAt = order.StateMailSent, order.MailDownloadLinks, 1, 1, t0.Add(-24*time.Hour)
			})
		}), msg: withMsg(completed, func(m *order.ProcessJob) { m.Trigger, m.NewLinks, m.EventID = order.TriggerOperator, true, "" }), session: paid,
			class: "ok", state: order.StateLinksReady, sent: 1, kind: order.MailDownloadLinks, generation: 2, sessionCalls: 1,
			check: func(t *testing.T, _ *harness, rec order.Order) {
				require.Equal(t, t0.Add(-24*time.Hour), rec.PaidAt, "paid once, long ago")
				require.Equal(t, 1, rec.SentGeneration())
			}},
		{name: "a fast SendLink already sent it", msg: completed, session: paid,
			send: func(recs *ordertest.Ledger) error {
				o, _ := recs.Lookup(sessionID) // SendLink sends and records before we do
				o = ordertest.Edit(o, func(s *order.Snapshot) { s.State, s.SentGeneration, s.MailSentAt = order.StateMailSent, 1, t0 })
				recs.Put(o)
				return nil
			},
			class: "ok", state: order.StateMailSent, sent: 1, kind: order.MailDownloadLinks, generation: 1, sessionCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := ordertest.NewLedger()
			if tt.existing != nil {
				recs.Put(*tt.existing)
			}
			h := newHarness(recs, tt.livemode, tt.session)
			if tt.exists != nil {
				h.orig.ExistsFunc = func(_ context.Context, name string) (bool, error) { return tt.exists(name) }
			}
			if tt.send != nil {
				h.queue.SendFunc = func(context.Context, []byte, time.Duration) error { return tt.send(recs) }
			}

			err := h.handle(tt.msg)

			switch tt.class {
			case "ok":
				require.NoError(t, err)
			case "retryable":
				require.Error(t, err)
				require.Equal(t, order.ClassRetryable, order.Classify(err), "%v", err)
			case "permanent":
				require.True(t, order.IsPermanent(err), "%v", err)
			case "throttled":
				after, ok := order.RetryAfter(err)
				require.True(t, ok, "%v", err)
				require.Equal(t, tt.throttle, after)
			default:
				t.Fatalf("class %q", tt.class)
			}
			if tt.errContains != "" {
				require.ErrorContains(t, err, tt.errContains)
			}
			if err != nil {
				require.ErrorContains(t, err, "order "+sessionID+": ", "errors name the session, for the glue's log line")
			}

			rec, _ := recs.Lookup(sessionID)
			require.Equal(t, tt.state, rec.State())
			require.Len(t, h.queue.sent, tt.sent)
			if tt.sent > 0 {
				m := h.mails(t)[tt.sent-1]
				require.Equal(t, tt.kind, m.Kind)
				require.Equal(t, tt.generation, m.Generation)
				require.Equal(t, tt.generation, rec.MailGeneration())
				require.Equal(t, tt.kind, rec.MailKind)
			}
			require.Equal(t, tt.sessionCalls, h.sessions.calls)
			if tt.class != "throttled" || tt.throttle != 5*time.Second {
				require.NotEqual(t, "message:msg-1", rec.LeaseOwner, "the lease is released")
			}
			if tt.state == order.StateNeedsAttention && tt.existing == nil {
				require.Contains(t, rec.Reason, tt.errContains)
			}
			require.NotContains(t, h.logs.String(), "SECRET", "links are never logged in full")
			if tt.check != nil {
				tt.check(t, h, rec)
			}
		})
	}
}

func TestOutOfOrderEventsFulfilOnce(t *testing.T) {
	recs := ordertest.NewLedger()
	h := newHarness(recs, false, func() (stripeapi.Session, error) { return paidSession(), nil })

	// async_payment_succeeded overtakes checkout.session.completed.
	succeeded := message(order.EventAsyncPaymentSucceeded)
	succeeded.EventID = "evt_succeeded"
	require.NoError(t, h.handle(succeeded))
	completed := message(order.EventCompleted)
	completed.EventID = "evt_completed"
	require.NoError(t, h.handle(completed))
	require.NoError(t, h.handle(completed)) // and Stripe retries it

	etag := recs.Record(t, sessionID).ETag
	require.NoError(t, h.handle(completed)) // and again: the event is known, nothing is written
	require.Equal(t, etag, recs.Record(t, sessionID).ETag)

	require.Len(t, h.queue.sent, 1, "one mail")
	require.Equal(t, 1, h.sessions.calls, "the duplicates do not even call Stripe")
	rec := recs.Record(t, sessionID)
	require.Equal(t, order.StateLinksReady, rec.State())
	require.Equal(t, []string{"evt_succeeded", "evt_completed"}, rec.EventIDs)
	require.Contains(t, h.logs.String(), "event_id=evt_completed")
	require.Contains(t, h.logs.String(), "session_id="+sessionID)
	require.Contains(t, h.logs.String(), "invocation_id=inv-1")
}

func TestRedeliveryAfterCrashQueuesTheSameGeneration(t *testing.T) {
	recs := ordertest.NewLedger()
	h := newHarness(recs, false, func() (stripeapi.Session, error) { return paidSession(), nil })
	require.NoError(t, h.handle(message(order.EventCompleted)))

	// As if the process had died between queueing the mail and recording
	// it: the record still says received, leased by a dead invocation.
	o := recs.Record(t, sessionID)
	o = ordertest.Edit(o, func(s *order.Snapshot) {
		s.State, s.MailGeneration, s.Mail, s.LeaseOwner, s.LeaseUntil = order.StateReceived, 0, nil, "inv-dead", t0.Add(-time.Second)
	})
	recs.Put(o)
	require.NoError(t, h.handle(message(order.EventCompleted)))

	mails := h.mails(t)
	require.Len(t, mails, 2)
	require.Equal(t, mails[0].Key(), mails[1].Key(), "the same generation: SendLink sends it once")
	require.Equal(t, order.StateLinksReady, recs.Record(t, sessionID).State())
}

// One operator "resend --new-links" message, delivered again (the host
// redelivers it after the handler died between recording and answering),
// queues its one new generation again at most: SendLink sends it once.
func TestNewLinksRedeliveryQueuesOneGeneration(t *testing.T) {
	sent := func(o *order.Order) {
		*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State, s.SentGeneration = order.StateMailSent, s.MailGeneration })
	} // as SendLink records it
	tests := []struct {
		name     string
		between  func(o *order.Order) // what happens to the record between the deliveries
		second   string               // the second delivery's event id
		wantGens []int                // the generations queued, in order
		state    order.State
	}{
		{name: "redelivered before SendLink ran", between: func(*order.Order) {}, second: "evt_resend_x",
			wantGens: []int{2, 2}, state: order.StateLinksReady},
		{name: "redelivered after SendLink sent it", between: sent, second: "evt_resend_x",
			wantGens: []int{2}, state: order.StateMailSent},
		{name: "redelivered after the lease was lost and SendLink sent it", between: func(o *order.Order) {
			sent(o)
			*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State = order.StateLinksReady }) // a slow first delivery recorded after SendLink
		}, second: "evt_resend_x", wantGens: []int{2, 2}, state: order.StateMailSent},
		{name: "a second resend request mints the next generation", between: sent, second: "evt_resend_y",
			wantGens: []int{2, 3}, state: order.StateLinksReady},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := ordertest.NewLedger()
			recs.Put(order.Restore(order.Snapshot{SessionID: sessionID, CreatedAt: t0.Add(-time.Hour), State: order.StateMailSent,
				MailKind: order.MailDownloadLinks, MailGeneration: 1, SentGeneration: 1, PaidAt: t0.Add(-24 * time.Hour)}))
			h := newHarness(recs, false, func() (stripeapi.Session, error) { return paidSession(), nil })
			msg := message(order.EventCompleted)
			msg.Trigger, msg.NewLinks, msg.EventID = order.TriggerOperator, true, "evt_resend_x"
			require.NoError(t, h.handle(msg))

			o := recs.Record(t, sessionID)
			tt.between(&o)
			recs.Put(o)
			msg.EventID = tt.second
			require.NoError(t, h.handle(msg))

			var gens []int
			for _, m := range h.mails(t) {
				gens = append(gens, m.Generation)
			}
			require.Equal(t, tt.wantGens, gens)
			rec := recs.Record(t, sessionID)
			require.Equal(t, tt.state, rec.State())
			require.Equal(t, tt.wantGens[len(tt.wantGens)-1], rec.MailGeneration())
		})
	}
}

func TestMaxMailBytesMatchesQueue(t *testing.T) {
	// encodeMail relies on storage.MaxMessageBytes; SendLink's queue is the
	// same storage.Queue, which refuses anything larger.
	require.Equal(t, 48*1024, storage.MaxMessageBytes)
}

func TestInvalidMessageIsPermanent(t *testing.T) {
	h := newHarness(ordertest.NewLedger(), false, func() (stripeapi.Session, error) { panic("not reached") })
	err := h.handle(order.ProcessJob{Version: 1, SessionID: "nope", EventType: order.EventCompleted})
	require.True(t, order.IsPermanent(err), "%v", err)
}

func TestMailJobIsJSON(t *testing.T) {
	h := newHarness(ordertest.NewLedger(), false, func() (stripeapi.Session, error) { return paidSession(), nil })
	require.NoError(t, h.handle(message(order.EventCompleted)))
	var raw map[string]any
	require.NoError(t, json.Unmarshal(h.queue.sent[0], &raw))
	for _, k := range []string{"v", "kind", "session_id", "event_id", "generation", "customer", "locale", "items"} {
		require.Contains(t, raw, k)
	}
}

// refusingRecords is the in-memory ledger whose Create fails with err.
type refusingRecords struct {
	*ordertest.Ledger
	err error
}

func (r refusingRecords) Create(context.Context, order.Order) (order.Order, error) {
	return order.Order{}, r.err
}

// TestRecordedIsLoggedOnlyWhenWritten: the glue's line for a permanent
// failure cannot know whether it was recorded, so the stage says so itself,
// and only when its write succeeded.
func TestRecordedIsLoggedOnlyWhenWritten(t *testing.T) {
	noEmail := func() (stripeapi.Session, error) { s := paidSession(); s.CustomerEmail = ""; return s, nil }
	tests := []struct {
		name         string
		records      func() order.Records
		wantState    order.State
		wantRecorded bool
	}{
		{name: "recorded as needs attention", records: func() order.Records { return ordertest.NewLedger() },
			wantState: order.StateNeedsAttention, wantRecorded: true},
		{name: "the ledger refuses the record", records: func() order.Records {
			return refusingRecords{ordertest.NewLedger(), order.Permanent(errors.New("table answered 400 PropertyValueTooLarge"))}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs := tc.records()
			h := newHarness(ordertest.NewLedger(), false, noEmail)
			h.rebuild(func(d *processorder.Deps) { d.Records, d.Log = recs, slog.New(slog.NewTextHandler(h.logs, nil)) })
			err := h.handle(message(order.EventCompleted))
			require.True(t, order.IsPermanent(err), "%v", err)
			o, gerr := recs.Get(context.Background(), sessionID)
			if tc.wantState == "" {
				require.ErrorIs(t, gerr, order.ErrNotFound, "nothing was written")
			} else {
				require.NoError(t, gerr)
				require.Equal(t, tc.wantState, o.State())
			}
			if tc.wantRecorded {
				require.Contains(t, h.logs.String(), "failure recorded")
			} else {
				require.NotContains(t, h.logs.String(), "recorded")
			}
		})
	}
}

// TestRefusedKeyHoldsTheOrder: Stripe refuses the key (a rotation gone
// wrong) twice, then accepts it. The order is held, not needs_attention,
// each attempt re-scheduled with a growing delay and without spending the
// host's attempts; once the key is fixed the order is fulfilled by itself
// and the hold cleared.
func TestRefusedKeyHoldsTheOrder(t *testing.T) {
	refusals := 2
	recs := ordertest.NewLedger()
	h := newHarness(recs, false, func() (stripeapi.Session, error) {
		if refusals > 0 {
			refusals--
			return stripeapi.Session{}, order.Misconfigured(errors.New("get checkout session: Stripe refused STRIPE_API_KEY: stripe answered 401"), "STRIPE_API_KEY")
		}
		return paidSession(), nil
	})
	msg := message(order.EventCompleted)

	var delays []time.Duration
	for hold := 1; hold <= 2; hold++ {
		err := h.handle(msg)
		require.Equal(t, order.ClassMisconfigured, order.Classify(err), "%v", err)
		setting, _ := order.MisconfiguredSetting(err)
		require.Equal(t, "STRIPE_API_KEY", setting)
		delay, ok := order.RetryAfter(err)
		require.True(t, ok, "the route re-schedules it: %v", err)
		want := delivery.MinHold << (hold - 1)
		require.True(t, delay > want*3/4-time.Nanosecond && delay <= want, "hold %d waits %s, want about %s", hold, delay, want)
		delays = append(delays, delay)

		rec := recs.Record(t, sessionID)
		require.Equal(t, order.StateReceived, rec.State(), "held, not needs_attention")
		require.Equal(t, hold, rec.Holds)
		require.True(t, rec.Held())
		require.Equal(t, t0.Add(delay), rec.HeldUntil)
		require.Contains(t, rec.LastError, "Stripe refused STRIPE_API_KEY")
		require.Zero(t, rec.Attempts, "a hold is not a failed attempt")
		require.Empty(t, rec.LeaseOwner, "the lease is released")
		require.Empty(t, h.queue.sent)
	}
	require.Greater(t, delays[1], delays[0], "the delay grows")

	require.NoError(t, h.handle(msg), "the key was fixed")
	rec := recs.Record(t, sessionID)
	require.Equal(t, order.StateLinksReady, rec.State())
	require.False(t, rec.Held())
	require.True(t, rec.HeldUntil.IsZero())
	require.Empty(t, rec.LastError)
	require.Len(t, h.queue.sent, 1)
}

// Two overlapping scheduled Reconcile runs queue the same session twice,
// with different event ids; handled at once, the ledger's claim lets one
// work while the other is throttled, and its redelivery queues the same
// generation again at most: SendLink sends one mail.
func TestOverlappingReconcilesQueueOneMail(t *testing.T) {
	recs := ordertest.NewLedger()
	h := newHarness(recs, false, func() (stripeapi.Session, error) { return paidSession(), nil })
	msgs := make([]order.ProcessJob, 2)
	for i := range msgs {
		msgs[i] = message(order.EventCompleted)
		msgs[i].EventID, msgs[i].Trigger = fmt.Sprintf("evt_reconcile_run%d", i), order.TriggerReconcile
	}
	errs := make(chan error, len(msgs))
	for i, m := range msgs {
		go func() {
			errs <- h.stage.Handle(context.Background(), delivery.Attempt{MessageID: fmt.Sprint("msg-", i)}, m)
		}()
	}
	var busy []order.ProcessJob
	for range msgs {
		if err := <-errs; err != nil {
			require.True(t, errors.Is(err, order.ErrBusy), "only the lease may turn one away: %v", err)
			busy = append(busy, msgs[0])
		}
	}
	for _, m := range busy { // re-scheduled: comes back once the lease is gone
		require.NoError(t, h.stage.Handle(context.Background(), delivery.Attempt{MessageID: "msg-late"}, m))
	}
	mails := h.mails(t)
	require.NotEmpty(t, mails)
	for _, m := range mails {
		require.Equal(t, mails[0].Key(), m.Key(), "one generation, one idempotency key: one mail")
		require.Equal(t, 1, m.Generation)
	}
	require.Equal(t, order.StateLinksReady, recs.Record(t, sessionID).State())
}
