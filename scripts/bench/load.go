package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
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

// newResult sorts lat and returns the result.
func newResult(requests, errors int, elapsed time.Duration, lat []time.Duration, firstErr string) result {
	slices.Sort(lat)
	return result{Requests: requests, Errors: errors, Elapsed: elapsed, latencies: lat, FirstError: firstErr}
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

// request does request number i and reports its own latency, so that
// preparation is not counted.
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
		wg.Go(func() {
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
		})
	}
	wg.Wait()
	done := len(lat) + errs
	if ctx.Err() != nil && done < n {
		errs += n - done
		if firstErr == "" {
			firstErr = fmt.Sprintf("stopped after %d of %d: %v", done, n, ctx.Err())
		}
	}
	return newResult(n, errs, time.Since(start), lat, firstErr)
}

// cpuTime is the user+system CPU time a process has used so far, from
// /proc/<pid>/stat (in clock ticks of 10 ms, as on every Linux/amd64).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; the fields after it do not.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, errors.New("unexpected /proc stat format")
	}
	var utime, stime int64
	if _, err := fmt.Sscan(f[11], &utime); err != nil {
		return 0, err
	}
	if _, err := fmt.Sscan(f[12], &stime); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// machineBusy is the CPU time all processors have spent not idle since
// boot, from /proc/stat.
func machineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, errors.New("unexpected /proc/stat format")
	}
	var busy int64
	for i, v := range f[1:8] { // user nice system idle iowait irq softirq
		var n int64
		if _, err := fmt.Sscan(v, &n); err != nil {
			return 0, err
		}
		if i != 3 && i != 4 {
			busy += n
		}
	}
	return time.Duration(busy) * 10 * time.Millisecond, nil
}

// usage is the CPU time that processes used during a run.
type usage struct {
	// of is each named process's CPU time; "others" is the rest of the
	// machine's (other users' work, the kernel's threads).
	of   map[string]time.Duration
	wall time.Duration
}

// cores is how many cores name used on average.
func (u usage) cores(name string) float64 {
	if u.wall <= 0 {
		return 0
	}
	return u.of[name].Seconds() / u.wall.Seconds()
}

// measureCPU runs f, which returns its wall time, and the CPU time each of
// pids and the rest of the machine used meanwhile.
func measureCPU(pids map[string]int, f func() time.Duration) usage {
	before := map[string]time.Duration{}
	for name, pid := range pids {
		before[name], _ = cpuTime(pid)
	}
	busyBefore, busyErr := machineBusy()
	u := usage{of: map[string]time.Duration{}, wall: f()}
	var ours time.Duration
	for name, pid := range pids {
		if after, err := cpuTime(pid); err == nil {
			u.of[name] = after - before[name]
			ours += u.of[name]
		}
	}
	if busyAfter, err := machineBusy(); err == nil && busyErr == nil {
		u.of["others"] = max(0, busyAfter-busyBefore-ours)
	}
	return u
}

// rss reads a process's resident set (VmRSS) or its peak (VmHWM) in
// bytes, from /proc/<pid>/status.
func rss(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			var kb int64
			if _, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb); err != nil {
				return 0, err
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}

// median is the middle value of xs (the mean of the middle two for an even
// count); 0 for none.
func median[T ~int64 | ~float64](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
