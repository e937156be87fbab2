package operator

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

func TestAccess(t *testing.T) {
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	paid := now.Add(-40 * 24 * time.Hour) // the 30-day window is over
	window := 720 * time.Hour
	fulfilled := func(edit func(o *order.Order)) order.Order {
		o := order.Restore(order.Snapshot{SessionID: "cs_test_access", State: order.StateMailSent, PaidAt: paid, CreatedAt: paid,
			Files: []order.File{{Title: "Harbour", Blob: "harbour.jpg", FileName: "harbour.jpg", Size: 5, Downloads: 7}}})
		if edit != nil {
			edit(&o)
		}
		return o
	}
	tests := []struct {
		name    string
		rec     order.Order
		do      func(a *Access, rec order.Order) (order.Order, error)
		wantErr error
		check   func(t *testing.T, o order.Order)
	}{
		{name: "revoke", rec: fulfilled(nil),
			do: func(a *Access, rec order.Order) (order.Order, error) {
				o, changed, err := a.Revoke(context.Background(), rec, " shared on a forum ")
				require.True(t, changed)
				return o, err
			},
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, []order.Hold{{Kind: order.HoldOperator, At: now, Reason: "shared on a forum"}}, o.AccessHolds())
			}},
		{name: "revoke cleans the reason", rec: fulfilled(nil),
			do: func(a *Access, rec order.Order) (order.Order, error) {
				o, _, err := a.Revoke(context.Background(), rec, "line one\r\nFAKE: line two\x1b[31m")
				return o, err
			},
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, "line one FAKE: line two[31m", o.AccessHolds()[0].Reason)
			}},
		{name: "revoke beside a refund's hold", rec: fulfilled(func(o *order.Order) { _, _ = o.ApplyRefund("evt_r", "ch_1", 5, 5, paid) }),
			do: func(a *Access, rec order.Order) (order.Order, error) {
				o, changed, err := a.Revoke(context.Background(), rec, "abuse")
				require.True(t, changed)
				return o, err
			},
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, []order.HoldKind{order.HoldRefund, order.HoldOperator}, []order.HoldKind{o.AccessHolds()[0].Kind, o.AccessHolds()[1].Kind})
			}},
		{name: "revoke again keeps the first", rec: fulfilled(func(o *order.Order) { o.Revoke("abuse", paid) }),
			do: func(a *Access, rec order.Order) (order.Order, error) {
				o, changed, err := a.Revoke(context.Background(), rec, "again")
				require.False(t, changed)
				return o, err
			},
			check: func(t *testing.T, o order.Order) { require.Equal(t, "abuse", o.AccessHolds()[0].Reason) }},
		{name: "revoke without a reason", rec: fulfilled(nil), wantErr: ErrNoReason,
			do: func(a *Access, rec order.Order) (order.Order, error) {
				o, _, err := a.Revoke(context.Background(), rec, "  ")
				return o, err
			}},
		{name: "revoke with a reason too long", rec: fulfilled(nil),
			do: func(a *Access, rec order.Order) (order.Order, error) {
				o, _, err := a.Revoke(context.Background(), rec, strings.Repeat("x", order.MaxReasonBytes+1))
				require.ErrorContains(t, err, "at most 500")
				return o, nil
			},
			check: func(t *testing.T, o order.Order) { require.Empty(t, o.AccessHolds()) }},
		{name: "grant lifts a refund, extends from now and resets", rec: fulfilled(func(o *order.Order) { _, _ = o.ApplyRefund("evt_r", "ch_1", 5, 5, paid) }),
			do: func(a *Access, rec order.Order) (order.Order, error) {
				o, lifted, err := a.Grant(context.Background(), rec, 72*time.Hour, true)
				require.Len(t, lifted, 1)
				require.Equal(t, order.HoldRefund, lifted[0].Kind)
				return o, err
			},
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, order.AccessOpen, o.Access(now, window))
				require.Equal(t, now.Add(72*time.Hour), o.AccessEnds(window))
				require.Zero(t, o.Files[0].Downloads)
			}},
		{name: "grant without extension leaves the window", rec: fulfilled(func(o *order.Order) { o.PaidAt = now.Add(-time.Hour) }),
			do: func(a *Access, rec order.Order) (order.Order, error) {
				o, lifted, err := a.Grant(context.Background(), rec, 0, false)
				require.Empty(t, lifted)
				return o, err
			},
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, now.Add(-time.Hour).Add(window), o.AccessEnds(window))
				require.Equal(t, 7, o.Files[0].Downloads)
			}},
		{name: "grant on an order without files", rec: order.Restore(order.Snapshot{SessionID: "cs_test_access", State: order.StateAwaitingPayment}), wantErr: ErrNotFulfilled,
			do: func(a *Access, rec order.Order) (order.Order, error) {
				o, _, err := a.Grant(context.Background(), rec, time.Hour, false)
				return o, err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := newRecords(tt.rec)
			a := NewAccess(recs, window, func() time.Time { return now })
			before := recs.get(tt.rec.SessionID)
			o, err := tt.do(a, before)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				require.Equal(t, before.ETag, recs.get(tt.rec.SessionID).ETag, "nothing is written")
				return
			}
			require.NoError(t, err)
			stored := recs.get(tt.rec.SessionID)
			require.Equal(t, stored.ETag, o.ETag, "the order returned is the one stored")
			if tt.check != nil {
				tt.check(t, stored)
			}
		})
	}
}

func TestAccessRefusesUnknownOrders(t *testing.T) {
	recs := newRecords()
	a := NewAccess(recs, time.Hour, time.Now)
	_, _, err := a.Revoke(context.Background(), order.Order{SessionID: "cs_test_none"}, "x")
	require.ErrorIs(t, err, order.ErrNotFound)
	_, ok := recs.Lookup("cs_test_none")
	require.False(t, ok, "no record is created")
}

func TestAccessKeepsAConcurrentRefund(t *testing.T) {
	rec := order.Restore(order.Snapshot{SessionID: "cs_test_race", State: order.StateMailSent, PaidAt: time.Now(), Files: []order.File{{Blob: "a.jpg"}}})
	recs := newRecords(rec)
	stale := recs.get("cs_test_race")
	_, err := order.Mutate(context.Background(), recs, "cs_test_race", time.Now(), func(o *order.Order) error {
		_, err := o.ApplyRefund("evt_r", "ch_1", 100, 100, time.Now())
		return err
	})
	require.NoError(t, err)
	o, lifted, err := NewAccess(recs, time.Hour, time.Now).Grant(context.Background(), stale, time.Hour, false)
	require.NoError(t, err)
	require.Equal(t, int64(100), o.RefundedAmount, "the grant re-read the record the refund changed")
	require.Len(t, lifted, 1, "and lifted the refund it saw")
	require.Equal(t, int64(100), o.Granted.Refunded, "which it acknowledged")
}
