package processorder_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/processorder"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

const paymentIntent = "pi_3Paid"

// fakePayments is Stripe's charges, disputes and session list, of function
// fields; nil ones answer the session of paymentIntent and nothing else.
type fakePayments struct {
	ChargeFunc  func(id string) (stripeapi.Charge, error)
	DisputeFunc func(id string) (stripeapi.Dispute, error)
	SessionFunc func(pi string) (string, error)
}

func (f *fakePayments) Charge(_ context.Context, id string) (stripeapi.Charge, error) {
	return f.ChargeFunc(id)
}

func (f *fakePayments) Dispute(_ context.Context, id string) (stripeapi.Dispute, error) {
	return f.DisputeFunc(id)
}

func (f *fakePayments) SessionOfPayment(_ context.Context, pi string) (string, error) {
	if f.SessionFunc != nil {
		return f.SessionFunc(pi)
	}
	if pi == paymentIntent {
		return sessionID, nil
	}
	return "", nil
}

func charge(amount, refunded int64) func(string) (stripeapi.Charge, error) {
	return func(id string) (stripeapi.Charge, error) {
		return stripeapi.Charge{ID: id, PaymentIntent: paymentIntent, Amount: amount, AmountRefunded: refunded, Refunded: refunded >= amount}, nil
	}
}

func dispute(status string) func(string) (stripeapi.Dispute, error) {
	return func(id string) (stripeapi.Dispute, error) {
		return stripeapi.Dispute{ID: id, PaymentIntent: paymentIntent, Status: status}, nil
	}
}

func paymentMessage(eventType, objectID string) order.ProcessJob {
	return order.ProcessJob{Version: order.ProcessJobVersion, EventID: "evt_pay", EventType: eventType,
		PaymentIntent: paymentIntent, ObjectID: objectID, Created: t0.Unix(), Trigger: order.TriggerWebhook}
}

// fulfilledOrder is an order whose mail was sent, paid with paymentIntent.
func fulfilledOrder() order.Order {
	return order.Restore(order.Snapshot{SessionID: sessionID, State: order.StateMailSent, PaidAt: t0.Add(-time.Hour), PaymentIntent: paymentIntent,
		CreatedAt: t0.Add(-time.Hour), Files: []order.File{{Title: "Fern", Blob: "prod_Fern.jpg", FileName: "prod_Fern.jpg", Size: 3}}})
}

var (
	refundHold  = []order.HoldKind{order.HoldRefund}
	disputeHold = []order.HoldKind{order.HoldDispute}
)

func TestPaymentEvents(t *testing.T) {
	refund := paymentMessage(order.EventChargeRefunded, "ch_1")
	disputed := paymentMessage(order.EventDisputeCreated, "dp_1")
	closed := paymentMessage(order.EventDisputeClosed, "dp_1")
	window := 720 * time.Hour
	tests := []struct {
		name     string
		existing []order.Order
		before   func(o *order.Order) // applied to the fulfilled order
		payments fakePayments
		msg      order.ProcessJob
		fails    bool
		class    order.Class // of the error, when it fails
		access   order.Access
		holds    []order.HoldKind
		refunded int64
		noRecord bool
	}{
		{name: "full refund revokes", payments: fakePayments{ChargeFunc: charge(2000, 2000)}, msg: refund,
			access: order.AccessRevoked, holds: refundHold, refunded: 2000},
		{name: "partial refund is recorded, access stays", payments: fakePayments{ChargeFunc: charge(2000, 500)}, msg: refund,
			access: order.AccessOpen, refunded: 500},
		{name: "refunded flag without amounts counts as full", payments: fakePayments{ChargeFunc: func(id string) (stripeapi.Charge, error) {
			return stripeapi.Charge{ID: id, PaymentIntent: paymentIntent, Amount: 2000, Refunded: true}, nil
		}}, msg: refund, access: order.AccessRevoked, holds: refundHold, refunded: 2000},
		{name: "dispute suspends", payments: fakePayments{DisputeFunc: dispute("needs_response")}, msg: disputed,
			access: order.AccessSuspended, holds: disputeHold},
		{name: "dispute won restores", before: func(o *order.Order) {
			o.ApplyDispute("evt_opened", order.Dispute{ID: "dp_1", Status: "needs_response"}, t0)
		},
			payments: fakePayments{DisputeFunc: dispute(order.DisputeWon)}, msg: closed, access: order.AccessOpen},
		{name: "dispute lost keeps access revoked", before: func(o *order.Order) {
			o.ApplyDispute("evt_opened", order.Dispute{ID: "dp_1", Status: "under_review"}, t0)
		},
			payments: fakePayments{DisputeFunc: dispute(order.DisputeLost)}, msg: closed, access: order.AccessRevoked, holds: []order.HoldKind{order.HoldDisputeLost}},
		{name: "a late dispute.created after the dispute was won applies Stripe's current status",
			before: func(o *order.Order) {
				o.ApplyDispute("evt_closed", order.Dispute{ID: "dp_1", Status: order.DisputeWon}, t0)
			},
			payments: fakePayments{DisputeFunc: dispute(order.DisputeWon)}, msg: disputed, access: order.AccessOpen},
		{name: "no Checkout Session for the payment intent: acknowledged", payments: fakePayments{ChargeFunc: charge(2000, 2000),
			SessionFunc: func(string) (string, error) { return "", nil }}, msg: refund, access: order.AccessOpen},
		{name: "full refund of an order the ledger does not know yet keeps it revoked", existing: []order.Order{},
			payments: fakePayments{ChargeFunc: charge(2000, 2000)}, msg: refund, access: order.AccessRevoked, holds: refundHold, refunded: 2000},
		{name: "partial refund of an order the ledger does not know: only logged", existing: []order.Order{},
			payments: fakePayments{ChargeFunc: charge(2000, 500)}, msg: refund, noRecord: true},
		{name: "live charge, test key", payments: fakePayments{ChargeFunc: func(id string) (stripeapi.Charge, error) {
			c, _ := charge(2000, 2000)(id)
			c.Livemode = true
			return c, nil
		}}, msg: refund, fails: true, class: order.ClassPermanent, access: order.AccessOpen},
		{name: "charge of another payment intent than the event said", payments: fakePayments{ChargeFunc: func(id string) (stripeapi.Charge, error) {
			c, _ := charge(2000, 2000)(id)
			c.PaymentIntent = "pi_Other"
			return c, nil
		}}, msg: refund, fails: true, class: order.ClassPermanent, access: order.AccessOpen},
		{name: "stripe fails: retried", payments: fakePayments{ChargeFunc: func(string) (stripeapi.Charge, error) {
			return stripeapi.Charge{}, errors.New("stripe answered 500")
		}}, msg: refund, fails: true, class: order.ClassRetryable, access: order.AccessOpen},
		{name: "session list throttled", payments: fakePayments{ChargeFunc: charge(2000, 2000), SessionFunc: func(string) (string, error) {
			return "", order.Throttled(errors.New("429"), time.Second)
		}}, msg: refund, fails: true, class: order.ClassThrottled, access: order.AccessOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := fulfilledOrder()
			if tt.before != nil {
				tt.before(&o)
			}
			existing := []order.Order{o}
			if tt.existing != nil {
				existing = tt.existing
			}
			recs := ordertest.NewLedger(existing...)
			h := newHarness(recs, false, func() (stripeapi.Session, error) { return paidSession(), nil })
			p := tt.payments
			h.rebuild(func(d *processorder.Deps) { d.Payments = &p })

			err := h.handle(tt.msg)
			if tt.fails {
				require.Error(t, err)
				require.Equal(t, tt.class, order.Classify(err), "%v", err)
			} else {
				require.NoError(t, err)
			}
			require.Empty(t, h.queue.sent, "a payment event queues no mail")
			require.Zero(t, h.sessions.calls, "the session's line items are not read")
			rec, ok := recs.Lookup(sessionID)
			if tt.noRecord {
				require.False(t, ok, "nothing is written for an unknown order")
				return
			}
			require.True(t, ok)
			var holds []order.HoldKind
			for _, h := range rec.AccessHolds() {
				holds = append(holds, h.Kind)
			}
			require.Equal(t, tt.holds, holds)
			require.Equal(t, tt.refunded, rec.RefundedAmount)
			if rec.Files != nil {
				require.Equal(t, tt.access, rec.Access(t0, window))
			}
			require.Empty(t, rec.LeaseOwner)
		})
	}
}

// A refund, dispute or operator that revoked access before ProcessOrder
// fulfils the order (the refund overtook the Checkout event) leaves it
// needing attention: no link is minted, no mail queued, and neither the
// webhook's redelivery nor reconcile's repair mails it later.
func TestRevokedBeforeFulfilmentMailsNothing(t *testing.T) {
	tests := []struct {
		name   string
		revoke func(t *testing.T, h *harness, recs *ordertest.Ledger)
		by     order.HoldKind
	}{
		{name: "refunded in full", by: order.HoldRefund, revoke: func(t *testing.T, h *harness, _ *ordertest.Ledger) {
			h.rebuild(func(d *processorder.Deps) { d.Payments = &fakePayments{ChargeFunc: charge(2000, 2000)} })
			require.NoError(t, h.handle(paymentMessage(order.EventChargeRefunded, "ch_1")))
		}},
		{name: "disputed", by: order.HoldDispute, revoke: func(t *testing.T, h *harness, _ *ordertest.Ledger) {
			h.rebuild(func(d *processorder.Deps) { d.Payments = &fakePayments{DisputeFunc: dispute("needs_response")} })
			require.NoError(t, h.handle(paymentMessage(order.EventDisputeCreated, "dp_1")))
		}},
		{name: "revoked by an operator", by: order.HoldOperator, revoke: func(_ *testing.T, _ *harness, recs *ordertest.Ledger) {
			o := order.Order{SessionID: sessionID, CreatedAt: t0.Add(-time.Minute)}
			o.Revoke("fraud", t0)
			recs.Put(o)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := ordertest.NewLedger()
			h := newHarness(recs, false, func() (stripeapi.Session, error) {
				s := paidSession()
				s.PaymentIntent = paymentIntent
				return s, nil
			})
			tt.revoke(t, h, recs)
			require.Equal(t, tt.by, recs.Record(t, sessionID).AccessHolds()[0].Kind)

			require.NoError(t, h.handle(message(order.EventCompleted)), "acknowledged: nothing to retry")
			require.NoError(t, h.handle(message(order.EventCompleted)), "and the webhook's redelivery")
			repair := message(order.EventCompleted)
			repair.EventID, repair.Trigger = "evt_reconcile_1", order.TriggerReconcile
			require.NoError(t, h.handle(repair), "and a reconcile")

			require.Empty(t, h.queue.sent, "no mail: a revoked order gets no download links")
			require.Zero(t, h.orig.links, "no link is even minted")
			rec := recs.Record(t, sessionID)
			require.Equal(t, order.StateNeedsAttention, rec.State())
			require.Contains(t, rec.Reason, "no mail sent")
			require.Equal(t, tt.by, rec.AccessHolds()[0].Kind)
			require.Contains(t, rec.Reason, "handler grant "+sessionID)
			require.Equal(t, "jane@example.com", rec.CustomerEmail, "an operator can find it by the customer")
			require.Empty(t, rec.LeaseOwner)
			require.True(t, rec.Final(), "reconcile leaves it alone")
			require.Contains(t, h.logs.String(), "no mail sent")
		})
	}
}

func TestPaymentEventRedelivered(t *testing.T) {
	recs := ordertest.NewLedger(fulfilledOrder())
	h := newHarness(recs, false, nil)
	h.rebuild(func(d *processorder.Deps) { d.Payments = &fakePayments{ChargeFunc: charge(2000, 2000)} })
	msg := paymentMessage(order.EventChargeRefunded, "ch_1")
	require.NoError(t, h.handle(msg))
	first := recs.Record(t, sessionID)
	require.NoError(t, h.handle(msg))
	require.Equal(t, first.ETag, recs.Record(t, sessionID).ETag, "a redelivery writes nothing")
	require.Equal(t, t0, first.AccessHolds()[0].At)
}

func TestPaymentEventWithoutPayments(t *testing.T) {
	h := newHarness(ordertest.NewLedger(fulfilledOrder()), false, nil)
	err := h.handle(paymentMessage(order.EventChargeRefunded, "ch_1"))
	require.Equal(t, order.ClassPermanent, order.Classify(err))
}

// TestRefundDuringFulfilment: a refund recorded while ProcessOrder fulfils
// the order (it holds the lease, between its claim and its last write)
// survives the fulfilment's write, and no download is then allowed.
func TestRefundDuringFulfilment(t *testing.T) {
	recs := ordertest.NewLedger()
	h := newHarness(recs, false, func() (stripeapi.Session, error) {
		s := paidSession()
		s.PaymentIntent = paymentIntent
		return s, nil
	})
	h.rebuild(func(d *processorder.Deps) { d.Payments = &fakePayments{ChargeFunc: charge(2000, 2000)} })
	refunded := false
	h.orig.ExistsFunc = func(context.Context, string) (bool, error) {
		if !refunded {
			refunded = true
			claimed := recs.Record(t, sessionID)
			require.NotEmpty(t, claimed.LeaseOwner, "fulfilment holds the lease")
			require.NoError(t, h.handle(paymentMessage(order.EventChargeRefunded, "ch_1")), "the refund does not wait for the lease")
		}
		return true, nil
	}
	require.NoError(t, h.handle(message(order.EventCompleted)))
	rec := recs.Record(t, sessionID)
	require.Equal(t, order.StateLinksReady, rec.State())
	require.Equal(t, refundHold[0], rec.AccessHolds()[0].Kind, "the fulfilment's write kept the refund")
	require.ErrorIs(t, rec.RecordDownload(0, t0, 720*time.Hour, 0), order.ErrAccessRevoked)
}

// TestGrantRacingARefund: an operator's grant and a refund's event race for
// the record. Whichever writes second re-reads the record (a conditional
// write), so a grant that lands first did not see the refund, which then
// closes access; a refund that lands first is lifted by the grant, which
// acknowledges it, so that the same refund read again closes nothing.
func TestGrantRacingARefund(t *testing.T) {
	window := 720 * time.Hour
	msg := paymentMessage(order.EventChargeRefunded, "ch_1")
	grant := func(t *testing.T, recs *ordertest.Ledger) {
		t.Helper()
		_, err := order.Mutate(context.Background(), recs, sessionID, t0, func(o *order.Order) error {
			_, err := o.Grant(0, false, t0, window)
			return err
		})
		require.NoError(t, err)
	}

	t.Run("the grant lands between the refund's read and write", func(t *testing.T) {
		recs := ordertest.NewLedger(fulfilledOrder())
		raced := false
		recs.BeforeWrite = func(int, order.Order) error {
			if !raced {
				raced = true
				grant(t, recs) // another writer: the refund's write now conflicts
			}
			return nil
		}
		h := newHarness(recs, false, nil)
		h.rebuild(func(d *processorder.Deps) { d.Payments = &fakePayments{ChargeFunc: charge(2000, 2000)} })
		require.NoError(t, h.handle(msg))
		rec := recs.Record(t, sessionID)
		require.Equal(t, order.AccessRevoked, rec.Access(t0, window), "the grant did not see the refund")
		require.Equal(t, t0, rec.Granted.At)
		require.Zero(t, rec.Granted.Refunded)
	})

	t.Run("the refund lands first, the grant lifts and acknowledges it", func(t *testing.T) {
		recs := ordertest.NewLedger(fulfilledOrder())
		h := newHarness(recs, false, nil)
		h.rebuild(func(d *processorder.Deps) { d.Payments = &fakePayments{ChargeFunc: charge(2000, 2000)} })
		require.NoError(t, h.handle(msg))
		grant(t, recs)
		require.NoError(t, h.handle(msg), "Stripe redelivers the event")
		later := msg
		later.EventID = "evt_pay_later"
		require.NoError(t, h.handle(later), "and a later event of the same charge")
		rec := recs.Record(t, sessionID)
		require.Equal(t, order.AccessOpen, rec.Access(t0, window))
		require.Equal(t, []string{"evt_pay", "evt_pay_later"}, rec.EventIDs)
		require.Contains(t, h.logs.String(), "this event was applied to the order before")
	})
}

// TestOperatorRevokeOutlivesADisputeWon: the operator's hold placed during
// an open dispute stands when Stripe says the dispute was won.
func TestOperatorRevokeOutlivesADisputeWon(t *testing.T) {
	window := 720 * time.Hour
	recs := ordertest.NewLedger(fulfilledOrder())
	h := newHarness(recs, false, nil)
	status := "needs_response"
	h.rebuild(func(d *processorder.Deps) {
		d.Payments = &fakePayments{DisputeFunc: func(id string) (stripeapi.Dispute, error) { return dispute(status)(id) }}
	})
	require.NoError(t, h.handle(paymentMessage(order.EventDisputeCreated, "dp_1")))
	suspended := recs.Record(t, sessionID)
	require.Equal(t, order.AccessSuspended, suspended.Access(t0, window))
	_, err := order.Mutate(context.Background(), recs, sessionID, t0, func(o *order.Order) error {
		o.Revoke("fraud confirmed", t0)
		return nil
	})
	require.NoError(t, err)

	status = order.DisputeWon
	closed := paymentMessage(order.EventDisputeClosed, "dp_1")
	closed.EventID = "evt_won"
	require.NoError(t, h.handle(closed))
	rec := recs.Record(t, sessionID)
	require.Equal(t, order.AccessRevoked, rec.Access(t0, window))
	require.Len(t, rec.AccessHolds(), 1)
	require.Equal(t, order.HoldOperator, rec.AccessHolds()[0].Kind)
	require.Equal(t, []order.Dispute{{ID: "dp_1", Status: order.DisputeWon}}, rec.Disputes)
}

// TestNewLinksOfARevokedOrder: an operator's new links for an order that
// was mailed and then revoked mint nothing and keep the order's state (no
// false "before the links were queued"), unless forced.
func TestNewLinksOfARevokedOrder(t *testing.T) {
	for _, force := range []bool{false, true} {
		t.Run(fmt.Sprint("force=", force), func(t *testing.T) {
			o := fulfilledOrder()
			o = ordertest.Edit(o, func(s *order.Snapshot) {
				s.MailGeneration, s.SentGeneration, s.LinksReadyAt, s.CustomerEmail = 1, 1, t0.Add(-time.Hour), "jane@example.com"
			})
			o.Revoke("fraud confirmed", t0.Add(-time.Minute))
			recs := ordertest.NewLedger(o)
			h := newHarness(recs, false, func() (stripeapi.Session, error) {
				s := paidSession()
				s.PaymentIntent = paymentIntent
				return s, nil
			})
			msg := message(order.EventCompleted)
			msg.EventID, msg.Trigger, msg.NewLinks, msg.Force = "evt_resend_1", order.TriggerOperator, true, force
			require.NoError(t, h.handle(msg))
			rec := recs.Record(t, sessionID)
			require.Empty(t, rec.LeaseOwner)
			require.True(t, rec.Revoked(), "the operator's hold stands either way")
			if !force {
				require.Empty(t, h.queue.sent, "no mail")
				require.Equal(t, order.StateMailSent, rec.State(), "the order keeps its state")
				require.Empty(t, rec.Reason)
				require.Contains(t, h.logs.String(), "handler grant reopens it")
				return
			}
			require.Len(t, h.queue.sent, 1, "forced: the new links are mailed")
			require.Equal(t, 2, rec.MailGeneration())
		})
	}
}
