// Package pace spaces a process's calls to a service with a quota, so that
// the quota is met by waiting rather than discovered by refusals.
//
// A Pacer hands out send slots: Reserve answers 0 (send now) or how long the
// caller must wait for its slot, and remembers the slot under the caller's
// key, so that the same message coming back at its time goes ahead instead
// of queueing again behind everyone who reserved since. Slots are handed out
// at most Horizon ahead; a caller further back asks again then. A
// golang.org/x/time/rate Limiter spaces the slots, and its rate follows
// additive increase, multiplicative decrease (AIMD): each accepted call
// (Accepted) raises it by a twentieth of its scale, up to the scale; a
// refusal (Refused) halves it and holds every new slot until the service's
// Retry-After. The scale is Limits.PerMinute when set. Without it the
// Pacer lets everything through until a refusal shows a quota (and a
// handful of accepted calls measure it), then starts at the pace the
// service accepted, and probes up to a quarter above the pace it is known
// to accept. Limits.PerHour caps the calls let through in any hour.
//
// The rule cannot collapse. A halving never goes below the pace the
// service accepted (the calls of the last minute, accepted or still in
// flight, spread up to the end of its pause), so a busy machine that sent
// fewer, or refusals at random, do not pull the rate below what the
// service takes. A refusal lowers the rate only if the rate is what holds
// the calls back (this call waited for its slot, or others wait), and only
// once for the calls handed out at the same rate: a refusal of a call whose
// slot came before the last halving was answered by it. Without a rate, a
// refusal while nobody waits sets the rate once a handful of callers wait
// for its pause, so that they are spaced rather than all let through at
// its end. The increase is counted per accepted call, never per unit of
// time, so slow answers delay the recovery only as much as they delay the
// sends, and a few successes undo a halving. A refusal moves no waiting
// caller's slot: the new rate and the pause apply to the slots handed out
// after it.
//
// The Pacer is per process: with several instances, each paces its own
// sends, so a configured rate is per instance.
package pace

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

const (
	// Horizon is how far ahead slots are handed out: a caller whose slot
	// would be further is told to ask again then, so that a rate that
	// rose meanwhile serves it sooner.
	Horizon = time.Minute
	// Tolerance is how early a reserved slot may be used: a queue message
	// re-scheduled for its slot comes back at about that time, not exactly.
	Tolerance = 500 * time.Millisecond
	// MinPerMinute is the lowest rate a refusal leaves.
	MinPerMinute = 1.0
	// steps is how many accepted calls raise the rate by its scale: after a
	// halving, steps/2 successes restore it.
	steps = 20
	// maxSlots bounds the reserved slots remembered; older ones are
	// forgotten first (their messages then reserve again).
	maxSlots = 10000
	// forgetAfter is how long a slot nobody came for is remembered.
	forgetAfter = 10 * time.Minute
	// minSpan is the shortest time a pace is measured over, and minCalls
	// the fewest calls a quota is learnt from.
	minSpan  = 10 * time.Second
	minCalls = 5
)

// Limits are a service's quotas; zero is no quota known.
type Limits struct {
	// PerMinute is the calls a minute the service accepts; 0 learns the
	// rate from its refusals.
	PerMinute int
	// PerHour is the calls the service accepts in any hour; 0 for none.
	PerHour int
}

// Pacer hands out slots; its zero value is not usable: see New.
type Pacer struct {
	mu     sync.Mutex
	limits Limits
	// lim spaces the slots at the current rate (rate.Inf until the first
	// refusal when no rate is configured).
	lim *rate.Limiter
	// clock is the latest time given to lim, which must not go back; end
	// is the latest slot handed out.
	clock, end time.Time
	// learnt is the pace, a minute, the service accepted at the last
	// refusal that halved the rate (without Limits.PerMinute).
	learnt float64
	// pause is the end of the service's latest Retry-After: no new slot
	// before it.
	pause time.Time
	// cut is when the rate was last halved.
	cut time.Time
	// unpaced is the end of the pause of a refusal that came while there
	// was no rate and nobody waited: once minCalls callers wait for that
	// pause, the rate is set.
	unpaced time.Time
	// slots are the waiting callers' slots, and sent the calls let
	// through and not yet answered.
	slots, sent map[string]grant
	// accepted are the times of the calls accepted in the last minute,
	// and start the time of the first call.
	accepted []time.Time
	start    time.Time
	// hour are the times of the latest calls let through, at most
	// 2*Limits.PerHour of them, oldest first.
	hour []time.Time
}

// grant is a slot: its time, when it was handed out, and whether the rate
// held its caller back.
type grant struct {
	at, granted time.Time
	held        bool
}

// New returns a Pacer for the service's limits.
func New(l Limits) *Pacer {
	p := &Pacer{limits: l, lim: rate.NewLimiter(rate.Inf, 1),
		slots: map[string]grant{}, sent: map[string]grant{}}
	if l.PerMinute > 0 {
		p.lim.SetLimit(perMinute(float64(l.PerMinute)))
	}
	return p
}

// PerMinute returns the current rate in calls a minute (0: not pacing).
func (p *Pacer) PerMinute() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rate()
}

// rate is the current rate a minute, 0 for none. p.mu must be held.
func (p *Pacer) rate() float64 {
	if l := p.lim.Limit(); l != rate.Inf {
		return float64(l) * 60
	}
	return 0
}

// Reserve returns how long the call named key must wait, from now, for its
// slot: 0 to go ahead. A key that has a slot keeps it.
func (p *Pacer) Reserve(key string, now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.start.IsZero() {
		p.start = now
	}
	if g, ok := p.slots[key]; ok {
		if wait := g.at.Sub(now); wait > Tolerance {
			return wait
		}
		delete(p.slots, key)
		if wait := p.hourFree().Sub(now); wait > 0 {
			return wait // the slot's hour filled up: ask again then
		}
		p.send(key, g, now)
		return 0
	}
	return p.reserve(key, now)
}

// hourFree is when the hourly limit lets the next call through. p.mu
// must be held.
func (p *Pacer) hourFree() time.Time {
	if n := p.limits.PerHour; n > 0 && len(p.hour) >= n {
		return p.hour[len(p.hour)-n].Add(time.Hour)
	}
	return time.Time{}
}

// send records that the call named key, with grant g, is let through at
// now. p.mu must be held.
func (p *Pacer) send(key string, g grant, now time.Time) {
	p.remember(p.sent, key, g, now)
	if n := p.limits.PerHour; n > 0 {
		if len(p.hour) >= 2*n {
			p.hour = append(p.hour[:0], p.hour[len(p.hour)-n:]...)
		}
		p.hour = append(p.hour, now)
	}
}

// reserve hands key the next slot, or tells it to ask again: p.mu must be
// held.
func (p *Pacer) reserve(key string, now time.Time) time.Duration {
	g, ok := p.take(now)
	wait := g.at.Sub(now)
	switch {
	case !ok:
		return wait
	case wait > Tolerance:
		p.remember(p.slots, key, g, now)
		return wait
	}
	p.send(key, g, now)
	return 0
}

// take hands out the next slot from now on: after the pause, at the
// limiter's spacing and, with an hourly limit, an hour after the call
// PerHour calls back. A slot further than Horizon away is not handed out
// (ok false): g.at is when to ask again.
func (p *Pacer) take(now time.Time) (g grant, ok bool) {
	from := maxTime(now, p.pause)
	if now.Before(p.unpaced) && p.rate() == 0 && len(p.slots) >= minCalls {
		// Callers pile up behind a refusal's pause while there is no
		// rate: without one, every one of them would get its end.
		p.unpaced = time.Time{}
		p.halve(now, p.pause.Sub(now))
	}
	from = maxTime(from, p.hourFree())
	if from.Sub(now) > Horizon {
		return grant{at: from.Add(-Horizon / 2)}, false
	}
	p.clock = maxTime(p.clock, from)
	var spaced time.Duration
	if l := p.lim.Limit(); l != rate.Inf {
		if tokens := p.lim.TokensAt(p.clock); tokens < 1 {
			spaced = time.Duration((1 - tokens) / float64(l) * float64(time.Second))
		}
	}
	if p.clock.Add(spaced).Sub(now) > Horizon {
		return grant{at: now.Add(Horizon)}, false
	}
	spaced = p.lim.ReserveN(p.clock, 1).DelayFrom(p.clock)
	slot := p.clock.Add(spaced)
	p.end = maxTime(p.end, slot)
	return grant{at: slot, granted: now, held: spaced > 0}, true
}

// scale is the rate, a minute, that bounds the rate and that the step is
// a fraction of: Limits.PerMinute or, learning, the pace the service is
// known to accept. p.mu must be held.
func (p *Pacer) scale(now time.Time) float64 {
	if p.limits.PerMinute > 0 {
		return float64(p.limits.PerMinute)
	}
	// The calls accepted in the last minute, or since the first call or
	// the last halving when that is less than a minute ago (a process that
	// just started; a quota's window, whose calls before the halving were
	// the previous window's).
	span := min(max(now.Sub(maxTime(p.start, p.cut)), minSpan), time.Minute)
	n := 0
	for _, at := range p.recent(now) {
		if at.After(p.cut) {
			n++
		}
	}
	return max(p.learnt, float64(n)/span.Minutes())
}

// setRate sets the rate a minute for the slots handed out from now on,
// within [MinPerMinute, ceiling]; the slots handed out keep their times.
// Learning, the ceiling is a quarter above the pace the service is known
// to accept, so that the rate finds a quota that grew without running far
// ahead of it. p.mu must be held.
func (p *Pacer) setRate(r float64, now time.Time) {
	ceiling := p.scale(now)
	if p.limits.PerMinute == 0 {
		ceiling += ceiling / 4
	}
	r = max(min(r, ceiling), MinPerMinute)
	p.clock = maxTime(p.clock, p.end)
	p.lim.SetLimitAt(p.clock, perMinute(r))
}

// Accepted records that the service accepted the call named key at now:
// the rate rises by a step, a twentieth of the scale (or of the rate when
// that is higher).
func (p *Pacer) Accepted(key string, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.sent, key)
	p.accepted = append(p.recent(now), now)
	if r := p.rate(); r > 0 {
		p.setRate(r+max(p.scale(now), r)/steps, now)
	}
}

// recent drops the accepted calls older than a minute and returns the
// rest. p.mu must be held.
func (p *Pacer) recent(now time.Time) []time.Time {
	cut := now.Add(-time.Minute)
	i := 0
	for i < len(p.accepted) && !p.accepted[i].After(cut) {
		i++
	}
	p.accepted = p.accepted[i:]
	return p.accepted
}

// Refused records that the service refused the call named key at now and
// asked for a pause of after (0: it did not say): no new slot before the
// pause ends, and the rate halves when the rate held calls back and the
// call's slot was not handed out before the last halving. It returns how
// long the call must wait for its new slot.
func (p *Pacer) Refused(key string, now time.Time, after time.Duration) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	g, ok := p.sent[key]
	delete(p.sent, key)
	delete(p.slots, key)
	p.pause = maxTime(p.pause, now.Add(after))
	// The pacer's rate is in question only if it holds calls back: this
	// one, or others waiting for their slots.
	limiting := g.held || len(p.slots) > 0
	if limiting && (!ok || !g.granted.Before(p.cut)) {
		p.halve(now, after)
	}
	wait := max(p.reserve(key, now), after)
	if p.rate() == 0 && !limiting {
		p.unpaced = p.pause
	}
	return wait
}

// halve lowers the rate after a refusal at now with a pause of after: to
// half, but not below the pace the service accepted. Learning, that pace
// is the rate's scale, and the rate starts at it. p.mu must be held.
func (p *Pacer) halve(now time.Time, after time.Duration) {
	// The calls accepted in the last minute, and those let through since
	// and not answered yet: at the first refusal of a burst, most of the
	// accepted calls are still in flight.
	accepted := p.recent(now)
	n, first := len(accepted), now
	if n > 0 {
		first = accepted[0]
	}
	for _, g := range p.sent {
		if now.Sub(g.at) < time.Minute {
			n++
			first = minTime(first, g.at)
		}
	}
	floor := 0.0
	if n > 0 {
		floor = float64(n) / max(now.Add(after).Sub(first), time.Second).Minutes()
	}
	r := p.rate()
	if p.limits.PerMinute == 0 {
		if n < minCalls {
			// Too few calls to tell the quota from (a process that just
			// started, in a window its predecessor filled): the pause
			// is all.
			return
		}
		p.learnt = floor
		if r == 0 {
			r = 2 * floor
		}
	}
	p.cut = now
	p.setRate(max(r/2, floor), now)
}

// remember sets m[key], forgetting stale entries when there are many.
func (p *Pacer) remember(m map[string]grant, key string, g grant, now time.Time) {
	if len(m) >= maxSlots {
		for k, old := range m {
			if now.Sub(old.at) > forgetAfter {
				delete(m, k)
			}
		}
		for k := range m { // still full: forget any
			if len(m) < maxSlots {
				break
			}
			delete(m, k)
		}
	}
	m[key] = g
}

func perMinute(n float64) rate.Limit { return rate.Limit(n / 60) }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
