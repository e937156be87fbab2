package pace_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/pace"
)

// step is one call on a Pacer at t0+at and what it must answer.
type step struct {
	at    time.Duration
	call  string // reserve, accepted or refused
	key   string
	after time.Duration // refused: the service's Retry-After
	// wait is the wait answered (reserve, refused); min, when set, a
	// lower bound instead.
	wait, min time.Duration
	// rate, when set, is the rate a minute the Pacer must have after.
	rate float64
}

func TestPacer(t *testing.T) {
	tests := []struct {
		name   string
		limits pace.Limits
		steps  []step
	}{
		{name: "no rate and no refusal: everything goes", steps: []step{
			{call: "reserve", key: "a"}, {call: "reserve", key: "b"}, {call: "reserve", key: "c"},
		}},
		{name: "a configured rate spaces the slots and keeps each key's", limits: pace.Limits{PerMinute: 30}, steps: []step{
			{call: "reserve", key: "a", rate: 30},
			{call: "reserve", key: "b", wait: 2 * time.Second},
			{call: "reserve", key: "c", wait: 4 * time.Second},
			{call: "reserve", key: "b", wait: 2 * time.Second}, // asks again: same slot, nobody overtakes
			{at: 1500 * time.Millisecond, call: "reserve", key: "b"},
			{at: 1500 * time.Millisecond, call: "reserve", key: "d", wait: 4500 * time.Millisecond},
			{at: 3500 * time.Millisecond, call: "reserve", key: "c"}, // within Tolerance of its slot
		}},
		{name: "a refusal halves the rate and holds new slots for its Retry-After", limits: pace.Limits{PerMinute: 60}, steps: []step{
			{call: "reserve", key: "a"},
			{call: "reserve", key: "b", wait: time.Second},
			{call: "reserve", key: "c", wait: 2 * time.Second},
			{at: 100 * time.Millisecond, call: "refused", key: "a", after: 10 * time.Second, min: 10 * time.Second, rate: 30},
			// The waiting callers keep their slots.
			{at: 100 * time.Millisecond, call: "reserve", key: "b", wait: 900 * time.Millisecond},
			{at: 100 * time.Millisecond, call: "reserve", key: "c", wait: 1900 * time.Millisecond},
			// A new caller waits for the pause.
			{at: 100 * time.Millisecond, call: "reserve", key: "d", min: 10 * time.Second},
		}},
		{name: "a refusal of a call let through before the last halving does not halve again", limits: pace.Limits{PerMinute: 60}, steps: []step{
			{call: "reserve", key: "a"},
			{call: "reserve", key: "b", wait: time.Second},
			{at: 100 * time.Millisecond, call: "refused", key: "a", after: time.Second, min: time.Second, rate: 30},
			{at: time.Second, call: "reserve", key: "b"}, // its slot, handed out before the halving
			{at: 1200 * time.Millisecond, call: "refused", key: "b", after: time.Second, min: time.Second, rate: 30},
		}},
		{name: "a refusal while the rate holds nobody back leaves it", limits: pace.Limits{PerMinute: 60}, steps: []step{
			{call: "reserve", key: "a"},
			{at: 5 * time.Second, call: "reserve", key: "b"},
			{at: 5200 * time.Millisecond, call: "refused", key: "b", after: time.Second, wait: time.Second, rate: 60},
		}},
		{name: "successes restore a halved rate", limits: pace.Limits{PerMinute: 60}, steps: []step{
			{call: "reserve", key: "a"},
			{call: "reserve", key: "b", wait: time.Second},
			{at: 100 * time.Millisecond, call: "refused", key: "a", after: time.Second, min: time.Second, rate: 30},
			{at: 200 * time.Millisecond, call: "accepted", key: "b", rate: 33},
			{at: 300 * time.Millisecond, call: "accepted", rate: 36}, {call: "accepted"}, {call: "accepted"}, {call: "accepted"},
			{call: "accepted"}, {call: "accepted"}, {call: "accepted"}, {call: "accepted"},
			{at: time.Second, call: "accepted", key: "a", rate: 60},
			{at: time.Second, call: "accepted", rate: 60}, // never above the configured rate
		}},
		{name: "learning: the first refusal that shows a quota paces at what the service accepted", steps: []step{
			{call: "reserve", key: "a"}, {call: "accepted", key: "a"},
			{call: "reserve", key: "b"}, {call: "accepted", key: "b"},
			{call: "reserve", key: "c"}, {call: "accepted", key: "c"},
			{call: "reserve", key: "d"}, {call: "accepted", key: "d"},
			{call: "reserve", key: "e"}, {call: "accepted", key: "e"},
			{call: "reserve", key: "x"},
			// Nobody waits: the refusal holds new slots for its pause, and
			// the rate is not in question.
			{call: "refused", key: "x", after: 10 * time.Second, wait: 10 * time.Second},
			{call: "reserve", key: "y", wait: 10 * time.Second},
			// Now x waits: five accepted, none until 20 s, so 15 a minute.
			{at: 10 * time.Second, call: "reserve", key: "y"},
			{at: 10 * time.Second, call: "refused", key: "y", after: 10 * time.Second, wait: 10 * time.Second, rate: 15},
			{at: 10 * time.Second, call: "reserve", key: "z", wait: 14 * time.Second},
		}},
		{name: "an hourly limit holds calls beyond it", limits: pace.Limits{PerMinute: 600, PerHour: 2}, steps: []step{
			{call: "reserve", key: "a"},
			{call: "reserve", key: "b"},
			{call: "reserve", key: "c", min: 30 * time.Minute}, // asks again when the hour nears its end
			{at: time.Hour, call: "reserve", key: "c"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pace.New(tt.limits)
			at := time.Duration(0)
			for i, s := range tt.steps {
				at = max(at, s.at)
				now := t0.Add(at)
				msg := fmt.Sprintf("step %d: %s %s at %s", i, s.call, s.key, at)
				var got time.Duration
				switch s.call {
				case "reserve":
					got = p.Reserve(s.key, now)
				case "accepted":
					p.Accepted(s.key, now)
				case "refused":
					got = p.Refused(s.key, now, s.after)
				}
				if s.min > 0 {
					require.GreaterOrEqual(t, got, s.min, msg)
				} else {
					require.Equal(t, s.wait, got, msg)
				}
				if s.rate > 0 {
					require.InDelta(t, s.rate, p.PerMinute(), 0.01, msg)
				}
			}
		})
	}
}

// run plays mails through a Pacer and a fake service (sim_test.go) and
// returns the sim and its service.
type run struct {
	limits  pace.Limits
	limit   int // the service's: limit calls in any window
	window  time.Duration
	random  float64 // share of calls refused at random
	latency time.Duration
	mails   int
	gap     time.Duration // between two mails' first deliveries
	restart time.Duration // when set, the process restarts then
	seed    uint64
}

func (r run) play(t *testing.T) (*sim, *service) {
	t.Helper()
	rng := rand.New(rand.NewPCG(r.seed, 9))
	svc := &service{limit: r.limit, window: r.window, random: r.random, rng: rng}
	s := &sim{p: pace.New(r.limits), svc: svc, latency: r.latency, poll: time.Second, busy: 24, rng: rng}
	if r.restart > 0 {
		s.restart, s.newPacer = t0.Add(r.restart), func() *pace.Pacer { return pace.New(r.limits) }
	}
	s.mails(r.mails, t0, r.gap)
	s.run(r.mails, t0.Add(24*time.Hour))
	require.Equal(t, r.mails, s.done, "every mail sent")
	return s, svc
}

func (r run) perMinute() float64 { return float64(r.limit) / r.window.Minutes() }

// TestSteadyStateAtTheLimit: a configured rate equal to the service's
// paces a backlog at the limit with no refusal, when the calls come back
// when told.
func TestSteadyStateAtTheLimit(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	svc := &service{limit: 10, window: 10 * time.Second, rng: rng}
	s := &sim{p: pace.New(pace.Limits{PerMinute: 60}), svc: svc, latency: 200 * time.Millisecond, rng: rng}
	s.mails(600, t0, 0)
	s.run(600, t0.Add(time.Hour))
	require.Equal(t, 600, s.done)
	require.Zero(t, svc.refusedLimit, "refused over the limit")
	require.InDelta(t, 60, svc.drain(t0), 1, "mails a minute")
	require.InDelta(t, 60, s.meanRate(), 0.01, "the Pacer's rate")
}

// TestRandomRefusalsDoNotCollapseTheRate plays thousands of mails through a
// service that refuses 5 or 15 % of the calls at random and answers slowly:
// the Pacer's rate and the mails accepted a minute stay at or above 80 %
// of the service's limit, with or without a configured rate.
func TestRandomRefusalsDoNotCollapseTheRate(t *testing.T) {
	for _, random := range []float64{0.05, 0.15} {
		for _, conf := range []int{0, 60} {
			for seed := range uint64(3) {
				r := run{limits: pace.Limits{PerMinute: conf}, limit: 10, window: 10 * time.Second, random: random,
					latency: 2 * time.Second, mails: 2000, seed: seed}
				t.Run(fmt.Sprintf("%.0f%% refused, MAIL_RATE_LIMIT %d, seed %d", 100*random, conf, seed), func(t *testing.T) {
					s, svc := r.play(t)
					t.Logf("drain %.1f a minute, mean rate %.1f, %.2f requests a mail", svc.drain(t0), s.meanRate(), float64(s.requests)/float64(r.mails))
					require.GreaterOrEqual(t, s.meanRate(), 0.8*r.perMinute(), "the Pacer's mean rate")
					require.GreaterOrEqual(t, svc.drain(t0), 0.8*r.perMinute(), "mails accepted a minute")
				})
			}
		}
	}
}

// TestBurstMeetsTheQuota: a burst of mails through a quota drains at about
// the quota with about one request a mail, with or without a configured
// rate; so does a short burst against the fault run's fake ACS, also when
// the process restarts in the middle of it (and learns again).
func TestBurstMeetsTheQuota(t *testing.T) {
	for _, r := range []run{
		{limit: 30, window: time.Minute, latency: 200 * time.Millisecond, mails: 500, gap: 20 * time.Millisecond},
		{limits: pace.Limits{PerMinute: 30}, limit: 30, window: time.Minute, latency: 200 * time.Millisecond, mails: 500, gap: 20 * time.Millisecond},
		{limit: 10, window: 10 * time.Second, random: 0.05, latency: 3 * time.Second, mails: 44, gap: 250 * time.Millisecond},
		{limit: 10, window: 10 * time.Second, random: 0.05, latency: 3 * time.Second, mails: 44, gap: 250 * time.Millisecond, seed: 1},
		{limit: 10, window: 10 * time.Second, random: 0.05, latency: time.Second, mails: 44, gap: 250 * time.Millisecond, restart: 5 * time.Second},
		{limit: 10, window: 10 * time.Second, random: 0.05, latency: time.Second, mails: 44, gap: 250 * time.Millisecond, restart: 5 * time.Second, seed: 1},
		{limit: 10, window: 10 * time.Second, random: 0.05, latency: time.Second, mails: 44, gap: 250 * time.Millisecond, restart: 8 * time.Second, seed: 2},
	} {
		t.Run(fmt.Sprintf("%d mails through %d per %s, MAIL_RATE_LIMIT %d, restart at %s, seed %d", r.mails, r.limit, r.window, r.limits.PerMinute, r.restart, r.seed), func(t *testing.T) {
			s, svc := r.play(t)
			perMail := float64(s.requests) / float64(r.mails)
			t.Logf("drain %.1f a minute, %.2f requests a mail", svc.drain(t0), perMail)
			require.GreaterOrEqual(t, svc.drain(t0), 0.8*r.perMinute(), "mails accepted a minute")
			if r.random == 0 {
				require.LessOrEqual(t, perMail, 1.5, "requests a mail")
			}
		})
	}
}

// TestATrickleThenABurst: refusals at random while the mails come slower
// than the quota do not slow a burst after them.
func TestATrickleThenABurst(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	svc := &service{limit: 10, window: 10 * time.Second, random: 0.15, rng: rng}
	s := &sim{p: pace.New(pace.Limits{}), svc: svc, latency: 2 * time.Second, poll: time.Second, busy: 24, rng: rng}
	s.mails(30, t0, 10*time.Second) // 6 a minute
	burst := t0.Add(6 * time.Minute)
	for i := range 300 {
		s.at(burst, fmt.Sprint("burst", i), time.Time{})
	}
	s.run(330, t0.Add(time.Hour))
	require.Equal(t, 330, s.done)
	require.GreaterOrEqual(t, svc.drain(burst), 0.8*60, "the burst's mails accepted a minute")
}

// TestHourlyLimit: with a limit an hour, no hour has more calls, and the
// calls go on at it.
func TestHourlyLimit(t *testing.T) {
	r := run{limits: pace.Limits{PerMinute: 30, PerHour: 100}, latency: 200 * time.Millisecond, mails: 300}
	s, svc := r.play(t)
	require.LessOrEqual(t, svc.mostIn(time.Hour), 100, "calls in any hour")
	require.Zero(t, svc.refusedLimit+svc.refusedRandom)
	last := svc.accepted[len(svc.accepted)-1]
	require.Less(t, last.Sub(t0), 2*time.Hour+5*time.Minute, "the third hundred in the third hour")
	require.Equal(t, 300, s.requests, "one request a mail")
}

// TestARefusalWithNobodyWaiting: a quota learnt from a refusal that comes
// while nobody waits and no other call is in flight (mails that came one
// by one, then a burst during the pause) paces the burst: its mails do not
// all go at the pause's end.
func TestARefusalWithNobodyWaiting(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	svc := &service{limit: 30, window: time.Minute, rng: rng}
	s := &sim{p: pace.New(pace.Limits{}), svc: svc, latency: 200 * time.Millisecond, poll: time.Second, busy: 24, rng: rng}
	s.mails(31, t0, time.Second) // the 31st is refused, alone
	burst := t0.Add(35 * time.Second)
	for i := range 119 {
		s.at(burst, fmt.Sprint("burst", i), time.Time{})
	}
	s.run(150, t0.Add(time.Hour))
	require.Equal(t, 150, s.done)
	perMail := float64(s.requests) / 150
	t.Logf("drain %.1f a minute, %.2f requests a mail", svc.drain(t0), perMail)
	require.LessOrEqual(t, perMail, 1.5, "requests a mail")
	require.GreaterOrEqual(t, svc.drain(t0), 0.8*30, "mails accepted a minute")
}
