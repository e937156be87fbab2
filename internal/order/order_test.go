package order_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		class order.Class
		after time.Duration
	}{
		{"plain error is retryable", errors.New("boom"), order.ClassRetryable, 0},
		{"permanent", order.Permanentf("no email"), order.ClassPermanent, 0},
		{"wrapped permanent", fmt.Errorf("ctx: %w", order.Permanentf("no email")), order.ClassPermanent, 0},
		{"throttled", order.Throttled(errors.New("429"), 7*time.Second), order.ClassThrottled, 7 * time.Second},
		{"wrapped throttled", fmt.Errorf("send: %w", order.Throttled(errors.New("429"), time.Minute)), order.ClassThrottled, time.Minute},
		{"permanent wins over throttled", order.Permanent(order.Throttled(errors.New("x"), time.Second)), order.ClassPermanent, time.Second},
		{"misconfigured holds", order.Misconfigured(errors.New("401"), "STRIPE_API_KEY"), order.ClassMisconfigured, 0},
		{"wrapped misconfigured", fmt.Errorf("get session: %w", order.Misconfigured(errors.New("401"), "STRIPE_API_KEY")), order.ClassMisconfigured, 0},
		{"misconfigured wins over permanent", order.Permanent(order.Misconfigured(errors.New("401"), "K")), order.ClassMisconfigured, 0},
		{"a held order's delay", order.Throttled(order.Misconfigured(errors.New("401"), "K"), 4*time.Second), order.ClassMisconfigured, 4 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.class, order.Classify(tc.err))
			d, _ := order.RetryAfter(tc.err)
			require.Equal(t, tc.after, d)
		})
	}
	require.NoError(t, order.Permanent(nil))
	require.NoError(t, order.Throttled(nil, time.Second))
	require.True(t, errors.Is(order.Permanent(fmt.Errorf("x: %w", order.ErrNotFound)), order.ErrNotFound), "wrapping keeps the cause")
}

// TestErrorSaysEverything: the outermost order.Error of a failure marked
// more than once carries the stronger class and every detail, so one
// errors.As tells all.
func TestErrorSaysEverything(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want order.Error
	}{
		{"a setting and a held order's delay", fmt.Errorf("send: %w", order.Throttled(fmt.Errorf("login: %w", order.Misconfigured(errors.New("535"), "SMTP_URL")), 4*time.Second)),
			order.Error{Class: order.ClassMisconfigured, Setting: "SMTP_URL", RetryAfter: 4 * time.Second}},
		{"the throttle's pause over a passing fault", order.Transient(order.Throttled(errors.New("429"), 9*time.Second)),
			order.Error{Class: order.ClassThrottled, RetryAfter: 9 * time.Second}},
		{"a passing fault", order.Transient(errors.New("EOF")), order.Error{Class: order.ClassTransient}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e *order.Error
			require.True(t, errors.As(tt.err, &e))
			require.Equal(t, tt.want.Class, e.Class)
			require.Equal(t, tt.want.Setting, e.Setting)
			require.Equal(t, tt.want.RetryAfter, e.RetryAfter)
			require.Equal(t, tt.want.Class, order.Classify(tt.err))
		})
	}
}

func TestMailKeyIsDeterministicAndDistinct(t *testing.T) {
	k := order.MailKey("cs_test_1", order.MailDownloadLinks, 1)
	require.Equal(t, k, order.MailKey("cs_test_1", order.MailDownloadLinks, 1), "same mail, same key on every delivery")
	require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, k, "a UUIDv5")
	others := []string{
		order.MailKey("cs_test_1", order.MailDownloadLinks, 2),
		order.MailKey("cs_test_1", order.MailPaymentFailed, 1),
		order.MailKey("cs_test_2", order.MailDownloadLinks, 1),
		order.MailKey("cs_test_1"+order.MailDownloadLinks, "", 1), // no ambiguity from concatenation
	}
	for _, o := range others {
		require.NotEqual(t, k, o)
	}
	// Pinned: changing the derivation would resend every in-flight mail.
	require.Equal(t, "a6c834d5-6111-520f-9caa-a3b005fe2d23", k)
	require.Equal(t, k, order.MailJob{SessionID: "cs_test_1", Kind: order.MailDownloadLinks, Generation: 1}.Key())
}

// conflicting makes the next n writes to l lose a race: another writer
// changes the record (Attempts += 100) just before each.
func conflicting(t *testing.T, l *ordertest.Ledger, n int) {
	l.BeforeWrite = func(_ int, o order.Order) error {
		if n > 0 {
			n--
			cur := l.Record(t, o.SessionID)
			cur.Attempts += 100
			l.Put(cur)
		}
		return nil
	}
}

func TestMutate(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	recs := ordertest.NewLedger()

	o, err := order.Mutate(ctx, recs, "cs_test_1", now, func(o *order.Order) error { o.Receive(); return nil })
	require.NoError(t, err)
	require.Equal(t, now, o.CreatedAt, "a new record is created")
	require.NotEmpty(t, o.ETag)

	conflicting(t, recs, 2)
	calls := 0
	o, err = order.Mutate(ctx, recs, "cs_test_1", now, func(o *order.Order) error { calls++; o.Attempts++; return nil })
	require.NoError(t, err)
	require.Equal(t, 3, calls, "re-read and re-applied after each lost race")
	require.Equal(t, 201, o.Attempts, "the other writers' changes are kept")

	conflicting(t, recs, order.MaxMutateAttempts)
	_, err = order.Mutate(ctx, recs, "cs_test_1", now, func(o *order.Order) error { return nil })
	require.ErrorIs(t, err, order.ErrConflict)
	require.ErrorContains(t, err, "gave up")

	before := recs.Record(t, "cs_test_1")
	o, err = order.Mutate(ctx, recs, "cs_test_1", now, func(o *order.Order) error { o.Attempts = -1; return order.ErrUnchanged })
	require.NoError(t, err)
	require.Equal(t, before, recs.Record(t, "cs_test_1"), "ErrUnchanged writes nothing")
	require.Equal(t, before.ETag, o.ETag)

	boom := errors.New("boom")
	_, err = order.Mutate(ctx, recs, "cs_test_2", now, func(o *order.Order) error { return boom })
	require.ErrorIs(t, err, boom)
	_, ok := recs.Lookup("cs_test_2")
	require.False(t, ok, "an error from fn writes nothing")
}

func TestMutateFrom(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	recs := ordertest.NewLedger()

	o, err := order.MutateFrom(ctx, recs, order.Order{SessionID: "cs_test_1"}, now, func(o *order.Order) error { o.Items = 1; return nil })
	require.NoError(t, err)
	require.Equal(t, now, o.CreatedAt, "no ETag: the record is created")
	require.Zero(t, recs.Gets(), "nothing is read")

	o, err = order.MutateFrom(ctx, recs, o, now, func(o *order.Order) error { o.Items++; return nil })
	require.NoError(t, err)
	require.Equal(t, 2, o.Items)
	require.Zero(t, recs.Gets(), "a fresh record is written without reading it again")

	stale := o
	_, err = order.MutateFrom(ctx, recs, o, now, func(o *order.Order) error { o.Items = 10; return nil })
	require.NoError(t, err)
	o, err = order.MutateFrom(ctx, recs, stale, now, func(o *order.Order) error { o.Items++; return nil })
	require.NoError(t, err)
	require.Equal(t, 11, o.Items, "a stale record loses the race, is read again and fn re-applied")
	require.Equal(t, 1, recs.Gets())
}

func TestLeaseAndFinal(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	var o order.Order
	o.Lease("inv-1", now, time.Minute)
	require.False(t, o.Leased("inv-1", now), "the owner is not kept out")
	require.True(t, o.Leased("inv-2", now.Add(59*time.Second)))
	require.False(t, o.Leased("inv-2", now.Add(time.Minute)), "an expired lease is free")
	o.Fail(errors.New("stripe down"))
	require.Equal(t, 1, o.Attempts)
	require.Empty(t, o.LeaseOwner)

	tests := []struct {
		o     order.Order
		final bool
	}{
		{order.Restore(order.Snapshot{State: order.StateReceived}), false},
		{order.Restore(order.Snapshot{State: order.StateLinksReady, MailGeneration: 1}), false},
		{order.Restore(order.Snapshot{State: order.StateMailSent, SentGeneration: 1}), true},
		{order.Restore(order.Snapshot{State: order.StateAwaitingPayment}), true},
		{order.Restore(order.Snapshot{State: order.StateNeedsAttention}), true},
		{order.Restore(order.Snapshot{State: order.StatePaymentFailed, MailGeneration: 1}), false},
		{order.Restore(order.Snapshot{State: order.StatePaymentFailed, MailGeneration: 1, SentGeneration: 1}), true},
	}
	for _, tc := range tests {
		require.Equal(t, tc.final, tc.o.Final(), "%+v", tc.o)
	}
}

func TestSeeEventKeepsTheNewestOnce(t *testing.T) {
	var o order.Order
	for i := range order.MaxEventIDs + 5 {
		o.SeeEvent(fmt.Sprintf("evt_%d", i))
		o.SeeEvent(fmt.Sprintf("evt_%d", i))
	}
	o.SeeEvent("")
	require.Len(t, o.EventIDs, order.MaxEventIDs)
	require.Equal(t, "evt_5", o.EventIDs[0])
	require.Equal(t, fmt.Sprintf("evt_%d", order.MaxEventIDs+4), o.EventIDs[order.MaxEventIDs-1])
}

func TestDecodeMessages(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"valid", `{"v":1,"event_id":"evt_1","event_type":"checkout.session.completed","session_id":"cs_test_a1","created":1}`, ""},
		{"not JSON", `nope`, "decode order message"},
		{"future version", `{"v":2,"event_type":"checkout.session.completed","session_id":"cs_test_a1"}`, "unsupported version 2"},
		{"not a session", `{"v":1,"event_type":"checkout.session.completed","session_id":"pi_123"}`, "not a Checkout Session id"},
		{"unhandled type", `{"v":1,"event_type":"checkout.session.expired","session_id":"cs_test_a1"}`, "is not handled"},
		{"unknown trigger", `{"v":1,"event_type":"checkout.session.completed","session_id":"cs_test_a1","trigger":"cron"}`, `trigger "cron"`},
		{"no event id", `{"v":1,"event_type":"checkout.session.completed","session_id":"cs_test_a1"}`, ""},
		{"forced new links", `{"v":1,"event_type":"checkout.session.completed","session_id":"cs_test_a1","trigger":"operator","new_links":true,"force":true}`, ""},
		{"forced webhook", `{"v":1,"event_type":"checkout.session.completed","session_id":"cs_test_a1","force":true}`, "force is only for an operator's new links"},
		{"event id of 40 KB", `{"v":1,"event_id":"evt_` + strings.Repeat("a", 40<<10) + `","event_type":"checkout.session.completed","session_id":"cs_test_a1"}`, "is not a Stripe event id"},
		{"event id that is not evt_", `{"v":1,"event_id":"cs_test_a1","event_type":"checkout.session.completed","session_id":"cs_test_a1"}`, "is not a Stripe event id"},
		{"session id of 40 KB", `{"v":1,"event_id":"evt_1","event_type":"checkout.session.completed","session_id":"cs_test_` + strings.Repeat("a", 40<<10) + `"}`, "not a Checkout Session id"},
		{"refund", `{"v":1,"event_id":"evt_1","event_type":"charge.refunded","payment_intent":"pi_3Om","object_id":"ch_3Om"}`, ""},
		{"dispute with a session id", `{"v":1,"event_type":"charge.dispute.closed","session_id":"cs_test_a1","payment_intent":"pi_3Om","object_id":"dp_1"}`, ""},
		{"refund without payment intent", `{"v":1,"event_type":"charge.refunded","object_id":"ch_3Om"}`, "is not a payment intent id"},
		{"refund naming a dispute", `{"v":1,"event_type":"charge.refunded","payment_intent":"pi_3Om","object_id":"dp_1"}`, "is not a charge id"},
		{"dispute naming a charge", `{"v":1,"event_type":"charge.dispute.created","payment_intent":"pi_3Om","object_id":"ch_1"}`, "is not a dispute id"},
		{"payment intent of 40 KB", `{"v":1,"event_type":"charge.refunded","payment_intent":"pi_` + strings.Repeat("a", 40<<10) + `","object_id":"ch_1"}`, "is not a payment intent id"},
		{"refund with a bad session id", `{"v":1,"event_type":"charge.refunded","session_id":"pi_3Om","payment_intent":"pi_3Om","object_id":"ch_1"}`, "not a Checkout Session id"},
		{"checkout event with a payment intent", `{"v":1,"event_type":"checkout.session.completed","session_id":"cs_test_a1","payment_intent":"pi_3Om"}`, "carries no payment_intent"},
		{"checkout event without a session", `{"v":1,"event_type":"checkout.session.completed","payment_intent":"pi_3Om","object_id":"ch_1"}`, "not a Checkout Session id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := order.DecodeProcessJob([]byte(tc.data))
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
			require.True(t, order.IsPermanent(err), "the same bytes never decode")
			require.Less(t, len(err.Error()), 1<<10, "the error quotes no value unbounded: it is logged")
		})
	}
	_, err := order.DecodeMailJob([]byte(`{"v":1,"kind":"payment_failed","session_id":"cs_test_a1","event_id":"evt_` + strings.Repeat("a", 40<<10) + `","generation":1,"customer":{"email":"a@example.com"}}`))
	require.ErrorContains(t, err, "is not a Stripe event id")
	require.Less(t, len(err.Error()), 1<<10)
	_, err = order.DecodeMailJob([]byte(`{"v":1,"kind":"download_links","session_id":"cs_test_a1","generation":0,"customer":{}}`))
	for _, want := range []string{"no items", "generation 0", "customer email is empty"} {
		require.ErrorContains(t, err, want)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://acct.blob.core.windows.net/originals/a%20b.jpg?sv=2024&sig=SECRET": "https://acct.blob.core.windows.net/originals/a%20b.jpg?REDACTED",
		"https://user:pw@example.com/x#frag":                                        "https://example.com/x",
		"http://[::1":                                                               "<invalid url>",
	} {
		got := order.RedactURL(in)
		require.Equal(t, want, got)
		require.False(t, strings.Contains(got, "SECRET") || strings.Contains(got, "pw"))
	}
}

func TestValidEventID(t *testing.T) {
	for id, want := range map[string]bool{
		"evt_1QbN8eLkdIwHu7ixZ2m4pT9q":                   true,
		"evt_reconcile_0a1b2c":                           true,
		"evt_" + strings.Repeat("a", order.MaxIDBytes-4): true,
		"evt_" + strings.Repeat("a", order.MaxIDBytes-3): false,
		"evt_":       false,
		"cs_test_a1": false,
		"evt_1-2":    false,
		"evt_1\n":    false,
		"evt_ä":      false,
		"":           false,
	} {
		require.Equal(t, want, order.ValidEventID(id), "%q", id)
	}
}

func TestValidPaymentIDs(t *testing.T) {
	for id, want := range map[string]bool{
		"pi_3OmA0aB2cD3eF4gH0xYz1234":                   true,
		"pi_" + strings.Repeat("a", order.MaxIDBytes-3): true,
		"pi_" + strings.Repeat("a", order.MaxIDBytes-2): false,
		"pi_":    false,
		"ch_1":   false,
		"pi_1-2": false,
		"pi_1\n": false,
	} {
		require.Equal(t, want, order.ValidPaymentIntentID(id), "%q", id)
	}
	for _, tc := range []struct {
		object, id string
		want       bool
	}{
		{"charge", "ch_3Om", true}, {"charge", "py_3Om", true}, {"charge", "dp_1", false},
		{"dispute", "dp_1", true}, {"dispute", "du_1", true}, {"dispute", "ch_1", false},
		{"charge", "ch_" + strings.Repeat("a", order.MaxIDBytes-3), true},
		{"charge", "ch_" + strings.Repeat("a", order.MaxIDBytes-2), false},
		{"session", "cs_test_a1", false}, {"charge", "", false},
	} {
		require.Equal(t, tc.want, order.ValidObjectID(tc.object, tc.id), "%s %q", tc.object, tc.id)
	}
}

func TestValidSessionID(t *testing.T) {
	for id, want := range map[string]bool{
		"cs_test_a1B2c3":                 true,
		"cs_live_a1B2c3":                 true,
		"cs_test_demo_harbour":           true,
		"cs_" + strings.Repeat("a", 250): true,
		"cs_" + strings.Repeat("a", 251): false,
		"cs_":                            false,
		"pi_123":                         false,
		"cs_test_a/b":                    false,
		"cs_test_a'b":                    false,
		"cs_test_ä":                      false,
		" cs_test_a":                     false,
		"":                               false,
	} {
		require.Equal(t, want, order.ValidSessionID(id), "%q", id)
	}
}

func TestClassifyTransient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want order.Class
	}{
		{"transient", fmt.Errorf("fetch: %w", order.Transient(errors.New("EOF"))), order.ClassTransient},
		{"unclassified stays the host's", errors.New("panic: boom"), order.ClassRetryable},
		{"throttled wins: Retry-After is honoured", order.Throttled(order.Transient(errors.New("429")), time.Second), order.ClassThrottled},
		{"permanent wins", order.Permanent(order.Transient(errors.New("x"))), order.ClassPermanent},
		{"misconfigured wins", order.Misconfigured(order.Transient(errors.New("401")), "K"), order.ClassMisconfigured},
		{"nil stays nil", order.Transient(nil), order.ClassRetryable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, order.Classify(tt.err))
		})
	}
	require.NoError(t, order.Transient(nil))
}

// TestGiveUpAndResume: an order that needs attention only because its retry
// budget was spent goes on once a step succeeds after all; one that needs
// a person does not.
func TestGiveUpAndResume(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var spent order.Order
	spent.GiveUp("gave up after 9 transient failures", now)
	require.True(t, spent.BudgetSpent)
	require.Equal(t, order.StateNeedsAttention, spent.State())
	spent.Resume(order.StatePaymentFailed)
	require.Equal(t, order.StatePaymentFailed, spent.State())
	require.Empty(t, spent.Reason)
	require.False(t, spent.BudgetSpent)

	var permanent order.Order
	permanent.GiveUp("gave up", now)
	permanent.NeedAttention("no customer email", now)
	require.False(t, permanent.BudgetSpent, "a permanent cause needs a person")
	permanent.Resume(order.StatePaymentFailed)
	require.Equal(t, order.StateNeedsAttention, permanent.State())
	require.Equal(t, "no customer email", permanent.Reason)
}
