package pace

import (
	"fmt"
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
			{at: time.Second, call: "refused", key: "d", after: 0, want: 10*time.Second + 3*firstSpacing - time.Second},
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
					p.Accepted(now)
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
		p.Accepted(now)
	}
	require.Zero(t, p.spacing, "a learnt spacing relaxes to none")

	p = New(60)
	p.Refused("k", t0, 0)
	require.Equal(t, 2*time.Second, p.spacing)
	for range 1000 {
		p.Accepted(t0)
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
// accepts 30 a minute over a sliding minute, each refused mail coming back
// when the pacer says: the mails need about one request each.
func TestBurstMeetsTheQuota(t *testing.T) {
	cases := []struct {
		perMinute int
		limit     int
		window    time.Duration
	}{{0, 30, time.Minute}, {30, 30, time.Minute}, {0, 5, 10 * time.Second}, {30, 5, 10 * time.Second}}
	for _, c := range cases {
		t.Run(fmt.Sprintf("configured %d, service %d per %s", c.perMinute, c.limit, c.window), func(t *testing.T) {
			const mails = 300
			perMinute, limit, window := c.perMinute, c.limit, c.window
			p := New(perMinute)
			var accepted []time.Time
			due := map[string]time.Time{} // mail -> when it is delivered again
			for i := range mails {
				due[fmt.Sprint("m", i)] = t0.Add(time.Duration(i) * 10 * time.Millisecond)
			}
			requests := 0
			for now := t0; len(due) > 0 && now.Before(t0.Add(2*time.Hour)); now = now.Add(100 * time.Millisecond) {
				for key, at := range due {
					if at.After(now) {
						continue
					}
					if wait := p.Reserve(key, now); wait > 0 {
						due[key] = now.Add(wait)
						continue
					}
					requests++
					recent := 0
					for _, a := range accepted {
						if now.Sub(a) < window {
							recent++
						}
					}
					if recent >= limit {
						due[key] = now.Add(p.Refused(key, now, accepted[len(accepted)-limit].Add(window).Sub(now)))
						continue
					}
					accepted = append(accepted, now)
					p.Accepted(now)
					delete(due, key)
				}
			}
			require.Empty(t, due, "every mail sent")
			perMail := float64(requests) / mails
			t.Logf("%d requests for %d mails (%.2f each), drained in %s", requests, mails, perMail, accepted[len(accepted)-1].Sub(t0))
			require.LessOrEqual(t, perMail, 1.5)
			require.Less(t, accepted[len(accepted)-1].Sub(t0), 14*time.Minute, "about the quota's pace: 300 at 30 a minute is 10 minutes")
		})
	}
}
