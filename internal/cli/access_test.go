package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

// TestRevokeAndGrant runs orders show, revoke and grant on orders in
// Azurite: what orders show says of access, what each command changes in
// the ledger, --json, and the exit codes.
func TestRevokeAndGrant(t *testing.T) {
	o := newOps(t, map[string]string{"DOWNLOAD_LIMIT": "3"})
	now := time.Now().UTC().Truncate(time.Second)
	paid := now.Add(-2 * time.Hour)
	file := order.File{Title: "Harbour", Blob: "harbour.jpg", FileName: "harbour.jpg", Size: 5, Downloads: 2,
		DownloadedAt: []time.Time{paid.Add(time.Minute), paid.Add(2 * time.Minute)}}
	o.seed(t,
		order.Restore(order.Snapshot{SessionID: "cs_test_open", State: order.StateMailSent, PaidAt: paid, CreatedAt: paid, UpdatedAt: paid,
			PaymentIntent: "pi_Open", Files: []order.File{file}}),
		order.Restore(order.Snapshot{SessionID: "cs_test_disputed", State: order.StateMailSent, PaidAt: paid, CreatedAt: paid, UpdatedAt: paid,
			AccessHolds: []order.Hold{{Kind: order.HoldDispute, Ref: "dp_1", Event: "evt_d1", At: paid.Add(time.Hour), Reason: "the payment is disputed (needs_response)"}},
			Disputes:    []order.Dispute{{ID: "dp_1", Status: "needs_response"}}, Files: []order.File{file}}),
		order.Restore(order.Snapshot{SessionID: "cs_test_old", State: order.StateMailSent, PaidAt: now.Add(-800 * time.Hour), CreatedAt: now.Add(-800 * time.Hour),
			UpdatedAt: paid, Files: []order.File{file}}),
		order.Restore(order.Snapshot{SessionID: "cs_test_unpaid", State: order.StateAwaitingPayment, CreatedAt: paid, UpdatedAt: paid}),
	)

	tests := []struct {
		name string
		args []string
		code int
		want []string // in this order
	}{
		{name: "show: open, the window's end, downloads with times", args: []string{"orders", "show", "cs_test_open"},
			want: []string{"Access", "open", "Access ends", stamp(paid.Add(720 * time.Hour)), "Payment", "pi_Open",
				"harbour.jpg", "2 downloads, 1 left: " + stamp(paid.Add(time.Minute)) + ", " + stamp(paid.Add(2*time.Minute))}},
		{name: "show: suspended by a dispute", args: []string{"orders", "show", "cs_test_disputed"},
			want: []string{"Access", "suspended", "Hold", "dispute dp_1 since " + stamp(paid.Add(time.Hour)) + ": the payment is disputed (needs_response)",
				"Dispute", "dp_1 needs_response"}},
		{name: "show: expired", args: []string{"orders", "show", "cs_test_old"}, want: []string{"Access", "expired", "Hold", "window since", "the download window ended"}},
		{name: "show: pending", args: []string{"orders", "show", "cs_test_unpaid"}, want: []string{"Access", "pending"}},
		{name: "revoke", args: []string{"revoke", "cs_test_open", "--reason", "shared on a forum"},
			want: []string{"revoked access to cs_test_open: shared on a forum"}},
		{name: "revoke again keeps the first", args: []string{"revoke", "cs_test_open", "--reason", "again"},
			want: []string{"already revoked by an operator (shared on a forum)"}},
		{name: "show: revoked", args: []string{"orders", "show", "cs_test_open"},
			want: []string{"Access", "revoked", "Hold", "operator since", "shared on a forum"}},
		{name: "revoke during a dispute places the operator's hold beside it", args: []string{"revoke", "cs_test_disputed", "--reason", "fraud\r\nconfirmed"},
			want: []string{"revoked access to cs_test_disputed: fraud confirmed", "also closed by dispute dp_1"}},
		{name: "show: both holds", args: []string{"orders", "show", "cs_test_disputed"},
			want: []string{"Access", "revoked", "Hold", "dispute dp_1", "Hold", "operator since", "fraud confirmed"}},
		{name: "revoke without a reason", args: []string{"revoke", "cs_test_open"}, code: ExitUsage},
		{name: "revoke of an unknown order without a reason is a usage error first", args: []string{"revoke", "cs_test_unknown"}, code: ExitUsage},
		{name: "revoke of an unknown order", args: []string{"revoke", "cs_test_unknown", "--reason", "x"}, code: ExitNotFound},
		{name: "grant lifts every hold", args: []string{"grant", "cs_test_disputed"},
			want: []string{"granted access to cs_test_disputed until " + stamp(paid.Add(720*time.Hour)), "lifted: dispute dp_1", "operator (fraud confirmed)"}},
		{name: "show: what the grant acknowledged", args: []string{"orders", "show", "cs_test_disputed"},
			want: []string{"Access", "open", "Granted", "acknowledging refunded 0, dispute dp_1 needs_response"}},
		{name: "grant of an expired order without --extend says so", args: []string{"grant", "cs_test_old"},
			want: []string{"granted access to cs_test_old", "access stays expired", "grant --extend reopens it"}},
		{name: "grant extends and resets an expired order", args: []string{"grant", "cs_test_old", "--extend", "48h", "--reset-downloads"},
			want: []string{"granted access to cs_test_old until", "download counts reset"}},
		{name: "grant of an order without files", args: []string{"grant", "cs_test_unpaid"}, code: ExitFailure},
		{name: "grant with a negative extension", args: []string{"grant", "cs_test_old", "--extend", "-1h"}, code: ExitUsage},
		{name: "grant of an unknown order", args: []string{"grant", "cs_test_unknown"}, code: ExitNotFound},
		{name: "grant of something that is no session", args: []string{"grant", "pi_123"}, code: ExitUsage},
		{name: "revoke --help", args: []string{"revoke", "--help"}},
		{name: "grant --help", args: []string{"grant", "--help"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, err := o.run(t, tt.args...)
			require.Equal(t, tt.code, exitCode(err), "err: %v\nstderr: %s", err, stderr)
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				require.GreaterOrEqual(t, i, 0, "want %q after what came before in:\n%s", w, out)
				rest = rest[i+len(w):]
			}
		})
	}

	rec := o.record(t, "cs_test_open")
	require.Len(t, rec.AccessHolds(), 1)
	require.Equal(t, order.HoldOperator, rec.AccessHolds()[0].Kind)
	require.Equal(t, "shared on a forum", rec.AccessHolds()[0].Reason)
	rec = o.record(t, "cs_test_old")
	require.Equal(t, order.AccessOpen, rec.Access(time.Now(), 720*time.Hour))
	require.Zero(t, rec.Files[0].Downloads)
	require.WithinDuration(t, time.Now().Add(48*time.Hour), rec.AccessUntil(), time.Minute)
	require.Empty(t, o.record(t, "cs_test_disputed").AccessHolds())

	t.Run("--help documents the flags", func(t *testing.T) {
		_, stderr, err := o.run(t, "grant", "--help")
		require.NoError(t, err)
		require.Contains(t, stderr, "-reset-downloads")
		require.Contains(t, stderr, "-extend")
		_, stderr, err = o.run(t, "revoke", "--help")
		require.NoError(t, err)
		require.Contains(t, stderr, "-reason")
	})
	t.Run("JSON", func(t *testing.T) {
		out, _, err := o.run(t, "grant", "cs_test_open", "--json")
		require.NoError(t, err)
		var c accessChange
		require.NoError(t, json.Unmarshal([]byte(out), &c))
		require.Len(t, c.Lifted, 1)
		require.Equal(t, "operator", c.Lifted[0].Kind)
		require.Equal(t, "shared on a forum", c.Lifted[0].Reason)
		require.Equal(t, "open", c.Access.State)

		out, _, err = o.run(t, "orders", "show", "cs_test_open", "--json")
		require.NoError(t, err)
		var v orderView
		require.NoError(t, json.Unmarshal([]byte(out), &v))
		require.NotNil(t, v.Access)
		require.Equal(t, "open", v.Access.State)
		require.Equal(t, paid.Add(720*time.Hour), *v.Access.Ends)
		require.Len(t, v.Access.Files, 1)
		require.Equal(t, 2, v.Access.Files[0].Downloads)
		require.Equal(t, 1, v.Access.Files[0].Left)
		require.Equal(t, []time.Time{paid.Add(time.Minute), paid.Add(2 * time.Minute)}, v.Access.Files[0].DownloadedAt)
	})
}

// TestRevokeCleansTheReason: a reason with line breaks or control
// characters is stored and printed cleaned, as customer names are, so it
// cannot forge a line of output.
func TestRevokeCleansTheReason(t *testing.T) {
	o := newOps(t, nil)
	now := time.Now().UTC()
	o.seed(t, order.Restore(order.Snapshot{SessionID: "cs_test_reason", State: order.StateMailSent, PaidAt: now, CreatedAt: now,
		Files: []order.File{{Title: "Harbour", Blob: "harbour.jpg", FileName: "harbour.jpg", Size: 5}}}))
	out, stderr, err := o.run(t, "revoke", "cs_test_reason", "--reason", "chargeback\r\nState\tmail_sent\x1b[2J\u202e")
	require.NoError(t, err, stderr)
	require.Equal(t, "revoked access to cs_test_reason: chargeback State mail_sent[2J\n", out)
	out, stderr, err = o.run(t, "orders", "show", "cs_test_reason")
	require.NoError(t, err, stderr)
	require.Contains(t, out, "chargeback State mail_sent[2J")
	require.NotContains(t, out, "\r")
	require.NotContains(t, out, "\x1b")
	require.NotContains(t, out, "\nState\tmail_sent")
}
