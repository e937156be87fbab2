package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

func TestOrders(t *testing.T) {
	o := newOps(t, nil)
	now := time.Now().UTC().Truncate(time.Second)
	o.seed(t,
		order.Order{SessionID: "cs_test_sent", State: order.StateMailSent, CustomerEmail: "Jane@Example.com", Items: 1,
			EventIDs: []string{"evt_1"}, MailKind: order.MailDownloadLinks, MailGeneration: 1, SentGeneration: 1,
			OperationID: "op-4711", Mail: downloadMail(t, "cs_test_sent", 1, now.Add(24*time.Hour)),
			CreatedAt: now.Add(-3 * time.Hour), PaidAt: now.Add(-3 * time.Hour), LinksReadyAt: now.Add(-3 * time.Hour),
			MailSentAt: now.Add(-2 * time.Hour), UpdatedAt: now.Add(-2 * time.Hour)},
		order.Order{SessionID: "cs_test_broken", State: order.StateNeedsAttention, CustomerEmail: "bob@example.com",
			Reason: `original "a.jpg" is not in container originals`, CreatedAt: now.Add(-time.Hour), AttentionAt: now.Add(-time.Hour),
			UpdatedAt: now.Add(-time.Hour)},
		order.Order{SessionID: "cs_test_retrying", State: order.StateReceived, LastError: "stripe answered 500", Attempts: 2,
			CreatedAt: now.Add(-time.Minute), UpdatedAt: now.Add(-time.Minute)},
		order.Order{SessionID: "cs_test_lastweek", State: order.StateMailSent, CreatedAt: now.Add(-7 * 24 * time.Hour),
			UpdatedAt: now.Add(-7 * 24 * time.Hour)},
	)

	tests := []struct {
		name    string
		args    []string
		code    int
		want    []string // in this order
		notWant []string
	}{
		{name: "list: the window, newest first", args: []string{"orders", "list"},
			want:    []string{"SESSION", "cs_test_retrying", "stripe answered 500", "cs_test_broken", "needs_attention", "cs_test_sent", "1/1", "3 orders"},
			notWant: []string{"cs_test_lastweek"}},
		{name: "list by state", args: []string{"orders", "list", "--status", "needs_attention"},
			want: []string{"cs_test_broken", "1 order"}, notWant: []string{"cs_test_sent", "cs_test_retrying"}},
		{name: "list by email, any case", args: []string{"orders", "list", "--email", "jane@example.COM"},
			want: []string{"cs_test_sent"}, notWant: []string{"cs_test_broken"}},
		{name: "list all time, limited", args: []string{"orders", "list", "--since", "0", "--limit", "2"},
			want: []string{"cs_test_retrying", "cs_test_broken", "(the newest 2 of 4"}, notWant: []string{"cs_test_lastweek"}},
		{name: "list with nothing to show", args: []string{"orders", "list", "--status", "payment_failed"}, want: []string{"no orders match"}},
		{name: "show", args: []string{"orders", "show", "cs_test_sent"},
			want: []string{"State", "mail_sent", "Jane@Example.com", "download_links: generation 1 queued, 1 sent", "op-4711", "evt_1",
				"Paid", stamp(now.Add(-3 * time.Hour)), "Mail sent", stamp(now.Add(-2 * time.Hour)),
				"harbour.jpg", "https://acct.blob.core.windows.net/originals/harbour.jpg?REDACTED", "expires " + stamp(now.Add(24*time.Hour))},
			notWant: []string{"SECRET"}},
		{name: "show the last error", args: []string{"orders", "show", "--local", "cs_test_retrying"}, want: []string{"stripe answered 500 (2 attempts)"}},
		{name: "show the reason", args: []string{"orders", "show", "cs_test_broken"}, want: []string{"needs_attention", `original "a.jpg" is not in container originals`}},
		{name: "unknown session", args: []string{"orders", "show", "cs_test_unknown"}, code: ExitNotFound},
		{name: "not a session id", args: []string{"orders", "show", "pi_123"}, code: ExitUsage},
		{name: "two sessions", args: []string{"orders", "show", "cs_test_sent", "cs_test_broken"}, code: ExitUsage},
		{name: "unknown state", args: []string{"orders", "list", "--status", "shipped"}, code: ExitUsage},
		{name: "unknown sub-command", args: []string{"orders", "delete"}, code: ExitUsage},
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
			for _, w := range tt.notWant {
				require.NotContains(t, out, w)
			}
		})
	}

	t.Run("unknown session says so", func(t *testing.T) {
		_, _, err := o.run(t, "orders", "show", "cs_test_unknown")
		require.ErrorContains(t, err, "has no order for session cs_test_unknown")
	})
	t.Run("list as JSON", func(t *testing.T) {
		out, _, err := o.run(t, "orders", "list", "--json")
		require.NoError(t, err)
		var got []orderView
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		require.Len(t, got, 3)
		require.Equal(t, "cs_test_retrying", got[0].SessionID)
		require.Equal(t, 2, got[0].Attempts)
		require.Nil(t, got[2].Mail, "list leaves the mail out")
	})
	t.Run("show as JSON", func(t *testing.T) {
		out, _, err := o.run(t, "orders", "show", "cs_test_sent", "--json")
		require.NoError(t, err)
		require.NotContains(t, out, "SECRET")
		var got orderView
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		require.Equal(t, "op-4711", got.OperationID)
		require.Equal(t, now.Add(-2*time.Hour), *got.MailSentAt)
		require.NotNil(t, got.Mail)
		require.Equal(t, order.MailKey("cs_test_sent", order.MailDownloadLinks, 1), got.Mail.Key)
		require.Equal(t, "https://acct.blob.core.windows.net/originals/harbour.jpg?REDACTED", got.Mail.Links[0].URL)
	})
}

// TestOrdersHeld: an order held by a refused setting reads "held" in
// orders list, with its next attempt and the refusal, --status held lists
// the held ones whatever their state, and orders show says so.
func TestOrdersHeld(t *testing.T) {
	o := newOps(t, nil)
	now := time.Now().UTC().Truncate(time.Second)
	next := now.Add(8 * time.Second)
	o.seed(t,
		order.Order{SessionID: "cs_test_held", State: order.StateReceived, Holds: 4, HeldUntil: next,
			LastError: "Stripe refused STRIPE_API_KEY: stripe answered 401", CreatedAt: now.Add(-time.Minute), UpdatedAt: now},
		order.Order{SessionID: "cs_test_retrying", State: order.StateReceived, LastError: "stripe answered 500", Attempts: 2,
			CreatedAt: now.Add(-2 * time.Minute), UpdatedAt: now.Add(-2 * time.Minute)},
	)
	tests := []struct {
		name    string
		args    []string
		want    []string // in this order
		notWant []string
	}{
		{name: "list shows held", args: []string{"orders", "list"},
			want: []string{"cs_test_held", "held", "next attempt " + stamp(next) + ": Stripe refused", "cs_test_retrying", "received"}},
		{name: "list only the held", args: []string{"orders", "list", "--status", "held"},
			want: []string{"cs_test_held", "1 order"}, notWant: []string{"cs_test_retrying"}},
		{name: "show", args: []string{"orders", "show", "cs_test_held"},
			want: []string{"State", "received", "Last error", "Stripe refused STRIPE_API_KEY", "Held", "4 times in a row", "next attempt " + stamp(next)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, err := o.run(t, tt.args...)
			require.NoError(t, err, stderr)
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				require.GreaterOrEqual(t, i, 0, "want %q after what came before in:\n%s", w, out)
				rest = rest[i+len(w):]
			}
			for _, w := range tt.notWant {
				require.NotContains(t, out, w)
			}
		})
	}
	t.Run("list as JSON keeps the state", func(t *testing.T) {
		out, _, err := o.run(t, "orders", "list", "--status", "held", "--json")
		require.NoError(t, err)
		var got []orderView
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		require.Len(t, got, 1)
		require.Equal(t, "received", got[0].State)
		require.Equal(t, 4, got[0].Holds)
		require.Equal(t, next, *got[0].HeldUntil)
	})
}
