package order_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

// step is one thing that happens to an order's access.
type step func(t *testing.T, o *order.Order, at time.Time)

// refund applies Stripe's charge ch_1 with refunded of 2000, read for event.
func refund(event string, refunded int64) step {
	return func(t *testing.T, o *order.Order, at time.Time) {
		_, err := o.ApplyRefund(event, "ch_1", refunded, 2000, at)
		require.NoError(t, err)
	}
}

// dispute applies Stripe's dispute id with status, read for event.
func dispute(event, id, status string) step {
	return func(_ *testing.T, o *order.Order, at time.Time) {
		o.ApplyDispute(event, order.Dispute{ID: id, Status: status}, at)
	}
}

func revoke(reason string) step {
	return func(_ *testing.T, o *order.Order, at time.Time) { o.Revoke(reason, at) }
}

func grant() step {
	return func(t *testing.T, o *order.Order, at time.Time) {
		_, err := o.Grant(0, false, at, window)
		require.NoError(t, err)
	}
}

// TestHolds: refunds, disputes and the operator never undo each other. Each
// cause places and lifts only its own hold, each Stripe event is applied
// once, and a grant acknowledges what it saw, so that only something new
// closes access again.
func TestHolds(t *testing.T) {
	const open, ended, suspended = order.AccessOpen, order.AccessRevoked, order.AccessSuspended
	tests := []struct {
		name  string
		steps []step
		want  order.Access
		holds []order.HoldKind
	}{
		{name: "partial refund keeps access", steps: []step{refund("evt_r", 500)}, want: open},
		{name: "full refund revokes", steps: []step{refund("evt_r", 2000)}, want: ended, holds: []order.HoldKind{order.HoldRefund}},
		{name: "two partial refunds adding up revoke", steps: []step{refund("evt_r1", 500), refund("evt_r2", 2000)},
			want: ended, holds: []order.HoldKind{order.HoldRefund}},
		{name: "a late event with a smaller total does not undo", steps: []step{refund("evt_r2", 2000), refund("evt_r1", 500)},
			want: ended, holds: []order.HoldKind{order.HoldRefund}},
		{name: "dispute suspends", steps: []step{dispute("evt_d1", "dp_1", "needs_response")}, want: suspended, holds: []order.HoldKind{order.HoldDispute}},
		{name: "dispute won lifts its hold", steps: []step{dispute("evt_d1", "dp_1", "needs_response"), dispute("evt_d2", "dp_1", order.DisputeWon)}, want: open},
		{name: "inquiry closed lifts its hold", steps: []step{dispute("evt_d1", "du_1", "warning_needs_response"), dispute("evt_d2", "du_1", order.DisputeWarningClosed)}, want: open},
		{name: "dispute lost keeps access closed", steps: []step{dispute("evt_d1", "dp_1", "needs_response"), dispute("evt_d2", "dp_1", order.DisputeLost)},
			want: ended, holds: []order.HoldKind{order.HoldDisputeLost}},
		{name: "closed before created: Stripe's current status is read for both", steps: []step{dispute("evt_d2", "dp_1", order.DisputeWon), dispute("evt_d1", "dp_1", order.DisputeWon)}, want: open},
		{name: "dispute won does not undo a refund", steps: []step{refund("evt_r", 2000), dispute("evt_d1", "dp_1", "needs_response"), dispute("evt_d2", "dp_1", order.DisputeWon)},
			want: ended, holds: []order.HoldKind{order.HoldRefund}},
		{name: "full refund during a dispute won stays revoked", steps: []step{dispute("evt_d1", "dp_1", "needs_response"), refund("evt_r", 2000), dispute("evt_d2", "dp_1", order.DisputeWon)},
			want: ended, holds: []order.HoldKind{order.HoldRefund}},
		{name: "partial refund during a dispute won restores", steps: []step{dispute("evt_d1", "dp_1", "needs_response"), refund("evt_r", 500), dispute("evt_d2", "dp_1", order.DisputeWon)}, want: open},
		{name: "an operator's revoke during an open dispute stands after it is won",
			steps: []step{dispute("evt_d1", "dp_1", "needs_response"), revoke("fraud confirmed"), dispute("evt_d2", "dp_1", order.DisputeWon)},
			want:  ended, holds: []order.HoldKind{order.HoldOperator}},
		{name: "dispute won does not undo an operator", steps: []step{revoke("abuse"), dispute("evt_d1", "dp_1", order.DisputeWon)}, want: ended, holds: []order.HoldKind{order.HoldOperator}},
		{name: "a second revoke keeps the first", steps: []step{revoke("abuse"), revoke("again")}, want: ended, holds: []order.HoldKind{order.HoldOperator}},
		{name: "grant lifts every hold", steps: []step{revoke("abuse"), refund("evt_r", 2000), dispute("evt_d1", "dp_1", "needs_response"), grant()}, want: open},

		{name: "a refund redelivered after a grant changes nothing", steps: []step{refund("evt_r", 2000), grant(), refund("evt_r", 2000)}, want: open},
		{name: "a later event of the refunded charge after a grant changes nothing", steps: []step{refund("evt_r", 2000), grant(), refund("evt_later", 2000)}, want: open},
		{name: "a full refund after a grant that saw a partial one closes access", steps: []step{refund("evt_r1", 500), grant(), refund("evt_r2", 2000)},
			want: ended, holds: []order.HoldKind{order.HoldRefund}},
		{name: "a refund the grant did not see, raced and applied after it, closes access", steps: []step{grant(), refund("evt_r", 2000)},
			want: ended, holds: []order.HoldKind{order.HoldRefund}},
		{name: "a dispute redelivered after a grant changes nothing", steps: []step{dispute("evt_d1", "dp_1", "needs_response"), grant(), dispute("evt_d1", "dp_1", "needs_response")}, want: open},
		{name: "a later event of the same open dispute after a grant changes nothing",
			steps: []step{dispute("evt_d1", "dp_1", "needs_response"), grant(), dispute("evt_d2", "dp_1", "under_review")}, want: open},
		{name: "the dispute lost after a grant that saw it open closes access",
			steps: []step{dispute("evt_d1", "dp_1", "needs_response"), grant(), dispute("evt_d2", "dp_1", order.DisputeLost)},
			want:  ended, holds: []order.HoldKind{order.HoldDisputeLost}},
		{name: "the dispute lost seen by the grant changes nothing when read again",
			steps: []step{dispute("evt_d1", "dp_1", order.DisputeLost), grant(), dispute("evt_d2", "dp_1", order.DisputeLost)}, want: open},
		{name: "a new dispute after a grant suspends access",
			steps: []step{dispute("evt_d1", "dp_1", "needs_response"), grant(), dispute("evt_d2", "dp_2", "needs_response")},
			want:  suspended, holds: []order.HoldKind{order.HoldDispute}},
		{name: "a revoke after a grant closes access", steps: []step{revoke("abuse"), grant(), revoke("abuse again")}, want: ended, holds: []order.HoldKind{order.HoldOperator}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := fulfilled()
			at := paidAt.Add(time.Hour)
			for i, s := range tt.steps {
				s(t, &o, at.Add(time.Duration(i)*time.Minute))
			}
			now := at.Add(time.Hour)
			require.Equal(t, tt.want, o.Access(now, window))
			var kinds []order.HoldKind
			for _, h := range o.HoldsAt(now, window) {
				kinds = append(kinds, h.Kind)
			}
			require.Equal(t, tt.holds, kinds, "%v", o.AccessHolds())
		})
	}
}

func TestHoldsSayWhoWhenAndWhy(t *testing.T) {
	o := fulfilled()
	at := paidAt.Add(time.Hour)
	_, err := o.ApplyRefund("evt_r", "ch_1", 2000, 2000, at)
	require.NoError(t, err)
	o.ApplyDispute("evt_d", order.Dispute{ID: "dp_1", Status: "needs_response"}, at.Add(time.Minute))
	require.True(t, o.Revoke("fraud\r\nconfirmed\x1b[2J \u202eevil", at.Add(2*time.Minute)))
	require.Equal(t, []order.Hold{
		{Kind: order.HoldRefund, Ref: "ch_1", Event: "evt_r", At: at, Reason: "refunded in full (2000 of 2000)"},
		{Kind: order.HoldDispute, Ref: "dp_1", Event: "evt_d", At: at.Add(time.Minute), Reason: "the payment is disputed (needs_response)"},
		{Kind: order.HoldOperator, At: at.Add(2 * time.Minute), Reason: "fraud confirmed[2J evil"},
	}, o.AccessHolds(), "the reason is cleaned of line breaks and control characters")
	require.Equal(t, []string{"refund of ch_1", "dispute dp_1", "operator"}, []string{o.AccessHolds()[0].Who(), o.AccessHolds()[1].Who(), o.AccessHolds()[2].Who()})

	late := paidAt.Add(2 * window)
	lifted, err := o.Grant(0, false, late, window)
	require.NoError(t, err)
	require.Len(t, lifted, 3)
	require.Equal(t, order.Grant{At: late, Refunded: 2000, Disputes: []order.Dispute{{ID: "dp_1", Status: "needs_response"}}}, o.Granted)
	require.Equal(t, []order.Hold{{Kind: order.HoldWindow, At: paidAt.Add(window), Reason: "the download window ended"}}, o.HoldsAt(late, window),
		"a grant without --extend leaves the window's end")
	require.Equal(t, order.AccessExpired, o.Access(late, window))
}

func TestEachEventAppliesOnce(t *testing.T) {
	o := fulfilled()
	at := paidAt.Add(time.Hour)
	applied, err := o.ApplyRefund("evt_r", "ch_1", 2000, 2000, at)
	require.NoError(t, err)
	require.True(t, applied)
	_, err = o.Grant(0, false, at, window)
	require.NoError(t, err)
	before := o
	applied, err = o.ApplyRefund("evt_r", "ch_1", 2000, 2000, at.Add(time.Minute))
	require.NoError(t, err)
	require.False(t, applied)
	require.Equal(t, before, o, "an event applied before changes nothing")
	require.False(t, o.ApplyDispute("evt_r", order.Dispute{ID: "dp_1", Status: "needs_response"}, at))
	_, err = o.ApplyRefund("evt_bad", "ch_1", -1, 2000, at)
	require.Error(t, err)
}

func TestDisputesAreBounded(t *testing.T) {
	o := fulfilled()
	for i := range order.MaxDisputes + 2 {
		o.ApplyDispute(fmt.Sprint("evt_", i), order.Dispute{ID: fmt.Sprint("dp_", i), Status: order.DisputeWon}, paidAt)
	}
	require.Len(t, o.Disputes, order.MaxDisputes)
	require.Equal(t, fmt.Sprint("dp_", order.MaxDisputes+1), o.Disputes[order.MaxDisputes-1].ID)
}

// TestLegacyAccessMigrates: a record written when access had one cause
// reads as the holds it stands for, and behaves as holds from then on.
func TestLegacyAccessMigrates(t *testing.T) {
	at := paidAt.Add(time.Hour)
	tests := []struct {
		name    string
		legacy  order.LegacyAccess
		holds   []order.Hold
		granted order.Grant
		// then is applied after the migration; want is the access after it.
		then step
		want order.Access
	}{
		{name: "revoked by an operator", legacy: order.LegacyAccess{RevokedBy: "operator", RevokeReason: "abuse", RevokedAt: at},
			holds: []order.Hold{{Kind: order.HoldOperator, At: at, Reason: "abuse"}}, want: order.AccessRevoked},
		{name: "refunded in full", legacy: order.LegacyAccess{RevokedBy: "refund", RevokeReason: "refunded in full (2000 of 2000)", RevokedAt: at, FullyRefunded: true},
			holds: []order.Hold{{Kind: order.HoldRefund, At: at, Reason: "refunded in full (2000 of 2000)"}},
			then:  refund("evt_again", 2000), want: order.AccessRevoked},
		{name: "disputed, then won", legacy: order.LegacyAccess{RevokedBy: "dispute", RevokeReason: "the payment is disputed (needs_response)", RevokedAt: at, Dispute: "needs_response"},
			holds: []order.Hold{{Kind: order.HoldDispute, At: at, Reason: "the payment is disputed (needs_response)"}},
			then:  dispute("evt_won", "dp_1", order.DisputeWon), want: order.AccessOpen},
		{name: "dispute lost", legacy: order.LegacyAccess{RevokedBy: "dispute", RevokeReason: "lost", RevokedAt: at, Dispute: order.DisputeLost},
			holds: []order.Hold{{Kind: order.HoldDisputeLost, At: at, Reason: "lost"}}, want: order.AccessRevoked},
		{name: "revoked by an operator, then refunded in full", legacy: order.LegacyAccess{RevokedBy: "operator", RevokeReason: "abuse", RevokedAt: at, FullyRefunded: true},
			holds: []order.Hold{{Kind: order.HoldOperator, At: at, Reason: "abuse"}, {Kind: order.HoldRefund, At: at, Reason: "refunded in full"}}, want: order.AccessRevoked},
		{name: "refund during a dispute", legacy: order.LegacyAccess{RevokedBy: "refund", RevokeReason: "refunded in full (2000 of 2000)", RevokedAt: at, FullyRefunded: true, Dispute: "needs_response"},
			holds: []order.Hold{{Kind: order.HoldRefund, At: at, Reason: "refunded in full (2000 of 2000)"}, {Kind: order.HoldDispute, At: at, Reason: "the payment is disputed (needs_response)"}},
			then:  dispute("evt_won", "dp_1", order.DisputeWon), want: order.AccessRevoked},
		{name: "granted after a full refund: the refund read again changes nothing", legacy: order.LegacyAccess{FullyRefunded: true},
			granted: order.Grant{Refunded: 2000}, then: refund("evt_again", 2000), want: order.AccessOpen},
		{name: "granted during a dispute: lost closes access", legacy: order.LegacyAccess{Dispute: "under_review"},
			granted: order.Grant{Refunded: 2000, Disputes: []order.Dispute{{Status: "under_review"}}}, then: dispute("evt_lost", "dp_1", order.DisputeLost), want: order.AccessRevoked},
		{name: "dispute won", legacy: order.LegacyAccess{Dispute: order.DisputeWon}, want: order.AccessOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := fulfilled()
			o.RefundedAmount = 2000
			if !tt.legacy.FullyRefunded {
				o.RefundedAmount = 0
				if tt.granted.Refunded != 0 {
					o.RefundedAmount = tt.granted.Refunded
				}
			}
			require.True(t, tt.legacy.Holds())
			tt.legacy.Migrate(&o)
			require.Equal(t, tt.holds, o.AccessHolds())
			require.Equal(t, tt.granted, o.Granted)
			if tt.then != nil {
				tt.then(t, &o, at.Add(time.Hour))
			}
			require.Equal(t, tt.want, o.Access(at.Add(2*time.Hour), window))
		})
	}
}
