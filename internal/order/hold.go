package order

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// HoldKind names what closes an order's access. Stored: a stable contract.
type HoldKind string

const (
	// HoldOperator: an operator revoked access (handler revoke).
	HoldOperator HoldKind = "operator"
	// HoldRefund: the charge was refunded in full.
	HoldRefund HoldKind = "refund"
	// HoldDispute: a dispute is open; Stripe lifts it when the dispute is
	// won (or the inquiry closed).
	HoldDispute HoldKind = "dispute"
	// HoldDisputeLost: the dispute was lost.
	HoldDisputeLost HoldKind = "dispute_lost"
	// HoldWindow: the download window ended. It is never stored: HoldsAt
	// derives it from the window's end, and grant --extend moves that end.
	HoldWindow HoldKind = "window"
)

// Hold is one reason the order page is closed, with who placed it (Kind,
// and for Stripe's the charge or dispute in Ref and the event in Event),
// when and why. Holds are independent: each is placed and lifted only by
// its own cause (an operator's revoke by grant, a refund by grant, a
// dispute by Stripe's verdict or grant), and access is open only while no
// hold stands. The JSON names are stored in the ledger: a stable contract.
type Hold struct {
	Kind HoldKind `json:"kind"`
	// Ref is the Stripe object behind the hold: the refunded charge or the
	// dispute; "" for an operator's (and for a record kept before Stripe's
	// ids were).
	Ref string `json:"ref,omitempty"`
	// Event is the id of the Stripe event that placed it.
	Event  string    `json:"event,omitempty"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// Suspends reports whether the hold only suspends access: an open dispute,
// which Stripe lifts when the dispute is won.
func (h Hold) Suspends() bool { return h.Kind == HoldDispute }

// Who says who placed the hold, for people: "operator", "refund of ch_1",
// "dispute dp_1", "dispute dp_1 (lost)", "window".
func (h Hold) Who() string {
	what := string(h.Kind)
	switch h.Kind {
	case HoldRefund:
		if h.Ref != "" {
			what += " of " + h.Ref
		}
	case HoldDispute, HoldDisputeLost:
		what = "dispute"
		if h.Ref != "" {
			what += " " + h.Ref
		}
		if h.Kind == HoldDisputeLost {
			what += " (lost)"
		}
	}
	return what
}

// Dispute is a dispute of the order's payment as last read from Stripe.
// The JSON names are stored in the ledger: a stable contract.
type Dispute struct {
	// ID is Stripe's (dp_, du_); "" for a dispute recorded before the
	// ledger kept ids, which the first dispute event names adopts.
	ID     string `json:"id"`
	Status string `json:"status"`
}

// Dispute statuses, Stripe's own names, that this product acts on: won and
// an inquiry closed lift the dispute's hold, lost keeps access closed, and
// every other status (needs_response, under_review, warning_needs_response,
// ...) is an open dispute.
const (
	DisputeWon           = "won"
	DisputeLost          = "lost"
	DisputeWarningClosed = "warning_closed"
)

// disputeStage groups Stripe's statuses by what they do to access.
type disputeStage int

const (
	disputeOpen disputeStage = iota
	disputeLost
	disputeClosed // won, or an inquiry closed
)

func (d Dispute) stage() disputeStage {
	switch d.Status {
	case DisputeWon, DisputeWarningClosed:
		return disputeClosed
	case DisputeLost:
		return disputeLost
	}
	return disputeOpen
}

// MaxDisputes bounds Order.Disputes and Grant.Disputes (a payment has one
// dispute in practice), so that the record stays small.
const MaxDisputes = 4

// Grant is what an operator's grant acknowledged: the refunded amount and
// the disputes, with their statuses, that the ledger showed when it lifted
// the holds. A refund or dispute it saw, read again from Stripe (a
// redelivered or later event), closes nothing; a new refund, a new
// dispute, or a dispute reaching a status the grant did not see (lost,
// when it saw it open) places a new hold. The JSON names are stored in the
// ledger: a stable contract.
type Grant struct {
	At       time.Time `json:"at,omitzero"`
	Refunded int64     `json:"refunded,omitempty"`
	Disputes []Dispute `json:"disputes,omitempty"`
}

// saw reports whether the grant acknowledged d at its stage (open or lost).
func (g Grant) saw(d Dispute) bool {
	return slices.ContainsFunc(g.Disputes, func(s Dispute) bool { return s.ID == d.ID && s.stage() == d.stage() })
}

// Revoked reports whether a hold stands (the window's end aside): an
// operator, a refund or a dispute closed access.
func (o *Order) Revoked() bool { return len(o.accessHolds) > 0 }

// HoldsAt returns the holds that stand at now: those recorded, and the
// window's end once it has passed (window is DOWNLOAD_WINDOW).
func (o *Order) HoldsAt(now time.Time, window time.Duration) []Hold {
	holds := slices.Clone(o.accessHolds)
	if end := o.AccessEnds(window); !end.IsZero() && !now.Before(end) {
		holds = append(holds, Hold{Kind: HoldWindow, At: end, Reason: "the download window ended"})
	}
	return holds
}

// holding returns the index of the standing hold of kind and ref, or -1.
func (o *Order) holding(kind HoldKind, ref string) int {
	return slices.IndexFunc(o.accessHolds, func(h Hold) bool { return h.Kind == kind && (ref == "" || h.Ref == ref) })
}

// place adds h to the standing holds.
func (o *Order) place(h Hold) {
	o.accessHolds = append(slices.Clone(o.accessHolds), h)
}

// lift removes the standing hold of kind and ref, if any.
func (o *Order) lift(kind HoldKind, ref string) {
	o.accessHolds = slices.DeleteFunc(slices.Clone(o.accessHolds), func(h Hold) bool { return h.Kind == kind && h.Ref == ref })
	if len(o.accessHolds) == 0 {
		o.accessHolds = nil
	}
}

// MaxReasonBytes bounds an operator's reason for a revocation, which the
// ledger keeps.
const MaxReasonBytes = 500

// CleanReason returns an operator's reason as the ledger keeps and the
// commands print it: cleaned as a customer's name is (line breaks, control
// and bidirectional characters removed, white space collapsed), so that it
// cannot forge a line of output or a log.
func CleanReason(reason string) string { return cleanLine(reason) }

// Revoke places an operator's hold, for reason, at now, and reports whether
// it did: an operator's hold that stands already keeps its time and reason.
// Holds of Stripe's that stand do not matter: each is lifted by its own
// cause, and this one only by a grant.
func (o *Order) Revoke(reason string, now time.Time) bool {
	if o.holding(HoldOperator, "") >= 0 {
		return false
	}
	o.place(Hold{Kind: HoldOperator, At: now, Reason: CleanReason(reason)})
	return true
}

// ApplyRefund applies the refunds of charge as Stripe shows them, read for
// event: refunded of amount (in the currency's smallest unit). It reports
// false, changing nothing, for an event applied before. A full refund the
// last grant did not acknowledge places the refund's hold; a partial refund
// is recorded and access stays. The refunded amount never goes down (a late
// event cannot undo a later refund).
func (o *Order) ApplyRefund(event, charge string, refunded, amount int64, now time.Time) (bool, error) {
	if refunded < 0 || amount < 0 {
		return false, errInvalidRefund
	}
	if o.SawEvent(event) {
		return false, nil
	}
	o.SeeEvent(event)
	o.RefundedAmount = max(o.RefundedAmount, refunded)
	full := amount > 0 && o.RefundedAmount >= amount
	if full && o.RefundedAmount > o.Granted.Refunded && o.holding(HoldRefund, "") < 0 {
		o.place(Hold{Kind: HoldRefund, Ref: charge, Event: event, At: now,
			Reason: fmt.Sprintf("refunded in full (%d of %d)", o.RefundedAmount, amount)})
	}
	return true, nil
}

// ApplyDispute applies d, a dispute as Stripe shows it, read for event. It
// reports false, changing nothing, for an event applied before. An open
// dispute places its hold (access suspended), unless the last grant saw it
// open; won, or an inquiry closed, lifts that hold; lost keeps access
// closed, unless the last grant saw it lost. Other holds are not touched.
func (o *Order) ApplyDispute(event string, d Dispute, now time.Time) bool {
	if o.SawEvent(event) {
		return false
	}
	o.SeeEvent(event)
	o.adoptDispute(d.ID)
	o.recordDispute(d)
	open, lost := o.holding(HoldDispute, d.ID), o.holding(HoldDisputeLost, d.ID)
	switch d.stage() {
	case disputeClosed:
		o.lift(HoldDispute, d.ID)
	case disputeLost:
		o.lift(HoldDispute, d.ID)
		if lost < 0 && !o.Granted.saw(d) {
			o.place(Hold{Kind: HoldDisputeLost, Ref: d.ID, Event: event, At: now, Reason: "the payment was disputed and the dispute lost"})
		}
	default:
		if open < 0 && lost < 0 && !o.Granted.saw(d) {
			o.place(Hold{Kind: HoldDispute, Ref: d.ID, Event: event, At: now, Reason: "the payment is disputed (" + d.Status + ")"})
		}
	}
	return true
}

// recordDispute keeps d's status, the newest MaxDisputes disputes.
func (o *Order) recordDispute(d Dispute) {
	ds := slices.Clone(o.Disputes)
	if i := slices.IndexFunc(ds, func(s Dispute) bool { return s.ID == d.ID }); i >= 0 {
		ds[i] = d
	} else {
		ds = append(ds, d)
	}
	o.Disputes = newest(ds, MaxDisputes)
}

// adoptDispute gives id to the dispute a record kept without its id (see
// LegacyAccess), wherever it appears, when the record knows no dispute id:
// a payment has one dispute in practice, and it is the one Stripe names now.
func (o *Order) adoptDispute(id string) {
	known := func(ds []Dispute) bool { return slices.ContainsFunc(ds, func(d Dispute) bool { return d.ID != "" }) }
	if id == "" || known(o.Disputes) || !slices.ContainsFunc(o.Disputes, func(d Dispute) bool { return d.ID == "" }) {
		return
	}
	o.Disputes = slices.Clone(o.Disputes)
	for i := range o.Disputes {
		if o.Disputes[i].ID == "" {
			o.Disputes[i].ID = id
		}
	}
	o.Granted.Disputes = slices.Clone(o.Granted.Disputes)
	for i := range o.Granted.Disputes {
		if o.Granted.Disputes[i].ID == "" {
			o.Granted.Disputes[i].ID = id
		}
	}
	o.accessHolds = slices.Clone(o.accessHolds)
	for i, h := range o.accessHolds {
		if (h.Kind == HoldDispute || h.Kind == HoldDisputeLost) && h.Ref == "" {
			o.accessHolds[i].Ref = id
		}
	}
}

// Grant lifts every hold that stands, records what it acknowledged (see
// Grant), extends the window to extend from now (or from its current end,
// if later) when extend > 0, and with reset starts every file's download
// count again. It returns the holds it lifted. The window's end is not
// lifted but moved: without extend, an order whose window is over stays
// expired.
func (o *Order) Grant(extend time.Duration, reset bool, now time.Time, window time.Duration) ([]Hold, error) {
	if len(o.Files) == 0 {
		return nil, errInvalidGrantAt
	}
	lifted := o.accessHolds
	o.accessHolds = nil
	o.Granted = Grant{At: now, Refunded: o.RefundedAmount, Disputes: slices.Clone(o.Disputes)}
	if extend > 0 {
		o.accessUntil = later(o.AccessEnds(window), now).Add(extend)
	}
	if reset {
		o.Files = slices.Clone(o.Files)
		for i := range o.Files {
			o.Files[i].Downloads = 0
		}
	}
	return lifted, nil
}

// LegacyAccess is how records written before holds kept access: one cause
// (RevokedBy: "operator", "refund" or "dispute") that each event overwrote,
// FullyRefunded once the charge was refunded in full, and the latest
// dispute's status without its id.
type LegacyAccess struct {
	RevokedBy, RevokeReason string
	RevokedAt               time.Time
	FullyRefunded           bool
	Dispute                 string
}

// Holds reports whether l holds anything to migrate.
func (l LegacyAccess) Holds() bool {
	return l.RevokedBy != "" || l.FullyRefunded || l.Dispute != ""
}

// Migrate sets o's holds, disputes and grant from l, as they would stand
// had o been kept in holds: the cause's hold; beside it the full refund and
// an open or lost dispute, which the old record kept only as flags; and,
// when no cause stood although the charge was refunded in full or a
// dispute was open or lost, a grant that acknowledged them (only a grant
// cleared a cause then). The dispute's id is unknown: the first dispute
// event adopts it.
func (l LegacyAccess) Migrate(o *Order) {
	if l.Dispute != "" {
		o.Disputes = []Dispute{{Status: l.Dispute}}
	}
	disputed := l.Dispute != "" && Dispute{Status: l.Dispute}.stage() != disputeClosed
	if l.RevokedBy == "" {
		if l.FullyRefunded || disputed {
			o.Granted = Grant{Refunded: o.RefundedAmount, Disputes: slices.Clone(o.Disputes)}
		}
		return
	}
	disputeHold := HoldDispute
	if l.Dispute == DisputeLost {
		disputeHold = HoldDisputeLost
	}
	kind := map[string]HoldKind{"operator": HoldOperator, "refund": HoldRefund, "dispute": disputeHold}[l.RevokedBy]
	if kind == "" {
		kind = HoldOperator // an unknown cause: a person lifts it
	}
	o.accessHolds = []Hold{{Kind: kind, At: l.RevokedAt, Reason: l.RevokeReason}}
	if l.FullyRefunded && kind != HoldRefund {
		o.accessHolds = append(o.accessHolds, Hold{Kind: HoldRefund, At: l.RevokedAt, Reason: "refunded in full"})
	}
	if disputed && kind != disputeHold {
		o.accessHolds = append(o.accessHolds, Hold{Kind: disputeHold, At: l.RevokedAt, Reason: "the payment is disputed (" + l.Dispute + ")"})
	}
}

// DescribeHolds lists holds for a reason or a line of output:
// "refund of ch_1 (refunded in full (2000 of 2000)), operator (fraud)".
func DescribeHolds(holds []Hold) string {
	parts := make([]string, len(holds))
	for i, h := range holds {
		parts[i] = fmt.Sprintf("%s (%s)", h.Who(), h.Reason)
	}
	return strings.Join(parts, ", ")
}

// newest returns the last n of s (s itself when it is no longer).
func newest[S ~[]E, E any](s S, n int) S {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
