package cli

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/stripeapi"
	"github.com/filedrop/filedrop/internal/stripeapi/stripetest"
	"github.com/filedrop/filedrop/internal/testenv"
)

func TestReconcile(t *testing.T) {
	srv := stripetest.NewServer(t)
	srv.ListPageSize = 4
	o := newOps(t, map[string]string{"STRIPE_API_KEY": stripetest.Key, "STRIPE_API_URL": srv.URL})
	now := time.Now()
	listed := func(id string, age time.Duration, status, payment string) map[string]any {
		return stripetest.Listed(id, now.Add(-age), status, payment)
	}
	const complete, expired = stripeapi.StatusComplete, stripeapi.StatusExpired
	const paid, unpaid = stripeapi.PaymentPaid, stripeapi.PaymentUnpaid
	srv.AddSessions( // newest first; four to a page
		listed("cs_test_fulfilled", time.Minute, complete, paid),
		listed("cs_test_nowebhook", 2*time.Minute, complete, paid),
		listed("cs_test_unpaid", 3*time.Minute, complete, unpaid),
		listed("cs_test_abandoned", 4*time.Minute, expired, unpaid),
		listed("cs_test_attention", 5*time.Minute, complete, paid),
		listed("cs_test_asyncpaid", 6*time.Minute, complete, paid),
		listed("cs_test_free", 7*time.Minute, complete, stripeapi.PaymentNotRequired),
		listed("cs_test_lastweek", 7*24*time.Hour, complete, paid),
	)
	o.seed(t,
		order.Restore(order.Snapshot{SessionID: "cs_test_fulfilled", State: order.StateMailSent, MailKind: order.MailDownloadLinks, MailGeneration: 1, SentGeneration: 1}),
		order.Restore(order.Snapshot{SessionID: "cs_test_unpaid", State: order.StateAwaitingPayment}),
		order.Restore(order.Snapshot{SessionID: "cs_test_attention", State: order.StateNeedsAttention, Reason: "original missing"}),
		order.Restore(order.Snapshot{SessionID: "cs_test_asyncpaid", State: order.StateAwaitingPayment}),
	)
	wantQueued := map[string]string{
		"cs_test_nowebhook": order.EventCompleted,
		"cs_test_attention": order.EventCompleted,
		"cs_test_asyncpaid": order.EventAsyncPaymentSucceeded, // its success event was lost
		"cs_test_free":      order.EventCompleted,
	}
	summary := func(t *testing.T, out string) reconcileSummary {
		t.Helper()
		var s reconcileSummary
		require.NoError(t, json.Unmarshal([]byte(out), &s), out)
		return s
	}

	t.Run("dry run finds the paid sessions without mail, queues nothing", func(t *testing.T) {
		out, stderr, err := o.run(t, "reconcile", "--dry-run")
		require.Equal(t, ExitMismatch, exitCode(err), "%v\n%s", err, stderr)
		require.ErrorContains(t, err, "4 paid sessions not fulfilled")
		for _, want := range []string{"seen", "7", "already fulfilled", "to queue (dry run)", "skipped", "unpaid", "expired", "cs_test_nowebhook", "cs_test_free"} {
			require.Contains(t, out, want)
		}
		require.NotContains(t, out, "cs_test_lastweek")
		require.Empty(t, o.orderMessages(t))

		reqs := srv.Requests()
		require.Len(t, reqs, 2, "two pages: %q", reqs)
		first, second := listQuery(t, reqs[0]), listQuery(t, reqs[1])
		gte, err := strconv.ParseInt(first.Get("created[gte]"), 10, 64)
		require.NoError(t, err)
		require.InDelta(t, now.Add(-72*time.Hour).Unix(), gte, 60, "the default window is 72h")
		require.Equal(t, "100", first.Get("limit"))
		require.Equal(t, first.Get("created[gte]"), second.Get("created[gte]"))
		require.Equal(t, "cs_test_abandoned", second.Get("starting_after"))
	})

	t.Run("queues exactly the unfulfilled paid sessions", func(t *testing.T) {
		out, stderr, err := o.run(t, "reconcile", "--json")
		require.NoError(t, err, stderr)
		s := summary(t, out)
		require.Equal(t, 7, s.Seen)
		require.Equal(t, 1, s.Fulfilled)
		require.Equal(t, 4, s.Queued)
		require.False(t, s.DryRun)
		require.Equal(t, map[string]int{"unpaid": 1, "expired": 1}, s.Skipped)
		require.ElementsMatch(t, []string{"cs_test_nowebhook", "cs_test_attention", "cs_test_asyncpaid", "cs_test_free"}, s.QueuedSessions)

		got := map[string]string{}
		for _, m := range o.orderMessages(t) {
			got[m.SessionID] = m.EventType
			require.Equal(t, order.TriggerReconcile, m.Trigger)
			require.True(t, strings.HasPrefix(m.EventID, "evt_reconcile_"), m.EventID)
			require.False(t, m.Livemode)
			require.False(t, m.NewLinks)
		}
		require.Equal(t, wantQueued, got)
	})

	t.Run("a second run after fulfilment queues nothing new", func(t *testing.T) {
		for id := range wantQueued {
			_, err := order.Mutate(context.Background(), o.ledger, id, time.Now(), func(r *order.Order) error {
				*r = ordertest.Edit(*r, func(s *order.Snapshot) {
					s.State, s.MailKind, s.MailGeneration, s.SentGeneration = order.StateMailSent, order.MailDownloadLinks, 1, 1
				})
				return nil
			})
			require.NoError(t, err)
		}
		out, stderr, err := o.run(t, "reconcile", "--dry-run")
		require.NoError(t, err, "nothing to do is exit 0 even in a dry run; %s", stderr)
		require.Regexp(t, `already fulfilled\s+5\n`, out)
		out, _, err = o.run(t, "reconcile", "--json")
		require.NoError(t, err)
		s := summary(t, out)
		require.Equal(t, 5, s.Fulfilled)
		require.Zero(t, s.Queued)
		require.Len(t, o.orderMessages(t), len(wantQueued), "no new message")
	})

	errs := []struct {
		name     string
		settings map[string]string
		fail     int
		args     []string
		code     int
		want     string
	}{
		{name: "stripe unreachable", settings: map[string]string{"STRIPE_API_URL": "http://127.0.0.1:" + testenv.FreePort(t)},
			code: ExitFailure, want: "stripe could not be reached"},
		{name: "stripe refuses the key", fail: 401, code: ExitFailure, want: "Stripe refused STRIPE_API_KEY"},
		{name: "stripe fails", fail: 500, code: ExitFailure, want: "stripe answered 500"},
		{name: "negative window", args: []string{"--since", "-1h"}, code: ExitUsage, want: "--since must be positive"},
		{name: "an argument", args: []string{"cs_test_nowebhook"}, code: ExitUsage, want: "takes no arguments"},
		{name: "invalid settings", settings: map[string]string{"STRIPE_API_KEY": "pk_test_1"}, code: ExitConfig, want: "publishable key"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.settings {
				old := o.settings[k]
				o.settings[k] = v
				t.Cleanup(func() { o.settings[k] = old })
			}
			if tt.fail != 0 {
				srv.Fail(tt.fail, "", nil)
				t.Cleanup(func() { srv.Fail(0, "", nil) })
			}
			before := len(o.orderMessages(t))
			out, _, err := o.run(t, append([]string{"reconcile"}, tt.args...)...)
			require.Equal(t, tt.code, exitCode(err), "%v", err)
			require.ErrorContains(t, err, tt.want)
			require.Empty(t, out, "no summary of a run that saw nothing")
			require.Len(t, o.orderMessages(t), before)
		})
	}
}

func listQuery(t *testing.T, requestURI string) url.Values {
	t.Helper()
	u, err := url.ParseRequestURI(requestURI)
	require.NoError(t, err)
	require.Equal(t, "/v1/checkout/sessions", u.Path)
	return u.Query()
}
