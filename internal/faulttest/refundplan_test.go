package faulttest

import (
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// refundTiming is when a refunded order's full refund reaches the webhook,
// measured against the order's fulfilment.
type refundTiming int

const (
	refundNone refundTiming = iota
	// refundBefore: the charge.refunded event is delivered before the
	// checkout.session.completed event; the refund creates the record.
	refundBefore
	// refundDuring: the refund is delivered once ProcessOrder has fetched
	// the paid session, and the Stripe fake holds that answer until the
	// refund's ProcessOrder looks the session up by its payment intent (or
	// maxRefundHold passes): the refund's write races the fulfilment's.
	refundDuring
	// refundAfter: the refund is delivered once the ledger lists the
	// order's files (it is fulfilled; its mail may or may not be sent),
	// and refundAfterMax or less after that, so that the download probe
	// finds access open first.
	refundAfter
)

var refundTimings = [...]string{refundNone: "none", refundBefore: "before", refundDuring: "during", refundAfter: "after"}

func (t refundTiming) String() string { return refundTimings[t] }

// minRefunds is the fewest refunded orders of a phase that plans refunds:
// at least one of each timing.
const minRefunds = 3

// refundAfterMax bounds how long after its fulfilment a refundAfter
// session's refund comes.
const refundAfterMax = 2 * probeGap

// paymentIntent is the session's payment intent, and chargeID the charge
// that paid it, in the Stripe fake.
func paymentIntent(sessionID string) string {
	return "pi_" + strings.TrimPrefix(sessionID, "cs_test_")
}

func chargeID(sessionID string) string { return "ch_" + strings.TrimPrefix(sessionID, "cs_test_") }

// amount is what the session's customer paid (every line item 15.00 EUR).
func (s *session) amount() int64 { return 1500 * int64(len(s.products)) }

// planRefunds picks sh.refunds of the paid sessions without a delayed
// payment (at least minRefunds, when any are planned), gives them a full
// refund, and spreads them evenly over the timings. It runs before the
// event ids are given out.
func planRefunds(p *plan, sh planShape, rng *rand.Rand) {
	if sh.refunds <= 0 {
		return
	}
	var candidates []*session
	for _, s := range p.sessions {
		if s.kind == kindPaid && !s.delayed {
			candidates = append(candidates, s)
		}
	}
	n := min(len(candidates), max(minRefunds, int(math.Round(sh.refunds*float64(sh.paid)))))
	for i, k := range rng.Perm(len(candidates))[:n] {
		s := candidates[k]
		s.refund = refundTiming(1 + i%3)
		s.refundDelay = time.Duration(rng.Int64N(int64(refundAfterMax)))
		st := refundStep(s.refund, sh, rng)
		if s.refund == refundBefore {
			s.steps = append([]step{st}, s.steps...)
		} else {
			s.steps = append(s.steps, st)
		}
	}
}

// refundStep is the delivery of a charge.refunded event, delivered twice
// as often as the other events are.
func refundStep(t refundTiming, sh planShape, rng *rand.Rand) step {
	st := step{eventType: order.EventChargeRefunded, refund: t, gap: time.Duration(rng.Int64N(int64(sh.maxGap) + 1))}
	if r := rng.Float64(); r < sh.dupRate/2 {
		st.dup = dupConcurrent
	} else if r < sh.dupRate {
		st.dup, st.dupDelay = dupLater, time.Second+time.Duration(rng.Int64N(int64(sh.lateDupMax)))
	}
	return st
}

// refunded returns the planned sessions with a refund, by timing.
func (p *plan) refunded() (all []*session, by map[refundTiming]int) {
	by = map[refundTiming]int{}
	for _, s := range p.sessions {
		if s.refund != refundNone {
			all = append(all, s)
			by[s.refund]++
		}
	}
	return all, by
}

// signedEvent is the step's event for the session, signed at t: a Checkout
// event, or a refund event naming the session's charge and payment intent.
func signedEvent(sessionID string, st step, t time.Time) ([]byte, string, error) {
	if st.refund != refundNone {
		return stripeapi.SimulatedPaymentEvent(st.eventID, st.eventType, chargeID(sessionID), paymentIntent(sessionID), false, webhookSecret, t)
	}
	return stripeapi.SimulatedEvent(st.eventID, st.eventType, sessionID, false, webhookSecret, t)
}
