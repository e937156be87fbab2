package order_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
)

var (
	paidAt = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	window = 720 * time.Hour
)

func fulfilled() order.Order {
	return order.Restore(order.Snapshot{
		SessionID: "cs_test_access", State: order.StateMailSent, PaidAt: paidAt,
		Files: []order.File{{Title: "Harbour", Blob: "harbour.jpg", FileName: "harbour.jpg", Size: 5}},
	})
}

func TestRecordDownloadEntitlement(t *testing.T) {
	inside := paidAt.Add(time.Hour)
	tests := []struct {
		name  string
		edit  func(o *order.Order)
		now   time.Time
		file  int
		limit int
		want  error
	}{
		{name: "fulfilled, first download", now: inside},
		{name: "unlimited", limit: 0, edit: func(o *order.Order) { o.Files[0].Downloads = 1000 }, now: inside},
		{name: "last download under the limit", limit: 3, edit: func(o *order.Order) { o.Files[0].Downloads = 2 }, now: inside},
		{name: "limit reached", limit: 3, edit: func(o *order.Order) { o.Files[0].Downloads = 3 }, now: inside, want: order.ErrLimitReached},
		{name: "window over", now: paidAt.Add(window), want: order.ErrAccessExpired},
		{name: "window extended", edit: func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.AccessUntil = paidAt.Add(2 * window) })
		}, now: paidAt.Add(window)},
		{name: "refunded", edit: func(o *order.Order) { _, _ = o.ApplyRefund("evt_r", "ch_1", 5, 5, inside) }, now: inside, want: order.ErrAccessRevoked},
		{name: "revoked beats expired", edit: func(o *order.Order) { o.Revoke("x", inside) }, now: paidAt.Add(2 * window), want: order.ErrAccessRevoked},
		{name: "payment failed", edit: func(o *order.Order) { o.PaymentFailed(time.Time{}); o.Files, o.PaidAt = nil, time.Time{} }, now: inside, want: order.ErrPaymentFailed},
		{name: "awaiting payment", edit: func(o *order.Order) {
			*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State, s.Files, s.PaidAt = order.StateAwaitingPayment, nil, time.Time{} })
		}, now: inside, want: order.ErrAccessPending},
		{name: "no such file", file: 1, now: inside, want: order.ErrNoSuchFile},
		{name: "negative file", file: -1, now: inside, want: order.ErrNoSuchFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := fulfilled()
			if tt.edit != nil {
				tt.edit(&o)
			}
			before := 0
			if tt.file >= 0 && tt.file < len(o.Files) {
				before = o.Files[tt.file].Downloads
			}
			err := o.RecordDownload(tt.file, tt.now, window, tt.limit)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				if tt.file >= 0 && tt.file < len(o.Files) {
					require.Equal(t, before, o.Files[tt.file].Downloads, "a refused download is not counted")
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, before+1, o.Files[tt.file].Downloads)
			require.Equal(t, tt.now, o.Files[tt.file].DownloadedAt[len(o.Files[tt.file].DownloadedAt)-1])
		})
	}
}

func TestDownloadTimesAreBounded(t *testing.T) {
	o := fulfilled()
	for i := range order.MaxDownloadTimes + 5 {
		require.NoError(t, o.RecordDownload(0, paidAt.Add(time.Duration(i)*time.Minute), window, 0))
	}
	require.Len(t, o.Files[0].DownloadedAt, order.MaxDownloadTimes)
	require.Equal(t, order.MaxDownloadTimes+5, o.Files[0].Downloads)
	require.Equal(t, paidAt.Add(time.Duration(order.MaxDownloadTimes+4)*time.Minute), o.Files[0].DownloadedAt[order.MaxDownloadTimes-1])
}

func TestRecordClickCountsOnce(t *testing.T) {
	at := paidAt.Add(time.Hour)
	tests := []struct {
		name   string
		clicks []string
		limit  int
		want   []error
		count  int
	}{
		{name: "a click recorded again", clicks: []string{"a", "a"}, want: []error{nil, order.ErrClickRecorded}, count: 1},
		{name: "two clicks", clicks: []string{"a", "b"}, want: []error{nil, nil}, count: 2},
		{name: "the last download, then its retry", clicks: []string{"a", "a"}, limit: 1, want: []error{nil, order.ErrClickRecorded}, count: 1},
		{name: "the last download, then another click", clicks: []string{"a", "b"}, limit: 1, want: []error{nil, order.ErrLimitReached}, count: 1},
		{name: "no click id counts every time", clicks: []string{"", ""}, want: []error{nil, nil}, count: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := fulfilled()
			for i, c := range tt.clicks {
				err := o.RecordClick(0, c, at, window, tt.limit)
				if tt.want[i] == nil {
					require.NoError(t, err)
				} else {
					require.ErrorIs(t, err, tt.want[i])
				}
			}
			require.Equal(t, tt.count, o.Files[0].Downloads)
		})
	}
}

func TestClicksAreBounded(t *testing.T) {
	o := fulfilled()
	for i := range order.MaxClicks + 3 {
		require.NoError(t, o.RecordClick(0, fmt.Sprint("click-", i), paidAt.Add(time.Minute), window, 0))
	}
	require.Len(t, o.Files[0].Clicks, order.MaxClicks)
	require.Equal(t, fmt.Sprint("click-", order.MaxClicks+2), o.Files[0].Clicks[order.MaxClicks-1])
	require.Equal(t, order.MaxClicks+3, o.Files[0].Downloads)
}

func TestGrantExtendsAndResets(t *testing.T) {
	o := fulfilled()
	o.Files[0].Downloads = 10
	late := paidAt.Add(2 * window)
	require.Equal(t, order.AccessExpired, o.Access(late, window))
	_, err := o.Grant(24*time.Hour, true, late, window)
	require.NoError(t, err)
	require.Equal(t, late.Add(24*time.Hour), o.AccessEnds(window))
	require.Equal(t, order.AccessOpen, o.Access(late, window))
	require.Zero(t, o.Files[0].Downloads)

	var unfulfilled order.Order
	_, err = unfulfilled.Grant(time.Hour, false, late, window)
	require.Error(t, err)
}

func TestRecordFilesKeepsCounts(t *testing.T) {
	o := fulfilled()
	o.Files[0].Downloads = 4
	o.RecordFiles([]order.File{{Blob: "new.jpg"}, {Blob: "harbour.jpg", Title: "Harbour (new title)"}})
	require.Equal(t, []order.File{{Blob: "new.jpg"}, {Blob: "harbour.jpg", Title: "Harbour (new title)", Downloads: 4}}, o.Files)
}
