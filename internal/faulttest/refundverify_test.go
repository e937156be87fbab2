package faulttest

import (
	"fmt"
	"net/http"

	"github.com/filedrop/filedrop/internal/order"
)

// refundedBeforeLinks are the refunded sessions whose refund was recorded
// before their download links were queued: ProcessOrder mints nothing and
// mails nothing for them, and leaves them needing attention (a restored
// access is repaired with resend --new-links).
func (r *rig) refundedBeforeLinks(snap snapshot) map[*session]bool {
	out := map[*session]bool{}
	for _, s := range r.plan.sessions {
		o, ok := snap.orders[s.id]
		if ok && s.refund != refundNone && o.State() == order.StateNeedsAttention && refundHeld(o) &&
			o.MailGeneration() == 0 && o.SentGeneration() == 0 {
			out[s] = true
		}
	}
	return out
}

// refundHeld reports whether o's access is closed by exactly its refund's
// hold.
func refundHeld(o order.Order) bool {
	return len(o.AccessHolds()) == 1 && o.AccessHolds()[0].Kind == order.HoldRefund
}

// checkRefunds checks the refunded orders: each record ends revoked by its
// refund (and mailed, or not at all when the refund came first), no other record is revoked,
// no download succeeded once the ledger showed the revoke, and after
// settling each refunded order's download is refused while a paid order's
// still works.
func (r *rig) checkRefunds(rep *report, snap snapshot, unmailed map[*session]bool) {
	refunded, by := r.plan.refunded()
	if len(refunded) == 0 {
		return
	}
	st := r.stripe.refunds.stats()
	rep.info("refunds: full refunds (before/during/after fulfilment)", "%d (%d/%d/%d)",
		len(refunded), by[refundBefore], by[refundDuring], by[refundAfter])
	rep.info("refunds: fulfilments held until the refund ran (released by timeout)", "%d (%d)", st.held, st.heldOut)
	rep.info("refunds: Stripe charge fetches / sessions listed by payment intent", "%d/%d", st.charges, st.lookup)

	var revoked, strays int
	var problems []string
	for _, s := range r.plan.sessions {
		o, ok := snap.orders[s.id]
		switch {
		case !ok:
		case s.refund != refundNone:
			if refundHeld(o) && o.RefundedAmount == s.amount() && (o.State() == order.StateMailSent || unmailed[s]) {
				revoked++
			} else {
				problems = append(problems, fmt.Sprintf("%s (refund %s): holds %q, refunded %d of %d, state %s",
					s.id, s.refund, order.DescribeHolds(o.AccessHolds()), o.RefundedAmount, s.amount(), o.State()))
			}
		case o.Revoked():
			strays++
			problems = append(problems, fmt.Sprintf("%s (%s, no refund): holds %q", s.id, s.kind, order.DescribeHolds(o.AccessHolds())))
		}
	}
	rep.expect("refunds: refunded orders revoked by the refund, mail sent or none", len(refunded), revoked)
	late := 0
	for s := range unmailed {
		if s.refund == refundAfter {
			late++ // its links were queued before the refund: it had its mail
		}
	}
	rep.info("refunds: refunded before their links were queued, so no mail (needs attention)", "%d", len(unmailed))
	rep.expect("refunds: refunded after fulfilment yet without a mail", 0, late)
	rep.expect("refunds: orders revoked that nobody refunded", 0, strays)

	p := r.probe
	if p == nil {
		rep.expectThat("refunds: download probe ran", "yes", "no", false)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	rep.info("refunds: download POSTs while access was open (303/403/other)", "%s", p.open)
	rep.info("refunds: download POSTs once the ledger showed the revoke (303/403/other)", "%s", p.revoked)
	rep.expect("refunds: downloads (303) after the revoke was in the ledger", 0, p.revoked.downloaded)
	refusedAfter, controlOK := 0, 0
	for _, s := range refunded {
		if st := p.final[s.id]; st == http.StatusForbidden {
			refusedAfter++
		} else {
			problems = append(problems, fmt.Sprintf("%s (refund %s): download POST after settling answered %d", s.id, s.refund, st))
		}
	}
	for id, st := range p.control {
		if st == http.StatusSeeOther {
			controlOK++
		} else {
			problems = append(problems, fmt.Sprintf("%s (paid, no refund): download POST after settling answered %d", id, st))
		}
	}
	rep.expect("refunds: refunded orders whose download POST is refused (403) after settling", len(refunded), refusedAfter)
	rep.expect("refunds: paid orders not refunded whose download POST answers 303 (sample)", len(p.control), controlOK)
	for _, v := range p.violations {
		rep.note("refund: %s", v)
	}
	for i, pr := range problems {
		if i == 15 {
			rep.note("... and %d more refund problems", len(problems)-i)
			break
		}
		rep.note("refund: %s", pr)
	}
}
