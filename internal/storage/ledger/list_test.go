package ledger

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

func TestFilterOData(t *testing.T) {
	since := time.Date(2025, 6, 1, 14, 30, 45, 123456789, time.FixedZone("CEST", 2*60*60))
	const sinceOData = "(UpdatedAt ge datetime'2025-06-01T12:30:45.1234567Z' or CreatedAt ge datetime'2025-06-01T12:30:45.1234567Z')"
	tests := []struct {
		name string
		f    order.Filter
		want string
	}{
		{name: "everything", want: "RowKey eq 'order'"},
		{name: "state", f: order.Filter{State: order.StateMailSent}, want: "RowKey eq 'order' and State eq 'mail_sent'"},
		{name: "quotes are doubled", f: order.Filter{State: "x' or 'a' eq 'a"}, want: "RowKey eq 'order' and State eq 'x'' or ''a'' eq ''a'"},
		{name: "since in UTC to the tick", f: order.Filter{Since: since}, want: "RowKey eq 'order' and " + sinceOData},
		{name: "email lower-cased", f: order.Filter{Email: " Ann.O'Neil@Example.com "}, want: "RowKey eq 'order' and CustomerEmailLower eq 'ann.o''neil@example.com'"},
		{name: "all of them, and no limit", f: order.Filter{State: order.StateReceived, Since: since, Email: "a@b.c", Limit: 3},
			want: "RowKey eq 'order' and State eq 'received' and " + sinceOData + " and CustomerEmailLower eq 'a@b.c'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, odata(tc.f))
		})
	}
}

func TestList(t *testing.T) {
	l, acct := startLedger(t)
	base := time.Date(2025, 6, 1, 12, 0, 0, 123456700, time.UTC)
	const tick = Resolution
	records := map[string]order.Order{
		// A tick before base: Azurite's filter, to the millisecond, lets it
		// through when Since is base; List must still leave it out.
		"cs_test_1": order.Restore(order.Snapshot{State: "odd'state", CustomerEmail: "bob@example.com", CreatedAt: base.Add(-time.Hour), UpdatedAt: base.Add(-tick)}),
		"cs_test_2": order.Restore(order.Snapshot{State: order.StateMailSent, CustomerEmail: "ann@example.com", CreatedAt: base.Add(-2 * time.Hour), UpdatedAt: base.Add(-time.Hour)}),
		"cs_test_3": order.Restore(order.Snapshot{State: order.StateNeedsAttention, CustomerEmail: "Ann@Example.COM", CreatedAt: base.Add(-2 * time.Hour), UpdatedAt: base}),
		"cs_test_4": order.Restore(order.Snapshot{State: order.StateReceived, CustomerEmail: "o'brien@example.com", CreatedAt: base.Add(tick)}),
		"cs_test_5": order.Restore(order.Snapshot{State: order.StateNeedsAttention, CreatedAt: base.Add(-3 * time.Hour), UpdatedAt: base.Add(time.Hour)}),
		"cs_test_6": order.Restore(order.Snapshot{State: order.StateMailSent, CustomerEmail: "carol@example.com", CreatedAt: base.Add(-3 * time.Hour), UpdatedAt: base.Add(-3 * time.Hour)}),
	}
	for _, id := range []string{"cs_test_4", "cs_test_1", "cs_test_6", "cs_test_3", "cs_test_5", "cs_test_2"} {
		o := records[id]
		o.SessionID = id
		_, err := l.Create(t.Context(), o)
		require.NoError(t, err)
	}

	tests := []struct {
		name string
		f    order.Filter
		want []string
	}{
		{name: "everything, by session id", want: []string{"cs_test_1", "cs_test_2", "cs_test_3", "cs_test_4", "cs_test_5", "cs_test_6"}},
		{name: "state", f: order.Filter{State: order.StateNeedsAttention}, want: []string{"cs_test_3", "cs_test_5"}},
		{name: "state with a quote", f: order.Filter{State: "odd'state"}, want: []string{"cs_test_1"}},
		{name: "a quote cannot widen the filter", f: order.Filter{State: "x' or State ne 'x"}},
		{name: "unknown state", f: order.Filter{State: "mail-sent"}},
		{name: "email in any case", f: order.Filter{Email: "ANN@example.com"}, want: []string{"cs_test_2", "cs_test_3"}},
		{name: "email with a quote", f: order.Filter{Email: "O'Brien@Example.com"}, want: []string{"cs_test_4"}},
		{name: "since is inclusive, by UpdatedAt or CreatedAt", f: order.Filter{Since: base}, want: []string{"cs_test_3", "cs_test_4", "cs_test_5"}},
		{name: "since a tick later", f: order.Filter{Since: base.Add(tick)}, want: []string{"cs_test_4", "cs_test_5"}},
		{name: "since under a tick later", f: order.Filter{Since: base.Add(time.Nanosecond)}, want: []string{"cs_test_4", "cs_test_5"}},
		{name: "since in another zone", f: order.Filter{Since: base.In(time.FixedZone("EST", -5*60*60))}, want: []string{"cs_test_3", "cs_test_4", "cs_test_5"}},
		{name: "state and since", f: order.Filter{State: order.StateNeedsAttention, Since: base.Add(time.Nanosecond)}, want: []string{"cs_test_5"}},
		{name: "state and email", f: order.Filter{State: order.StateMailSent, Email: "ann@EXAMPLE.com"}, want: []string{"cs_test_2"}},
		{name: "limit", f: order.Filter{Limit: 2}, want: []string{"cs_test_1", "cs_test_2"}},
		{name: "limit past a record only the service let through", f: order.Filter{Since: base, Limit: 1}, want: []string{"cs_test_3"}},
		{name: "limit over the maximum", f: order.Filter{Limit: MaxList + 1}, want: []string{"cs_test_1", "cs_test_2", "cs_test_3", "cs_test_4", "cs_test_5", "cs_test_6"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := l.List(t.Context(), tc.f)
			require.NoError(t, err)
			var ids []string
			for _, o := range got {
				ids = append(ids, o.SessionID)
			}
			require.Equal(t, tc.want, ids)
		})
	}

	t.Run("records as Get reads them", func(t *testing.T) {
		got, err := l.List(t.Context(), order.Filter{Email: "o'brien@example.com"})
		require.NoError(t, err)
		require.Len(t, got, 1)
		want, err := l.Get(t.Context(), "cs_test_4")
		require.NoError(t, err)
		require.Equal(t, want, got[0])
	})

	t.Run("missing table", func(t *testing.T) {
		missing, err := New(acct, "missing")
		require.NoError(t, err)
		_, err = missing.List(t.Context(), order.Filter{})
		require.ErrorContains(t, err, "table missing does not exist")
	})
}
