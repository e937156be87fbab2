package order_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
)

var leaseNow = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

func TestClaim(t *testing.T) {
	tests := []struct {
		name      string
		owner     string
		until     time.Duration // the current lease's end, from leaseNow
		maxWait   time.Duration
		wantBusy  time.Duration // 0: the claim succeeds
		wantOwner string
	}{
		{name: "free record", wantOwner: "me"},
		{name: "own lease is renewed", owner: "me", until: time.Minute, wantOwner: "me"},
		{name: "expired lease is taken over", owner: "crashed", until: -time.Second, wantOwner: "me"},
		{name: "held: wait until it ends", owner: "other", until: 3 * time.Second, maxWait: order.MaxBusyWait, wantBusy: 3 * time.Second, wantOwner: "other"},
		{name: "held long: wait at most maxWait", owner: "other", until: time.Minute, maxWait: order.MaxBusyWait, wantBusy: order.MaxBusyWait, wantOwner: "other"},
		{name: "about to end: wait a second", owner: "other", until: 100 * time.Millisecond, maxWait: order.MaxBusyWait, wantBusy: time.Second, wantOwner: "other"},
		{name: "maxWait under a second is a second", owner: "other", until: time.Minute, maxWait: 0, wantBusy: time.Second, wantOwner: "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := order.Order{SessionID: "cs_1"}
			if tt.owner != "" {
				o.LeaseOwner, o.LeaseUntil = tt.owner, leaseNow.Add(tt.until)
			}
			err := o.Claim("me", leaseNow, 2*time.Minute, tt.maxWait)
			require.Equal(t, tt.wantOwner, o.LeaseOwner)
			if tt.wantBusy == 0 {
				require.NoError(t, err)
				require.Equal(t, leaseNow.Add(2*time.Minute), o.LeaseUntil)
				return
			}
			require.ErrorIs(t, err, order.ErrBusy)
			require.Equal(t, order.ClassThrottled, order.Classify(err))
			d, _ := order.RetryAfter(err)
			require.Equal(t, tt.wantBusy, d)
		})
	}
}

// ctxRecords fails every call whose context has ended, as the Table ledger
// does.
type ctxRecords struct{ *ordertest.Ledger }

func (r ctxRecords) Get(ctx context.Context, id string) (order.Order, error) {
	if err := ctx.Err(); err != nil {
		return order.Order{}, err
	}
	return r.Ledger.Get(ctx, id)
}

func (r ctxRecords) Update(ctx context.Context, o order.Order) (order.Order, error) {
	if err := ctx.Err(); err != nil {
		return order.Order{}, err
	}
	return r.Ledger.Update(ctx, o)
}

func TestRecordFailure(t *testing.T) {
	tests := []struct {
		name    string
		cause   error
		edit    func(o *order.Order) // the record as it is now, after the claim
		settled func(*order.Order) bool
		ctx     func() context.Context
		write   error // every write fails with it
		retry   order.Retrying

		wantErr   string
		wantClass order.Class
		wantDelay [2]time.Duration // the range of a hold's delay
		check     func(t *testing.T, o order.Order)
	}{
		{
			name: "permanent: needs attention", cause: order.Permanentf("no customer email"),
			wantErr: "no customer email", wantClass: order.ClassPermanent,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, order.StateNeedsAttention, o.State())
				require.Equal(t, "no customer email", o.Reason)
				require.Equal(t, leaseNow, o.AttentionAt)
				require.Empty(t, o.LeaseOwner)
			},
		},
		{
			name: "throttled: ThrottledUntil, not an attempt", cause: order.Throttled(errors.New("429"), 7*time.Second),
			wantErr: "429", wantClass: order.ClassThrottled,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, leaseNow.Add(7*time.Second), o.ThrottledUntil)
				require.Equal(t, "429", o.LastError)
				require.Equal(t, 1, o.Attempts)
				require.Equal(t, order.StateLinksReady, o.State())
				require.Empty(t, o.LeaseOwner)
			},
		},
		{
			name: "misconfigured: held, not an attempt, re-scheduled after HoldDelay", cause: order.Misconfigured(errors.New("401"), "STRIPE_API_KEY"),
			edit:    func(o *order.Order) { o.Holds = 3 },
			retry:   order.Retrying{HoldDelay: func(holds int) time.Duration { return time.Duration(holds) * 2 * time.Second }},
			wantErr: "401", wantClass: order.ClassMisconfigured, wantDelay: [2]time.Duration{8 * time.Second, 8 * time.Second},
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, 4, o.Holds)
				require.Equal(t, order.StateLinksReady, o.State(), "not needs_attention")
				require.Equal(t, "401", o.LastError)
				require.Equal(t, 1, o.Attempts)
				require.True(t, o.HeldUntil.After(leaseNow))
				require.Empty(t, o.LeaseOwner)
			},
		},
		{
			name: "retryable: an attempt", cause: errors.New("connection reset"),
			wantErr: "connection reset", wantClass: order.ClassRetryable,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, "connection reset", o.LastError)
				require.Equal(t, 2, o.Attempts)
				require.Empty(t, o.LeaseOwner)
			},
		},
		{
			name: "transient: an attempt, waiting until the plan's time", cause: order.Transient(errors.New("stripe answered 503")),
			retry:   order.Retrying{Failures: 3, First: leaseNow.Add(-time.Minute), At: leaseNow.Add(4 * time.Second)},
			wantErr: "stripe answered 503", wantClass: order.ClassTransient,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, order.StateLinksReady, o.State())
				require.Equal(t, "stripe answered 503", o.LastError)
				require.Equal(t, 2, o.Attempts)
				require.Equal(t, leaseNow.Add(4*time.Second), o.RetryAt)
				require.True(t, o.Waiting())
				require.Empty(t, o.LeaseOwner)
			},
		},
		{
			name: "transient, budget spent: needs attention with the last error", cause: order.Transient(errors.New("acs down")),
			edit:    func(o *order.Order) { o.RetryAt = leaseNow },
			retry:   order.Retrying{Failures: 90, First: leaseNow.Add(-25 * time.Hour), Exhausted: true},
			wantErr: "acs down", wantClass: order.ClassTransient,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, order.StateNeedsAttention, o.State())
				require.Equal(t, "gave up after 90 transient failures since 2025-03-13T08:00:00Z: acs down", o.Reason)
				require.True(t, o.RetryAt.IsZero())
				require.False(t, o.Waiting())
			},
		},
		{
			name: "the invocation's deadline passed: still recorded", cause: order.Permanentf("rejected"),
			ctx: func() context.Context {
				ctx, cancel := context.WithDeadline(context.Background(), leaseNow)
				cancel()
				return ctx
			},
			wantErr: "rejected", wantClass: order.ClassPermanent,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, order.StateNeedsAttention, o.State())
			},
		},
		{
			name: "another invocation took the lease over: nothing written", cause: order.Permanentf("rejected"),
			edit:    func(o *order.Order) { o.Lease("other", leaseNow, time.Minute) },
			wantErr: "rejected", wantClass: order.ClassPermanent,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, order.StateLinksReady, o.State())
				require.Equal(t, "other", o.LeaseOwner)
			},
		},
		{
			name: "settled meanwhile: nothing written", cause: errors.New("timeout"),
			edit: func(o *order.Order) {
				*o = ordertest.Edit(*o, func(s *order.Snapshot) { s.State = order.StateMailSent })
			},
			settled: func(o *order.Order) bool { return o.State() == order.StateMailSent },
			wantErr: "timeout", wantClass: order.ClassRetryable,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, 1, o.Attempts)
				require.Equal(t, "me", o.LeaseOwner)
			},
		},
		{
			name: "a permanent failure that cannot be recorded is retried", cause: order.Permanentf("rejected"),
			write:   errors.New("table unavailable"),
			wantErr: "rejected; recording it failed: write order cs_1: table unavailable", wantClass: order.ClassRetryable,
			check: func(t *testing.T, o order.Order) {
				require.Equal(t, order.StateLinksReady, o.State())
			},
		},
		{
			name: "a throttled failure that cannot be recorded is retried", cause: order.Throttled(errors.New("429"), time.Second),
			write:   errors.New("table unavailable"),
			wantErr: "429; recording it failed", wantClass: order.ClassRetryable,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			led := ordertest.NewLedger(order.Restore(order.Snapshot{SessionID: "cs_1", State: order.StateLinksReady, Attempts: 1}))
			recs := ctxRecords{led}
			held, err := order.Mutate(context.Background(), recs, "cs_1", leaseNow, func(o *order.Order) error {
				return o.Claim("me", leaseNow, 2*time.Minute, order.MaxBusyWait)
			})
			require.NoError(t, err)
			if tt.edit != nil {
				led.Put(func() order.Order { o := led.Record(t, "cs_1"); tt.edit(&o); return o }())
			}
			if tt.write != nil {
				led.BeforeWrite = func(int, order.Order) error { return tt.write }
			}
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx()
			}

			_, err = order.RecordFailure(ctx, recs, held, tt.retry, "me", tt.cause, leaseNow, tt.settled)

			require.ErrorContains(t, err, tt.wantErr)
			require.Equal(t, tt.wantClass, order.Classify(err), "class of %v", err)
			if tt.wantDelay[1] > 0 {
				d, _ := order.RetryAfter(err)
				require.True(t, d >= tt.wantDelay[0] && d <= tt.wantDelay[1], "delay %s", d)
				require.Equal(t, leaseNow.Add(d), led.Record(t, "cs_1").HeldUntil)
			}
			if tt.check != nil {
				tt.check(t, led.Record(t, "cs_1"))
			}
		})
	}
}
