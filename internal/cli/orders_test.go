package cli

import (
	"context"
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
		order.Restore(order.Snapshot{SessionID: "cs_test_sent", State: order.StateMailSent, CustomerEmail: "Jane@Example.com", Items: 1,
			EventIDs: []string{"evt_1"}, MailKind: order.MailDownloadLinks, MailGeneration: 1, SentGeneration: 1,
			OperationID: "op-4711", Mail: downloadMail(t, "cs_test_sent", 1, now.Add(24*time.Hour)),
			CreatedAt: now.Add(-3 * time.Hour), PaidAt: now.Add(-3 * time.Hour), LinksReadyAt: now.Add(-3 * time.Hour),
			MailSentAt: now.Add(-2 * time.Hour), UpdatedAt: now.Add(-2 * time.Hour)}),
		order.Restore(order.Snapshot{SessionID: "cs_test_broken", State: order.StateNeedsAttention, CustomerEmail: "bob@example.com",
			Reason: `original "a.jpg" is not in container originals`, CreatedAt: now.Add(-time.Hour), AttentionAt: now.Add(-time.Hour),
			UpdatedAt: now.Add(-time.Hour)}),
		order.Restore(order.Snapshot{SessionID: "cs_test_retrying", State: order.StateReceived, LastError: "stripe answered 500", Attempts: 2,
			CreatedAt: now.Add(-time.Minute), UpdatedAt: now.Add(-time.Minute)}),
		order.Restore(order.Snapshot{SessionID: "cs_test_lastweek", State: order.StateMailSent, CreatedAt: now.Add(-7 * 24 * time.Hour),
			UpdatedAt: now.Add(-7 * 24 * time.Hour)}),
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

// TestOrdersStuck: an order whose message the host poisoned, or that has
// not moved for long, does not read "received" (ProcessOrder is working on
// it) but says what happened, the last error and the command that fixes it,
// in the table, in orders show and in JSON.
func TestOrdersStuck(t *testing.T) {
	o := newOps(t, nil)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	o.seed(t,
		order.Restore(order.Snapshot{SessionID: "cs_test_poisoned", State: order.StateReceived, LastError: "stripe answered 500", Attempts: 5,
			CreatedAt: now.Add(-5 * time.Minute), UpdatedAt: now.Add(-time.Minute)}),
		order.Restore(order.Snapshot{SessionID: "cs_test_mailpoisoned", State: order.StateLinksReady, LastError: "acs answered 503", Attempts: 5,
			MailKind: order.MailDownloadLinks, MailGeneration: 1, CreatedAt: now.Add(-4 * time.Minute), UpdatedAt: now.Add(-2 * time.Minute)}),
		order.Restore(order.Snapshot{SessionID: "cs_test_stalled", State: order.StateReceived, LastError: "stripe unreachable", Attempts: 2,
			LeaseOwner: "inv-gone", LeaseUntil: now.Add(-58 * time.Minute), CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour)}),
		order.Restore(order.Snapshot{SessionID: "cs_test_retrying", State: order.StateReceived, LastError: "stripe answered 502", Attempts: 1,
			CreatedAt: now.Add(-30 * time.Second), UpdatedAt: now.Add(-30 * time.Second)}),
	)
	msg, err := json.Marshal(order.ProcessJob{Version: 1, EventID: "evt_p", EventType: order.EventCompleted, SessionID: "cs_test_poisoned",
		Created: now.Unix(), Trigger: order.TriggerWebhook})
	require.NoError(t, err)
	require.NoError(t, o.queues.Queue("process-order-poison").Send(ctx, msg, 0))
	require.NoError(t, o.queues.Queue("send-link-poison").Send(ctx, downloadMail(t, "cs_test_mailpoisoned", 1, now.Add(time.Hour)), 0))

	tests := []struct {
		name    string
		args    []string
		want    []string // in this order
		notWant []string
	}{
		{name: "list", args: []string{"orders", "list"}, want: []string{
			"cs_test_retrying", "received", "stripe answered 502",
			"cs_test_poisoned", "poisoned", "after 5 attempts: stripe answered 500",
			"cs_test_mailpoisoned", "poisoned", "after 5 attempts: acs answered 503",
			"cs_test_stalled", "stalled", "stripe unreachable",
			"cs_test_poisoned poisoned: ProcessOrder gave up after 5 attempts; the message is in process-order-poison since",
			"last error: stripe answered 500; fix the cause, then run handler poison redrive --queue process-order",
			"cs_test_mailpoisoned poisoned: SendLink gave up after 5 attempts; the message is in send-link-poison",
			"run handler poison redrive --queue send-link",
			"cs_test_stalled stalled: no progress since " + stamp(now.Add(-time.Hour)), "then run handler reconcile\n"},
			notWant: []string{"cs_test_retrying stalled", "beyond what a peek shows"}},
		{name: "list --local: the fix says --local too", args: []string{"orders", "list", "--local"},
			want: []string{"handler poison redrive --queue process-order --local"}},
		{name: "show poisoned", args: []string{"orders", "show", "cs_test_poisoned"}, want: []string{
			"State", "received (poisoned: nothing works on it)", "Last error", "stripe answered 500 (5 attempts)",
			"Stuck", "poisoned: ProcessOrder gave up after 5 attempts; the message is in process-order-poison since",
			"Fix", "fix the cause, then run handler poison redrive --queue process-order"}},
		{name: "show stalled", args: []string{"orders", "show", "cs_test_stalled"}, want: []string{
			"received (stalled: nothing works on it)", "Stuck", "stalled: no progress since", "last error: stripe unreachable",
			"Fix", "run handler reconcile"}},
		{name: "show retrying", args: []string{"orders", "show", "cs_test_retrying"}, want: []string{"State", "received\n"},
			notWant: []string{"Stuck", "Fix"}},
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

	t.Run("list as JSON", func(t *testing.T) {
		out, _, err := o.run(t, "orders", "list", "--json")
		require.NoError(t, err)
		var got []orderView
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		stuck := map[string]*stuckView{}
		for _, v := range got {
			require.Equal(t, v.State, map[bool]string{true: "links_ready", false: "received"}[v.SessionID == "cs_test_mailpoisoned"],
				"state stays the ledger's")
			stuck[v.SessionID] = v.Stuck
		}
		require.Nil(t, stuck["cs_test_retrying"])
		p := stuck["cs_test_poisoned"]
		require.NotNil(t, p)
		require.NotNil(t, p.PoisonedAt)
		require.Equal(t, stuckView{Condition: "poisoned", Function: "ProcessOrder", Queue: "process-order", PoisonQueue: "process-order-poison",
			PoisonedAt: p.PoisonedAt, Attempts: 5, Since: now.Add(-time.Minute), LastError: "stripe answered 500",
			Fix: "handler poison redrive --queue process-order"}, *p)
		require.Equal(t, &stuckView{Condition: "stalled", Since: now.Add(-time.Hour), LastError: "stripe unreachable", Fix: "handler reconcile"},
			stuck["cs_test_stalled"])
	})
	t.Run("show as JSON", func(t *testing.T) {
		out, _, err := o.run(t, "orders", "show", "cs_test_mailpoisoned", "--json")
		require.NoError(t, err)
		var got orderView
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		require.NotNil(t, got.Stuck)
		require.Equal(t, "poisoned", got.Stuck.Condition)
		require.Equal(t, "send-link-poison", got.Stuck.PoisonQueue)
		require.Equal(t, 5, got.Stuck.Attempts)
		require.Equal(t, "acs answered 503", got.Stuck.LastError)
		require.Equal(t, "handler poison redrive --queue send-link", got.Stuck.Fix)
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
		order.Restore(order.Snapshot{SessionID: "cs_test_held", State: order.StateReceived, Holds: 4, HeldUntil: next,
			LastError: "Stripe refused STRIPE_API_KEY: stripe answered 401", CreatedAt: now.Add(-time.Minute), UpdatedAt: now}),
		order.Restore(order.Snapshot{SessionID: "cs_test_retrying", State: order.StateReceived, LastError: "stripe answered 500", Attempts: 2,
			CreatedAt: now.Add(-2 * time.Minute), UpdatedAt: now.Add(-2 * time.Minute)}),
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

// TestOrdersWaiting: an order whose dependency failed transiently reads
// "waiting" in orders list with its next attempt and the last error,
// --status waiting lists only those, and orders show says so.
func TestOrdersWaiting(t *testing.T) {
	o := newOps(t, nil)
	now := time.Now().UTC().Truncate(time.Second)
	next := now.Add(4 * time.Minute)
	o.seed(t,
		order.Restore(order.Snapshot{SessionID: "cs_test_waiting", State: order.StateLinksReady, RetryAt: next, Attempts: 7,
			LastError: "acs: send: outcome unknown: acs answered 503", CreatedAt: now.Add(-time.Hour), UpdatedAt: now}),
		order.Restore(order.Snapshot{SessionID: "cs_test_sent", State: order.StateMailSent, MailKind: order.MailDownloadLinks, SentGeneration: 1,
			CreatedAt: now.Add(-2 * time.Minute), UpdatedAt: now.Add(-2 * time.Minute)}),
	)
	tests := []struct {
		name    string
		args    []string
		want    []string // in this order
		notWant []string
	}{
		{name: "list shows waiting", args: []string{"orders", "list"},
			want: []string{"cs_test_waiting", "waiting", "next attempt " + stamp(next) + ": acs: send: outcome unkno", "cs_test_sent", "mail_sent"}},
		{name: "list only the waiting", args: []string{"orders", "list", "--status", "waiting"},
			want: []string{"cs_test_waiting", "1 order"}, notWant: []string{"cs_test_sent"}},
		{name: "show", args: []string{"orders", "show", "cs_test_waiting"},
			want: []string{"State", "links_ready", "Last error", "acs answered 503", "Waiting", "7 times", "next attempt " + stamp(next)}},
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
	out, _, err := o.run(t, "orders", "list", "--status", "waiting", "--json")
	require.NoError(t, err)
	var got []orderView
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Len(t, got, 1)
	require.True(t, got[0].Waiting)
	require.Equal(t, next, *got[0].RetryAt)
}
