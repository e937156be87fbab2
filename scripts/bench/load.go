package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// result is what a run of many requests measured.
type result struct {
	// Requests is how many were attempted, Errors how many failed.
	Requests, Errors int
	// Elapsed is the wall time of the whole run.
	Elapsed time.Duration
	// latencies are of the successful requests, sorted.
	latencies []time.Duration
	// FirstError describes the first failure.
	FirstError string
}

// Rate is successful requests per second.
func (r result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests-r.Errors) / r.Elapsed.Seconds()
}

// Pct is the p-th percentile (0 < p <= 100) of the successful requests'
// latency, by nearest rank; 0 when none succeeded.
func (r result) Pct(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.latencies))*p/100+0.5) - 1
	return r.latencies[max(0, min(i, len(r.latencies)-1))]
}

// Max is the slowest successful request.
func (r result) Max() time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[len(r.latencies)-1]
}

// newResult sorts lat and returns the result.
func newResult(requests, errors int, elapsed time.Duration, lat []time.Duration, firstErr string) result {
	slices.Sort(lat)
	return result{Requests: requests, Errors: errors, Elapsed: elapsed, latencies: lat, FirstError: firstErr}
}

// request does request number i and reports its own latency, so that
// preparation (signing, say) is not counted.
type request func(ctx context.Context, i int) (time.Duration, error)

// closedLoop runs n requests through concurrency workers, each starting its
// next request when the last one ends. It stops early when ctx is done.
func closedLoop(ctx context.Context, n, concurrency int, do request) result {
	var (
		next     atomic.Int64
		mu       sync.Mutex
		lat      = make([]time.Duration, 0, n)
		errs     int
		firstErr string
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range max(1, min(concurrency, n)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				d, err := do(ctx, i)
				mu.Lock()
				if err != nil {
					errs++
					if firstErr == "" {
						firstErr = err.Error()
					}
				} else {
					lat = append(lat, d)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	done := len(lat) + errs
	if ctx.Err() != nil && done < n && firstErr == "" {
		firstErr = fmt.Sprintf("stopped after %d of %d: %v", done, n, ctx.Err())
	}
	return newResult(done, errs, time.Since(start), lat, firstErr)
}

// usage is the CPU time processes used during a run, in cores: CPU
// seconds per second of wall time. "others" is everything else on the
// machine (other users' work, the kernel's threads).
type usage map[string]float64

// measureCPU runs f and returns the CPU each of pids, and the rest of the
// machine, used meanwhile.
func measureCPU(pids map[string]int, f func() time.Duration) usage {
	before := map[string]time.Duration{}
	for name, pid := range pids {
		before[name], _ = cpuTime(pid)
	}
	busyBefore, busyErr := machineBusy()
	wall := f()
	u := usage{}
	if wall <= 0 {
		return u
	}
	var ours time.Duration
	for name, pid := range pids {
		after, err := cpuTime(pid)
		if err != nil {
			continue
		}
		ours += after - before[name]
		u[name] = float64(after-before[name]) / float64(wall)
	}
	if busyAfter, err := machineBusy(); err == nil && busyErr == nil {
		u["others"] = max(0, float64(busyAfter-busyBefore-ours)/float64(wall))
	}
	return u
}

// rssSampler records the largest VmRSS of a process while it runs.
type rssSampler struct {
	stop chan struct{}
	done chan int64
}

// sampleRSS samples pid's VmRSS every 20 ms until end is called.
func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan int64, 1)}
	go func() {
		var peak int64
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if kb, err := procStatus(pid, "VmRSS"); err == nil {
				peak = max(peak, kb)
			}
			select {
			case <-s.stop:
				s.done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// end stops sampling and returns the peak in kB.
func (s *rssSampler) end() int64 {
	close(s.stop)
	return <-s.done
}
