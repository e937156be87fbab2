package faulttest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/filedrop/filedrop/internal/order"
)

// Session kinds: what the Stripe fixture says about a session and what the
// customer is owed.
const (
	kindPaid   = "paid"   // paid: one download mail
	kindUnpaid = "unpaid" // completed unpaid and never paid: no mail
	kindFailed = "failed" // the asynchronous payment failed: one payment-failed notice
)

// dupKind says whether, and how, an event is delivered a second time.
type dupKind int

const (
	dupNone       dupKind = iota
	dupConcurrent         // both deliveries at once
	dupLater              // the second one some seconds after the first
)

// step is one thing the traffic does for a session: deliver an event, or
// (pay) let the session's delayed payment succeed at Stripe.
type step struct {
	pay       bool
	eventType string
	eventID   string
	dup       dupKind
	dupDelay  time.Duration // dupLater: after the first delivery
	gap       time.Duration // pause before the next step
	// refund: a charge.refunded event for the session's charge, delivered
	// when its timing says (see refundTiming).
	refund refundTiming
}

// session is one Checkout Session of the plan.
type session struct {
	id    string
	kind  string
	email string
	// delayed: a paid session whose payment succeeds only at its pay step;
	// until then the fixture answers payment_status unpaid.
	delayed bool
	// products are the line items' products, in order (a product may repeat).
	products []int
	start    time.Duration // when its first step runs, from the start of the traffic
	steps    []step
	refund   refundTiming // a paid session refunded in full, and when
	// refundDelay: refundAfter's refund comes this long after fulfilment.
	refundDelay time.Duration
	// lost: Stripe never delivers the session's webhooks (an endpoint it
	// gave up on); only the scheduled Reconcile can find it.
	lost bool
}

// deliveries counts the webhook deliveries the session's steps make.
func (s *session) deliveries() int {
	if s.lost {
		return 0
	}
	n := 0
	for _, st := range s.steps {
		switch {
		case st.pay:
		case st.dup != dupNone:
			n += 2
		default:
			n++
		}
	}
	return n
}

// mailKind is the kind of the one mail the session is owed, or "".
func (s *session) mailKind() string {
	switch s.kind {
	case kindPaid:
		return order.MailDownloadLinks
	case kindFailed:
		return order.MailPaymentFailed
	}
	return ""
}

// distinctProducts is how many files the download mail must link.
func (s *session) distinctProducts() int {
	seen := map[int]bool{}
	for _, p := range s.products {
		seen[p] = true
	}
	return len(seen)
}

// plan is every session of a phase and what the traffic does with it.
type plan struct {
	sessions []*session
	byID     map[string]*session
	byEmail  map[string]*session
	// keys maps every mail key the plan owes (generation 1) to its session.
	keys map[string]*session
}

// planShape is the mix of sessions and how the traffic delivers them.
type planShape struct {
	prefix          string // session ids are cs_test_<prefix>_<kind>_<n>
	paid, delayed   int    // delayed is a part of paid
	unpaid, failed  int
	dupRate         float64       // share of events delivered twice
	asyncFirst      float64       // share of two-event sessions whose asynchronous event comes first
	spread          time.Duration // sessions start uniformly over this long
	lateDupMax      time.Duration // a later duplicate comes up to this long after the first delivery
	maxGap          time.Duration // the longest pause between two steps of a session
	productsInStock int
	refunds         float64 // share of paid sessions refunded in full (see planRefunds)
	// lost is the share of the paid sessions (without a delayed payment)
	// whose webhooks are never delivered; at least one when it is not 0.
	lost float64
}

// newPlan draws a plan from rng.
func newPlan(sh planShape, rng *rand.Rand) *plan {
	p := &plan{byID: map[string]*session{}, byEmail: map[string]*session{}, keys: map[string]*session{}}
	add := func(kind string, n int, delayed bool) {
		s := &session{id: fmt.Sprintf("cs_test_%s_%s_%04d", sh.prefix, kind, n), kind: kind, delayed: delayed}
		if delayed {
			s.id = fmt.Sprintf("cs_test_%s_%sdelayed_%04d", sh.prefix, kind, n)
		}
		s.email = s.id + "@customers.example"
		for range 1 + rng.IntN(3) {
			s.products = append(s.products, 1+rng.IntN(sh.productsInStock))
		}
		s.start = time.Duration(rng.Int64N(int64(sh.spread) + 1))
		s.steps = sessionSteps(s, sh, rng)
		p.sessions = append(p.sessions, s)
		p.byID[s.id], p.byEmail[s.email] = s, s
		if k := s.mailKind(); k != "" {
			p.keys[order.MailKey(s.id, k, 1)] = s
		}
	}
	for i := range sh.paid {
		add(kindPaid, i+1, i < sh.delayed)
	}
	for i := range sh.unpaid {
		add(kindUnpaid, i+1, false)
	}
	for i := range sh.failed {
		add(kindFailed, i+1, false)
	}
	planRefunds(p, sh, rng)
	if sh.lost > 0 { // a share of the paid sessions, at least one
		var paid []*session
		for _, s := range p.sessions {
			if s.kind == kindPaid && !s.delayed && s.refund == refundNone {
				paid = append(paid, s)
			}
		}
		rng.Shuffle(len(paid), func(i, j int) { paid[i], paid[j] = paid[j], paid[i] })
		for _, s := range paid[:min(len(paid), max(1, int(float64(len(paid))*sh.lost+0.5)))] {
			s.lost = true
		}
	}
	for i, s := range p.sessions { // event ids, unique in the plan
		for j := range s.steps {
			if !s.steps[j].pay {
				s.steps[j].eventID = fmt.Sprintf("evt_fault_%s_%05d_%d", sh.prefix, i, j)
			}
		}
	}
	return p
}

// sessionSteps is what Stripe sends for a session of s's kind:
//   - paid: completed;
//   - paid, delayed: completed (still unpaid), the payment succeeds, then
//     async_payment_succeeded; or, asynchronous first, the payment succeeds,
//     async_payment_succeeded, then completed;
//   - failed: completed, then async_payment_failed, or the other way round;
//   - unpaid: completed.
func sessionSteps(s *session, sh planShape, rng *rand.Rand) []step {
	ev := func(t string) step {
		st := step{eventType: t, gap: time.Duration(rng.Int64N(int64(sh.maxGap) + 1))}
		if r := rng.Float64(); r < sh.dupRate/2 {
			st.dup = dupConcurrent
		} else if r < sh.dupRate {
			st.dup, st.dupDelay = dupLater, time.Second+time.Duration(rng.Int64N(int64(sh.lateDupMax)))
		}
		return st
	}
	pay := step{pay: true}
	asyncFirst := rng.Float64() < sh.asyncFirst
	switch {
	case s.kind == kindPaid && s.delayed && asyncFirst:
		return []step{pay, ev(order.EventAsyncPaymentSucceeded), ev(order.EventCompleted)}
	case s.kind == kindPaid && s.delayed:
		return []step{ev(order.EventCompleted), pay, ev(order.EventAsyncPaymentSucceeded)}
	case s.kind == kindFailed && asyncFirst:
		return []step{ev(order.EventAsyncPaymentFailed), ev(order.EventCompleted)}
	case s.kind == kindFailed:
		return []step{ev(order.EventCompleted), ev(order.EventAsyncPaymentFailed)}
	}
	return []step{ev(order.EventCompleted)}
}

// deliveries counts every webhook delivery of the plan.
func (p *plan) deliveries() int {
	n := 0
	for _, s := range p.sessions {
		n += s.deliveries()
	}
	return n
}

// lost returns the ids of the sessions whose webhooks are never delivered.
func (p *plan) lost() []string {
	var ids []string
	for _, s := range p.sessions {
		if s.lost {
			ids = append(ids, s.id)
		}
	}
	return ids
}

// count returns how many sessions are of kind.
func (p *plan) count(kind string) int {
	n := 0
	for _, s := range p.sessions {
		if s.kind == kind {
			n++
		}
	}
	return n
}
