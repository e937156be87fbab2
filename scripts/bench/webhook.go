package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/storage"
	"github.com/filedrop/filedrop/internal/testenv"
)

// level is one load at one concurrency: the enqueue ceiling's, or one
// handler's webhook.
type level struct {
	result
	CPU usage
}

// perRequest is process name's CPU time per successful request.
func (l level) perRequest(name string) time.Duration {
	if ok := l.Requests - l.Errors; ok > 0 {
		return l.CPU.of[name] / time.Duration(ok)
	}
	return 0
}

// webhookRounds are the webhook phase's loads: ceiling[i] and
// webhook[v][i] are the rounds of concurrency level i, of the enqueue
// ceiling and of variant v.
type webhookRounds struct {
	ceiling [][]level
	webhook [][][]level
	// peakRSS is each variant's largest resident set over the phase.
	peakRSS []int64
}

// orderMessage is what the webhook queues for one event; the enqueue
// ceiling sends the same bytes. tag keeps ids unique.
func orderMessage(tag string, i int) []byte {
	b, _ := json.Marshal(order.ProcessJob{Version: order.ProcessJobVersion, EventID: fmt.Sprintf("evt_bench%s%07d", tag, i),
		EventType: order.EventCompleted, SessionID: enqueuedSession(tag, i), Created: time.Now().Unix(), Trigger: order.TriggerWebhook})
	return b
}

// enqueuedSession is the session id of orderMessage(tag, i).
func enqueuedSession(tag string, i int) string { return fmt.Sprintf("cs_test_bench%s%07d", tag, i) }

// enqueuer sends tag's order messages to q with the storage adapter the
// webhook uses.
func enqueuer(q *storage.Queue, tag string) request {
	return func(ctx context.Context, i int) (time.Duration, error) {
		data := orderMessage(tag, i)
		start := time.Now()
		err := q.Send(ctx, data, 0)
		return time.Since(start), err
	}
}

// signedRequests signs n events of tag for u and writes out their
// requests before a load starts, so that the load generator's HMAC does
// not compete with the handler and Azurite while it runs (Stripe signs on
// its own machines). Signatures stay valid for Stripe's 5 minutes.
func signedRequests(u *url.URL, ev events, tag string, n int) [][]byte {
	now := time.Now()
	reqs := make([][]byte, n)
	for i := range reqs {
		id := fmt.Sprintf("%s%07d", tag, i)
		body, sig := ev.signed("evt_bench"+id, "cs_test_bench"+id, now)
		reqs[i] = rawRequest(u, body, sig)
	}
	return reqs
}

// webhookLoad posts n signed events of tag to u at concurrency c, on
// keep-alive connections of its own, and measures the processes of pids
// meanwhile.
func webhookLoad(ctx context.Context, u *url.URL, ev events, n, c int, tag string, pids map[string]int) level {
	reqs := signedRequests(u, ev, tag, n)
	p := newRawPoster(u, c)
	defer p.close()
	var r result
	cpu := measureCPU(pids, func() time.Duration {
		r = closedLoop(ctx, n, c, func(ctx context.Context, i int) (time.Duration, error) { return p.post(ctx, reqs[i]) })
		return r.Elapsed
	})
	return level{result: r, CPU: cpu}
}

// webhookPhase measures the webhook of every variant in serve mode, as the
// Functions host forwards it, and the enqueue ceiling, in interleaved
// rounds: in each round every level runs the ceiling and each variant's
// webhook one after the other, in an order that rotates, so that a
// neighbour's burst or Azurite's drift falls on all of them alike. Both
// queues are emptied after every load: Azurite's dequeue and enqueue slow
// down as its queues fill.
func (b *bench) webhookPhase(ctx context.Context, rep *report) error {
	b.step("webhook and enqueue ceiling: %d rounds of %d requests per level, concurrency %v, %d handler(s)",
		b.o.rounds, b.o.requests, b.o.concurrency, len(b.o.variants))
	const ceilingQueue = "bench-enqueue"
	if _, err := b.queues.Create(ctx, ceilingQueue); err != nil {
		return err
	}
	q := b.queues.Queue(ceilingQueue)
	clear := func() error {
		if err := q.Clear(ctx); err != nil {
			return err
		}
		return b.processOrder.Clear(ctx)
	}
	targets := make([]*url.URL, len(b.o.variants))
	serves := make([]*testenv.Process, len(b.o.variants))
	for i, v := range b.o.variants {
		p, endpoint, err := b.startServe(ctx, v, fmt.Sprintf("serve-%d", i))
		if err != nil {
			return err
		}
		defer p.Stop()
		serves[i] = p
		if targets[i], err = url.Parse(endpoint); err != nil {
			return err
		}
	}
	// Connections, and Node's JIT in Azurite, which the first few hundred
	// requests still speed up.
	warm := min(500, b.o.requests)
	closedLoop(ctx, warm, 4, enqueuer(q, "warm"))
	for i := range b.o.variants {
		webhookLoad(ctx, targets[i], b.ev, warm, 4, fmt.Sprintf("warm%d", i), nil)
	}
	if err := clear(); err != nil {
		return err
	}
	w := webhookRounds{ceiling: make([][]level, len(b.o.concurrency)), webhook: make([][][]level, len(b.o.variants))}
	for v := range b.o.variants {
		w.webhook[v] = make([][]level, len(b.o.concurrency))
	}
	for r := range b.o.rounds {
		for i, c := range b.o.concurrency {
			// Load 0 is the ceiling, load v+1 variant v's webhook.
			loads := len(b.o.variants) + 1
			for k := range loads {
				load := (k + r + i) % loads
				tag := fmt.Sprintf("r%dc%dl%d", r, c, load)
				if load == 0 {
					var res result
					cpu := measureCPU(map[string]int{"azurite": b.az.PID(), "bench": os.Getpid()}, func() time.Duration {
						res = closedLoop(ctx, b.o.requests, c, enqueuer(q, tag))
						return res.Elapsed
					})
					w.ceiling[i] = append(w.ceiling[i], level{result: res, CPU: cpu})
				} else {
					v := load - 1
					pids := map[string]int{"handler": serves[v].PID(), "azurite": b.az.PID(), "bench": os.Getpid()}
					w.webhook[v][i] = append(w.webhook[v][i], webhookLoad(ctx, targets[v], b.ev, b.o.requests, c, tag, pids))
				}
				if err := clear(); err != nil {
					return err
				}
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}
		b.step("webhook: round %d of %d done", r+1, b.o.rounds)
	}
	for _, p := range serves {
		peak, _ := rss(p.PID(), "VmHWM")
		w.peakRSS = append(w.peakRSS, peak)
	}
	rep.webhook = w
	return nil
}

// startUp is one variant's start-up in serve mode: the time from exec to
// the first 200 on GET /, and the resident set once started.
type startUp struct {
	ready []time.Duration
	rss   []int64
}

// startPhase execs each variant's handler in serve mode coldStarts times,
// the variants taking turns, and times each from exec to the first 200 on
// GET / (polled every millisecond; the host polls every 25 ms), then reads
// its resident set once start-up's garbage has settled.
func (b *bench) startPhase(ctx context.Context, rep *report) error {
	b.step("start-up: %d execs of each handler in serve mode", b.o.coldStarts)
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	rep.starts = make([]startUp, len(b.o.variants))
	for i := range b.o.coldStarts {
		for k := range b.o.variants {
			v := (i + k) % len(b.o.variants)
			ready, mem, err := b.coldStart(ctx, client, b.o.variants[v], v)
			if err != nil {
				return err
			}
			rep.starts[v].ready = append(rep.starts[v].ready, ready)
			rep.starts[v].rss = append(rep.starts[v].rss, mem)
		}
	}
	return nil
}

// coldStart execs v's handler in serve mode once, times it to ready and
// reads its resident set, and stops it. It starts again on another port
// when another process took the one it was given.
func (b *bench) coldStart(ctx context.Context, client *http.Client, v variant, n int) (time.Duration, int64, error) {
	for range 5 {
		port, err := freePort()
		if err != nil {
			return 0, 0, err
		}
		settings := map[string]string{"FUNCTIONS_CUSTOMHANDLER_PORT": port}
		for k, val := range b.settings {
			settings[k] = val
		}
		start := time.Now()
		p, err := b.start(v, fmt.Sprintf("start-%d", n), settings)
		if err != nil {
			return 0, 0, err
		}
		ready := time.Duration(0)
		for deadline := start.Add(10 * time.Second); time.Now().Before(deadline) && !p.Exited() && ctx.Err() == nil; {
			if resp, err := client.Get("http://127.0.0.1:" + port + "/"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ready = time.Since(start)
					break
				}
			}
			time.Sleep(time.Millisecond)
		}
		if ready == 0 {
			p.Stop()
			if ctx.Err() == nil && p.Err() != nil && strings.Contains(p.Output(), "address already in use") {
				continue
			}
			return 0, 0, fmt.Errorf("%s did not answer GET / with 200 within 10 s: %s", p.Name, p.Tail(20))
		}
		sleepCtx(ctx, 300*time.Millisecond)
		mem, err := rss(p.PID(), "VmRSS")
		p.Stop()
		return ready, mem, err
	}
	return 0, 0, fmt.Errorf("%s: five ports in a row were taken", v.label)
}
