package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// share is one category of a CPU profile and its part of the samples.
type share struct {
	Name  string
	Value time.Duration
}

// category names a part of the webhook's CPU: a sample belongs to the first
// category, in this order, one of whose prefixes starts a frame anywhere in
// its stack (so an allocation inside encoding/json is JSON's, a write(2) of
// the storage request is the HTTP client's).
type category struct {
	name     string
	prefixes []string
}

var categories = []category{
	{"GC (background marking, assists, sweeping)", []string{"runtime.gcBgMarkWorker", "runtime.gcAssistAlloc", "runtime.bgsweep", "runtime.bgscavenge", "runtime.gcStart"}},
	{"XML (azqueue's request body and response)", []string{"encoding/xml."}},
	// azcore's log policy is in every storage call's stack, passing the
	// request on: its own few time.Now calls are the pipeline's below.
	{"logging (slog)", []string{"log/slog."}},
	{"JSON (verify's decode, the order message, the answer)", []string{"encoding/json."}},
	{"verification (HMAC, signature header; its JSON is above)", []string{"github.com/filedrop/filedrop/internal/stripeapi."}},
	{"HTTP client: azcore's http.Client to Azurite", []string{"net/http.(*persistConn)", "net/http.(*Transport)", "net/http.(*Client)", "net/http.(*Request).write"}},
	{"azcore pipeline policies and azqueue (shared key, headers, retry, telemetry)", []string{"github.com/Azure/azure-sdk-for-go/"}},
	{"HTTP server: net/http reading the webhook, writing the answer", []string{"net/http."}},
	{"the handler's own code (else)", []string{"github.com/filedrop/filedrop/"}},
	{"Go scheduler, netpoll, timers (no request's)", []string{"runtime."}},
}

// breakdown splits the CPU profile at path into categories with go tool
// pprof -traces; the last share is the total.
func breakdown(ctx context.Context, path string) ([]share, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "tool", "pprof", "-traces", path)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go tool pprof -traces %s: %w: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	sums := make([]time.Duration, len(categories)+1)
	var total time.Duration
	var value time.Duration
	var frames []string
	flush := func() {
		if value == 0 {
			return
		}
		total += value
		i := classify(frames)
		sums[i] += value
		value, frames = 0, frames[:0]
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	inTraces := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "-----------+") {
			flush()
			inTraces = true
			continue
		}
		if !inTraces || strings.TrimSpace(line) == "" {
			continue
		}
		// The first line of a trace is "<value> <leaf>", the rest frames.
		f := strings.Fields(line)
		if d, err := time.ParseDuration(f[0]); err == nil && len(f) > 1 && value == 0 && len(frames) == 0 {
			value = d
			frames = append(frames, f[1])
			continue
		}
		frames = append(frames, f[0])
	}
	flush()
	if err := sc.Err(); err != nil {
		return nil, err
	}
	var shares []share
	for i, c := range categories {
		shares = append(shares, share{c.name, sums[i]})
	}
	shares = append(shares, share{"other", sums[len(categories)]}, share{"total", total})
	return shares, nil
}

// classify returns the index of frames' category, len(categories) for none.
func classify(frames []string) int {
	for i, c := range categories {
		for _, f := range frames {
			for _, p := range c.prefixes {
				if strings.HasPrefix(f, p) {
					return i
				}
			}
		}
	}
	return len(categories)
}
