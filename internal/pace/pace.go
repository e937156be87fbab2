// Package pace spaces a process's calls to a service with a quota, so that
// the quota is met by waiting rather than discovered by refusals.
//
// A Pacer hands out send slots: Reserve answers 0 (send now) or how long the
// caller must wait for its slot, and remembers the slot under the caller's
// key, so that the same message coming back at its time is let through
// instead of queueing again behind everyone who reserved since. The spacing
// is the configured rate's (New(perMinute)); without one, the Pacer lets
// everything through until the service refuses a call (Refused), and then
// learns a spacing from the calls it let through recently and the pause
// the service asks for: n calls let through (and not refused) since t, one
// pause back, and no more until now+after, make a quota of about n per
// (now+after-t). Calls still in flight count: at the first refusal of a
// burst, most of the accepted calls have not been answered yet. Without a
// pause to go by, the spacing doubles (at most once per spacing). Each
// accepted call shrinks a learnt spacing by a hundredth, so that a quota
// that grew is found again. Once pacing, a refusal while nobody waits for
// a slot (calls come slower than the spacing lets them) is not taken for
// the quota until refusals keep coming (minEvidence): a refusal at random
// would otherwise set the spacing to the calls' own pace, and every retry
// would then queue the next calls behind it.
// A refusal's Retry-After pushes every later slot behind it, and a spacing
// that at least doubles forgets the slots handed out at the narrower one.
//
// The Pacer is per process: with several instances, each paces its own
// sends, so a configured rate is per instance.
package pace

import (
	"sync"
	"time"
)

const (
	// Tolerance is how early a reserved slot may be used: a queue message
	// re-scheduled for its slot comes back at about that time, not exactly.
	Tolerance = time.Second
	// MaxSpacing caps the learnt spacing.
	MaxSpacing = 30 * time.Second
	// firstSpacing is the spacing learnt at the first refusal.
	firstSpacing = 250 * time.Millisecond
	// maxSlots bounds the reserved slots remembered; older ones are
	// forgotten first (their messages then reserve again).
	maxSlots = 10000
	// forgetAfter is how long a slot nobody came for is remembered, and how
	// long the calls let through are.
	forgetAfter = 10 * time.Minute
	// maxStarts bounds the calls let through, and the refusals, that are
	// remembered.
	maxStarts = 4096
	// minEvidence is how many refusals a look-back must hold before a
	// pacer that holds nobody back learns from them. Fewer are taken for
	// refusals at random: learnt from, a mail every 2 s and a refusal at
	// random with a 1 s pause made a spacing of 3 s, slower than the
	// mails came, and the backlog grew without end.
	minEvidence = 3
)

// Pacer hands out slots; its zero value is not usable: see New.
type Pacer struct {
	mu sync.Mutex
	// floor is the configured spacing (0: none).
	floor time.Duration
	// spacing is the current spacing between two slots (0: no pacing).
	spacing time.Duration
	// widened is when spacing last grew.
	widened time.Time
	// next is the first free slot.
	next  time.Time
	slots map[string]time.Time
	// starts are the times the latest calls were let through, oldest
	// first; a refused call takes its start back.
	starts []time.Time
	// refusals are the times of the latest refusals, oldest first.
	refusals []time.Time
}

// New returns a Pacer for perMinute calls a minute; 0 or less paces only
// after the service has refused a call.
func New(perMinute int) *Pacer {
	p := &Pacer{slots: map[string]time.Time{}}
	if perMinute > 0 {
		p.floor = time.Minute / time.Duration(perMinute)
		p.spacing = p.floor
	}
	return p
}

// Reserve returns how long the call named key must wait, from now, for its
// slot: 0 to go ahead. A key that has a slot keeps it.
func (p *Pacer) Reserve(key string, now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if slot, ok := p.slots[key]; ok {
		if wait := slot.Sub(now); wait > Tolerance {
			return wait
		}
		delete(p.slots, key)
		p.start(now)
		return 0
	}
	if p.spacing > 0 {
		slot := p.take(now)
		if wait := slot.Sub(now); wait > Tolerance {
			p.keep(key, slot, now)
			return wait
		}
	}
	p.start(now)
	return 0
}

// start remembers a call let through at now.
func (p *Pacer) start(now time.Time) {
	if len(p.starts) >= maxStarts {
		p.starts = append(p.starts[:0], p.starts[len(p.starts)-maxStarts/2:]...)
	}
	p.starts = append(p.starts, now)
}

// Refused records that the service refused the call named key and asked
// for a pause of after (0: it did not say), learns the spacing, and returns
// how long the call must wait for its new slot.
func (p *Pacer) Refused(key string, now time.Time, after time.Duration) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.slots, key)
	if n := len(p.starts); n > 0 {
		p.starts = p.starts[:n-1] // this call did not go through
	}
	if len(p.refusals) >= maxStarts {
		p.refusals = append(p.refusals[:0], p.refusals[len(p.refusals)-maxStarts/2:]...)
	}
	p.refusals = append(p.refusals, now)
	was := p.spacing
	p.learn(now, after)
	resume := now.Add(max(after, p.spacing)) // no sooner than one spacing
	if p.spacing > 0 && p.spacing >= 2*was {
		// The slots handed out were far too close (the first refusal of a
		// burst, or a quota that halved): forget them, so that each call
		// reserves again, in the order it comes back, at the new spacing.
		// A smaller correction keeps them: forgetting slots at every
		// refusal would push the calls already waiting back again and
		// again.
		clear(p.slots)
		p.next = resume
	}
	if p.next.Before(resume) {
		p.next = resume
	}
	slot := p.take(now)
	p.keep(key, slot, now)
	return max(slot.Sub(now), after)
}

// learn widens the spacing after a refusal at now with a pause of after.
func (p *Pacer) learn(now time.Time, after time.Duration) {
	cut := now.Add(-forgetAfter)
	i := 0
	for i < len(p.starts) && p.starts[i].Before(cut) {
		i++
	}
	p.starts = p.starts[i:]
	i = 0
	for i < len(p.refusals) && p.refusals[i].Before(cut) {
		i++
	}
	p.refusals = p.refusals[i:]
	if after > 0 {
		// The calls that can have counted towards this refusal: those of
		// the pause's length back (a sliding window's pause ends when its
		// oldest call leaves it), or of ten spacings, at least a second.
		// n of them went through from the first on, and none will until
		// now+after: about one per (now+after-first)/n.
		back := now.Add(-max(after, 10*p.spacing, time.Second))
		j := len(p.starts)
		for j > 0 && !p.starts[j-1].Before(back) {
			j--
		}
		refused := 0
		for k := len(p.refusals) - 1; k >= 0 && !p.refusals[k].Before(back); k-- {
			refused++
		}
		if held := len(p.slots) > 0; p.spacing > 0 && !held && refused < minEvidence {
			// Pacing already, nobody held back by it, and a refusal or
			// two: the calls came slower than the spacing lets them, so
			// it was not our pace that was refused (a refusal at random,
			// or another instance's burst). Its pause is honoured
			// (Refused holds the slots behind it); learning from it would
			// take our own slower pace for the quota.
			return
		}
		if n := len(p.starts) - j; n > 0 {
			est := now.Add(after).Sub(p.starts[j]) / time.Duration(n)
			p.spacing = min(max(est, p.floor), MaxSpacing)
			return
		}
	}
	if now.Sub(p.widened) >= p.spacing {
		p.spacing = min(max(2*p.spacing, firstSpacing, p.floor), MaxSpacing)
		p.widened = now
	}
}

// Accepted records that the service accepted a call: a learnt spacing
// shrinks a little, not below the configured one.
func (p *Pacer) Accepted() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.spacing > p.floor {
		p.spacing = max(p.spacing-p.spacing/100, p.floor)
		if p.floor == 0 && p.spacing < firstSpacing/2 {
			p.spacing = 0 // the quota is out of reach again: stop pacing
		}
	}
}

// take hands out the first free slot from now on.
func (p *Pacer) take(now time.Time) time.Time {
	slot := p.next
	if slot.Before(now) {
		slot = now
	}
	p.next = slot.Add(p.spacing)
	return slot
}

// keep remembers key's slot, forgetting stale slots when there are many.
func (p *Pacer) keep(key string, slot, now time.Time) {
	if len(p.slots) >= maxSlots {
		for k, s := range p.slots {
			if now.Sub(s) > forgetAfter {
				delete(p.slots, k)
			}
		}
		for k := range p.slots { // still full: forget any
			if len(p.slots) < maxSlots {
				break
			}
			delete(p.slots, k)
		}
	}
	p.slots[key] = slot
}
