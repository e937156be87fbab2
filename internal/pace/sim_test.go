package pace_test

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/filedrop/filedrop/internal/pace"
)

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// service is a fake mail service with a sliding-window quota: it accepts
// limit calls in any window, refuses the others with the Retry-After until
// the window frees (in whole seconds, rounded up, as ACS answers), and
// refuses a share of calls at random with a pause of a second.
type service struct {
	limit                       int
	window                      time.Duration
	random                      float64
	rng                         *rand.Rand
	accepted                    []time.Time
	refusedRandom, refusedLimit int
}

// call answers a call arriving at now: 0 when accepted, else the pause.
func (s *service) call(now time.Time) (refused bool, after time.Duration) {
	if s.rng.Float64() < s.random {
		s.refusedRandom++
		return true, time.Second
	}
	if s.limit > 0 {
		recent := 0
		for i := len(s.accepted) - 1; i >= 0 && now.Sub(s.accepted[i]) < s.window; i-- {
			recent++
		}
		if recent >= s.limit {
			s.refusedLimit++
			free := s.accepted[len(s.accepted)-s.limit].Add(s.window).Sub(now)
			return true, time.Duration(math.Ceil(free.Seconds())) * time.Second
		}
	}
	s.accepted = append(s.accepted, now)
	return false, 0
}

// mostIn is the most accepted calls in any span of d.
func (s *service) mostIn(d time.Duration) int {
	best, j := 0, 0
	for i := range s.accepted {
		for j < len(s.accepted) && s.accepted[j].Sub(s.accepted[i]) < d {
			j++
		}
		best = max(best, j-i)
	}
	return best
}

// sim plays mails through a Pacer and a service as SendLink and the queue
// do: a mail told to wait is re-scheduled for that long in whole seconds
// (a queue message's visibility) and picked up again up to a poll later; a
// send is answered after the service's latency; a refused mail waits for
// the slot Refused gives it.
type sim struct {
	p       *pace.Pacer
	svc     *service
	latency time.Duration
	poll    time.Duration // the most a message waits for a poll once visible
	// busy is how many sends may be in flight at once (the host's batch);
	// a message delivered beyond it waits for the next poll.
	busy     int
	inFlight int
	// restart, when set, is when the process restarts: a new Pacer from
	// then on, the old one's slots forgotten.
	restart  time.Time
	newPacer func() *pace.Pacer
	rng      *rand.Rand

	events   events
	seq      int
	requests int
	done     int
	rates    []float64 // the Pacer's rate at each send, a minute
}

type event struct {
	at   time.Time
	key  string
	sent time.Time // an answer: when its call was let through
	seq  int
}

type events []event

func (e events) Len() int { return len(e) }
func (e events) Less(i, j int) bool {
	return e[i].at.Before(e[j].at) || e[i].at.Equal(e[j].at) && e[i].seq < e[j].seq
}
func (e events) Swap(i, j int) { e[i], e[j] = e[j], e[i] }
func (e *events) Push(x any)   { *e = append(*e, x.(event)) }
func (e *events) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}

func (s *sim) at(at time.Time, key string, sent time.Time) {
	s.seq++
	heap.Push(&s.events, event{at: at, key: key, sent: sent, seq: s.seq})
}

// deliver schedules key's queue message to be handled after wait.
func (s *sim) deliver(now time.Time, key string, wait time.Duration) {
	if wait > 0 {
		wait = max(wait.Round(time.Second), time.Second)
	}
	if s.poll > 0 {
		wait += time.Duration(s.rng.Int64N(int64(s.poll)))
	}
	s.at(now.Add(wait+time.Millisecond), key, time.Time{})
}

// mails queues n mails, one every gap from start.
func (s *sim) mails(n int, start time.Time, gap time.Duration) {
	for i := range n {
		s.at(start.Add(time.Duration(i)*gap), fmt.Sprint("m", i), time.Time{})
	}
}

// run plays the events until every mail is sent or until end.
func (s *sim) run(n int, end time.Time) {
	for s.events.Len() > 0 && s.done < n {
		if s.events[0].at.After(end) {
			return
		}
		ev := heap.Pop(&s.events).(event)
		now := ev.at
		if !s.restart.IsZero() && !now.Before(s.restart) {
			s.p, s.restart = s.newPacer(), time.Time{}
		}
		if ev.sent.IsZero() { // a delivery of the message
			if s.busy > 0 && s.inFlight >= s.busy {
				s.deliver(now, ev.key, 0)
				continue
			}
			if wait := s.p.Reserve(ev.key, now); wait > 0 {
				s.deliver(now, ev.key, wait)
				continue
			}
			s.requests++
			s.inFlight++
			s.rates = append(s.rates, s.p.PerMinute())
			s.at(now.Add(s.latency), ev.key, now)
			continue
		}
		// The answer, at now; the service decided when the call arrived.
		s.inFlight--
		refused, after := s.svc.call(ev.sent.Add(s.latency / 2))
		if !refused {
			s.p.Accepted(ev.key, now)
			s.done++
			continue
		}
		s.deliver(now, ev.key, s.p.Refused(ev.key, now, after))
	}
}

// drain is the calls accepted a minute from the first accepted at or
// after from to the last.
func (s *service) drain(from time.Time) float64 {
	i := 0
	for i < len(s.accepted) && s.accepted[i].Before(from) {
		i++
	}
	n := len(s.accepted) - i
	if n < 2 {
		return 0
	}
	return float64(n-1) / s.accepted[len(s.accepted)-1].Sub(s.accepted[i]).Minutes()
}

// meanRate is the Pacer's mean rate at the sends, a minute.
func (s *sim) meanRate() float64 {
	total := 0.0
	for _, r := range s.rates {
		total += r
	}
	return total / float64(len(s.rates))
}
