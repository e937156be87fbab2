package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// profiled is what the -pprof run saved: a CPU profile of the handler in
// serve mode under webhook load, and its allocations over the same time.
type profiled struct {
	Concurrency int
	Seconds     int
	// Webhooks is how many were answered while the CPU profile ran.
	Webhooks int
	// ProcessCPU is the handler's CPU time (user+sys) meanwhile.
	ProcessCPU time.Duration
	// CPU, AllocsBefore and AllocsAfter are the files written.
	CPU, AllocsBefore, AllocsAfter string
	// Shares is the CPU profile by category; BreakdownErr why it is missing.
	Shares       []share
	BreakdownErr string
}

// profileWebhook loads url at concurrency for seconds while it fetches a CPU
// profile from the handler's pprof server (FILEDROP_PPROF) at pprofBase,
// and the allocation profile before and after. The files go to dir. The
// load is separate from the measured levels, so the profiler's own cost is
// in none of the tables.
func profileWebhook(ctx context.Context, pid int, pprofBase string, target *url.URL, ev events, concurrency, seconds int, dir string) (profiled, error) {
	p := profiled{Concurrency: concurrency, Seconds: seconds,
		CPU:          filepath.Join(dir, fmt.Sprintf("webhook-c%d.cpu.pprof", concurrency)),
		AllocsBefore: filepath.Join(dir, fmt.Sprintf("webhook-c%d.allocs-before.pprof", concurrency)),
		AllocsAfter:  filepath.Join(dir, fmt.Sprintf("webhook-c%d.allocs-after.pprof", concurrency)),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return p, err
	}
	if err := fetch(ctx, pprofBase+"/debug/pprof/allocs", p.AllocsBefore, 30*time.Second); err != nil {
		return p, err
	}
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	poster := newRawPoster(target, concurrency)
	defer poster.close()
	send := webhookSender(poster, target, ev, "prof")
	done := make(chan result, 1)
	cpuBefore, _ := cpuTime(pid)
	go func() { done <- closedLoop(lctx, 1_000_000, concurrency, send) }()
	err := fetch(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", pprofBase, seconds), p.CPU, time.Duration(seconds+30)*time.Second)
	stop()
	r := <-done
	cpuAfter, _ := cpuTime(pid)
	p.Webhooks, p.ProcessCPU = r.Requests-r.Errors, cpuAfter-cpuBefore
	if err != nil {
		return p, err
	}
	if p.Shares, err = breakdown(ctx, p.CPU); err != nil {
		p.BreakdownErr = err.Error()
	}
	return p, fetch(ctx, pprofBase+"/debug/pprof/allocs", p.AllocsAfter, 30*time.Second)
}

// fetch GETs url into the file path.
func fetch(ctx context.Context, url, path string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("pprof: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("pprof: GET %s: %s: %s", url, resp.Status, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("pprof: %s: %w", url, err)
	}
	return f.Close()
}
