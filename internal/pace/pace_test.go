package pace

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// step is one call on a Pacer and the wait it must answer.
type step struct {
	at     time.Duration // since t0
	call   string        // reserve, refused or accepted
	key    string
	after  time.Duration // refused: the service's Retry-After
	wantOK bool          // reserve: may go now
	want   time.Duration // the wait answered (reserve when !wantOK, refused)
}

func TestPacer(t *testing.T) {
	tests := []struct {
		name      string
		perMinute int
		steps     []step
	}{
		{name: "no rate and no refusal: everything goes", steps: []step{
			{call: "reserve", key: "a", wantOK: true},
			{call: "reserve", key: "b", wantOK: true},
			{call: "reserve", key: "c", wantOK: true},
		}},
		{name: "a configured rate spaces the slots and keeps each key's", perMinute: 30, steps: []step{
			{call: "reserve", key: "a", wantOK: true},
			{call: "reserve", key: "b", want: 2 * time.Second},
			{call: "reserve", key: "c", want: 4 * time.Second},
			{call: "reserve", key: "b", want: 2 * time.Second}, // asks again: same slot, nobody overtakes
			{at: 1500 * time.Millisecond, call: "reserve", key: "b", wantOK: true},
			{at: 1500 * time.Millisecond, call: "reserve", key: "d", want: 4500 * time.Millisecond},
			{at: 3 * time.Second, call: "reserve", key: "c", wantOK: true}, // within Tolerance of its slot
		}},
		{name: "a refusal learns a spacing behind the service's pause", steps: []step{
			{call: "reserve", key: "a", wantOK: true},
			{call: "refused", key: "a", after: 10 * time.Second, want: 10 * time.Second},
			{call: "reserve", key: "b", want: 10*time.Second + firstSpacing},
			{call: "refused", key: "c", after: 10 * time.Second, want: 10*time.Second + 2*firstSpacing}, // the same instant: no second widening
			// No pause given, a second later: the spacing doubles and the
			// slots handed out at the old one are forgotten.
			{at: time.Second, call: "refused", key: "d", after: 0, want: 2 * firstSpacing},
			{at: 10 * time.Second, call: "reserve", key: "a", wantOK: true},
		}},
		{name: "the service's pause outlasts the slot", perMinute: 600, steps: []step{
			{call: "refused", key: "a", after: time.Minute, want: time.Minute},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(tt.perMinute)
			for i, s := range tt.steps {
				now := t0.Add(s.at)
				msg := fmt.Sprintf("step %d: %s %s", i, s.call, s.key)
				switch s.call {
				case "reserve":
					got := p.Reserve(s.key, now)
					if s.wantOK {
						require.Zero(t, got, msg)
					} else {
						require.Equal(t, s.want, got, msg)
					}
				case "refused":
					require.Equal(t, s.want, p.Refused(s.key, now, s.after), msg)
				case "accepted":
					p.Accepted()
				}
			}
		})
	}
}

// TestSpacingWidensAndRelaxes: each refusal doubles the spacing at most
// once per spacing, up to MaxSpacing; accepted sends shrink it back to the
// configured floor, and a learnt one to nothing.
func TestSpacingWidensAndRelaxes(t *testing.T) {
	p := New(0)
	now := t0
	for range 40 {
		p.Refused("k", now, 0)
		now = now.Add(p.spacing)
	}
	require.Equal(t, MaxSpacing, p.spacing)
	for range 1000 {
		p.Accepted()
	}
	require.Zero(t, p.spacing, "a learnt spacing relaxes to none")

	p = New(60)
	p.Refused("k", t0, 0)
	require.Equal(t, 2*time.Second, p.spacing)
	for range 1000 {
		p.Accepted()
	}
	require.Equal(t, time.Second, p.spacing, "never below the configured rate")
}

// TestSlotsAreBounded: keys that never come back are forgotten.
func TestSlotsAreBounded(t *testing.T) {
	p := New(60)
	for i := range maxSlots + 100 {
		p.Reserve(fmt.Sprint("k", i), t0)
	}
	require.LessOrEqual(t, len(p.slots), maxSlots)
}

// TestBurstMeetsTheQuota plays a burst of mails through a fake service that
// accepts limit per sliding window and answers after a latency (so that at
// the first refusal most accepted calls are still unanswered), each refused
// or paced mail coming back when told: the mails need about one request
// each and drain at about the quota's pace.
func TestBurstMeetsTheQuota(t *testing.T) {
	cases := []struct {
		perMinute int
		limit     int
		window    time.Duration
		latency   time.Duration
		random    float64 // share of requests refused at random, with a 1 s pause
		// arrival is the time between two mails' first deliveries (10 ms:
		// a burst); a trickle under the quota must not be slowed below
		// its own pace by the random refusals.
		arrival time.Duration
	}{
		{0, 30, time.Minute, 0, 0, 0}, {0, 30, time.Minute, time.Second, 0, 0}, {30, 30, time.Minute, 1500 * time.Millisecond, 0, 0},
		{0, 5, 10 * time.Second, 500 * time.Millisecond, 0, 0}, {30, 5, 10 * time.Second, 500 * time.Millisecond, 0, 0},
		// The fault run's fake ACS: 10 per 10 s, and 5 % refused at random.
		{0, 10, 10 * time.Second, 200 * time.Millisecond, 0.05, 0}, {0, 10, 10 * time.Second, 200 * time.Millisecond, 0.15, 0},
		// A trickle at half the quota (one mail every 2 s against 60 a
		// minute), 5 and 15 % refused at random.
		{0, 10, 10 * time.Second, 200 * time.Millisecond, 0.05, 2 * time.Second},
		{0, 10, 10 * time.Second, 200 * time.Millisecond, 0.15, 2 * time.Second},
	}
	for _, c := range cases {
		arrival := max(c.arrival, 10*time.Millisecond)
		t.Run(fmt.Sprintf("configured %d, service %d per %s answering in %s, %.0f%% refused at random, a mail every %s", c.perMinute, c.limit, c.window, c.latency, 100*c.random, arrival), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			const mails = 300
			type answer struct {
				at    time.Time
				key   string
				after time.Duration // 0: accepted
			}
			p := New(c.perMinute)
			var accepted []time.Time
			var answers []answer
			due := map[string]time.Time{} // mail -> when it is delivered (again)
			for i := range mails {
				due[fmt.Sprint("m", i)] = t0.Add(time.Duration(i) * arrival)
			}
			requests, done := 0, 0
			for now := t0; done < mails && now.Before(t0.Add(2*time.Hour)); now = now.Add(100 * time.Millisecond) {
				kept := answers[:0]
				for _, a := range answers {
					switch {
					case a.at.After(now):
						kept = append(kept, a)
					case a.after == 0:
						p.Accepted()
						done++
					default:
						due[a.key] = now.Add(p.Refused(a.key, now, a.after))
					}
				}
				answers = kept
				for key, at := range due {
					if at.After(now) {
						continue
					}
					delete(due, key)
					if wait := p.Reserve(key, now); wait > 0 {
						due[key] = now.Add(wait)
						continue
					}
					requests++
					if rng.Float64() < c.random {
						answers = append(answers, answer{now.Add(c.latency), key, time.Second})
						continue
					}
					recent := 0
					for _, a := range accepted {
						if now.Sub(a) < c.window {
							recent++
						}
					}
					if recent >= c.limit {
						answers = append(answers, answer{now.Add(c.latency), key, accepted[len(accepted)-c.limit].Add(c.window).Sub(now)})
						continue
					}
					accepted = append(accepted, now)
					answers = append(answers, answer{at: now.Add(c.latency), key: key})
				}
			}
			require.Equal(t, mails, done, "every mail sent")
			perMail := float64(requests) / mails
			drain := accepted[len(accepted)-1].Sub(t0)
			t.Logf("%d requests for %d mails (%.2f each), drained in %s", requests, mails, perMail, drain)
			require.LessOrEqual(t, perMail, 1.5+2*c.random)
			ideal := max(time.Duration(mails/c.limit-1)*c.window, time.Duration(mails-1)*arrival)
			require.Less(t, drain, ideal+ideal/4+c.window, "about the quota's pace, or the mails' own")
		})
	}
}

// TestAShortPauseLooksBackShortly: a refusal with a one-second pause after a
// slow trickle of calls says the service's window is short; the trickle's
// own pace is no measure of the quota, so a burst after it is not slowed to
// the trickle's pace.
func TestAShortPauseLooksBackShortly(t *testing.T) {
	p := New(0)
	for i := range 10 { // one call every 3 s
		require.Zero(t, p.Reserve(fmt.Sprint("slow", i), t0.Add(time.Duration(i)*3*time.Second)))
	}
	now := t0.Add(30 * time.Second)
	require.Zero(t, p.Reserve("burst0", now))
	p.Refused("burst0", now, time.Second)
	require.Less(t, p.spacing, time.Second, "learnt from the second before the refusal, not the half minute")

	// A pause of a minute after the same trickle looks back a minute.
	p = New(0)
	for i := range 10 {
		require.Zero(t, p.Reserve(fmt.Sprint("slow", i), t0.Add(time.Duration(i)*3*time.Second)))
	}
	require.Zero(t, p.Reserve("burst0", now))
	p.Refused("burst0", now, time.Minute)
	require.Equal(t, (90*time.Second)/10, p.spacing, "10 calls from t0, none until 90 s")
}

// TestARefusalAtRandomIsNotAQuota: pacing already, with nobody waiting for
// a slot, one refusal with a short pause leaves the spacing as it was (the
// calls came slower than it lets them: the service did not refuse our
// pace); refusals that keep coming are learnt from again.
func TestARefusalAtRandomIsNotAQuota(t *testing.T) {
	p := New(0)
	now := t0
	for i := range 5 { // a burst, refused: pacing starts
		require.Zero(t, p.Reserve(fmt.Sprint("b", i), now))
	}
	p.Refused("b4", now, time.Second)
	learnt := p.spacing
	require.Positive(t, learnt)
	p.Reserve("b4", now.Add(time.Second)) // it comes back at its slot
	delete(p.slots, "b4")

	// A trickle, one call every 2 s, far slower than the spacing.
	for i := range 10 {
		now = t0.Add(10*time.Second + time.Duration(i)*2*time.Second)
		require.Zero(t, p.Reserve(fmt.Sprint("t", i), now))
	}
	require.Empty(t, p.slots, "nobody waits")
	p.Refused("t9", now, time.Second)
	require.Equal(t, learnt, p.spacing, "one refusal of a trickle is not its quota")

	// Refusals that keep coming are.
	for i := range minEvidence {
		now = now.Add(100 * time.Millisecond)
		key := fmt.Sprint("r", i)
		p.Reserve(key, now)
		p.Refused(key, now, time.Second)
	}
	require.NotEqual(t, learnt, p.spacing, "refusals that keep coming are learnt from")
}
