package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/storage"
)

// level is one concurrency level of a load phase.
type level struct {
	Concurrency int
	result
	// CPU is the cores each process used meanwhile (handler, azurite, bench).
	CPU usage
	// PeakRSS is the handler's largest resident set meanwhile, in kB.
	PeakRSS int64
}

// orderMessage is what the webhook queues for one event: the enqueue
// ceiling sends the same bytes. tag keeps ids unique across levels and
// rounds.
func orderMessage(tag string, i int) []byte {
	b, _ := json.Marshal(order.ProcessJob{Version: order.ProcessJobVersion, EventID: fmt.Sprintf("evt_benchenqueue%s%08d", tag, i),
		EventType: order.EventCompleted, SessionID: enqueuedSession(tag, i),
		Created: time.Now().Unix(), Trigger: order.TriggerWebhook})
	return b
}

// enqueuedSession is the session id of orderMessage(tag, i).
func enqueuedSession(tag string, i int) string {
	return fmt.Sprintf("cs_test_benchenqueue%s%08d", tag, i)
}

// enqueueSender sends the order messages of tag to q with the storage
// adapter the webhook uses, timing each.
func enqueueSender(q *storage.Queue, tag string) request {
	return func(ctx context.Context, i int) (time.Duration, error) {
		data := orderMessage(tag, i)
		start := time.Now()
		err := q.Send(ctx, data, 0)
		return time.Since(start), err
	}
}

// enqueueLevel puts n base64 messages on q at concurrency c and measures
// the processes of pids meanwhile.
func enqueueLevel(ctx context.Context, q *storage.Queue, n, c int, tag string, pids map[string]int) level {
	var r result
	cpu := measureCPU(pids, func() time.Duration { r = closedLoop(ctx, n, c, enqueueSender(q, tag)); return r.Elapsed })
	return level{Concurrency: c, result: r, CPU: cpu}
}

// webhookClient is a keep-alive client with a connection for every worker,
// as a busy sender keeps them.
func webhookClient(concurrency int) *http.Client {
	return &http.Client{
		Timeout: requestTimeout,
		Transport: &http.Transport{
			MaxIdleConns:        concurrency,
			MaxIdleConnsPerHost: concurrency,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
	}
}

// post sends one signed event and reports the time from the request's start
// to the end of the answer's body.
func post(ctx context.Context, client *http.Client, url string, body []byte, sig string) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header = forwarded(sig)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(answer))
	}
	return d, nil
}

// signedRequest is the POST of event i of tag to u, signed at now.
func signedRequest(u *url.URL, ev events, tag string, i int, now time.Time) []byte {
	id := fmt.Sprintf("%si%07d", tag, i)
	body, sig := ev.signed("evt_bench"+id, "cs_test_bench"+id, now)
	return rawRequest(u, body, sig)
}

// webhookSender signs and posts the events of tag through p.
func webhookSender(p *rawPoster, u *url.URL, ev events, tag string) request {
	return func(ctx context.Context, i int) (time.Duration, error) {
		return p.post(ctx, signedRequest(u, ev, tag, i, time.Now()))
	}
}

// maxPresigned bounds how many events a level signs before it starts
// (about 3.5 KB each); a level with more signs the rest as it goes.
const maxPresigned = 20_000

// presignedSender signs the first maxPresigned of n events of tag, and
// writes out their requests, before the level starts, so that the load
// generator's own HMAC and templating do not compete for the cores with
// the handler and Azurite while the level is measured (Stripe signs on its
// own machines). Signatures stay valid for Stripe's 5-minute tolerance,
// far longer than a level takes.
func presignedSender(p *rawPoster, u *url.URL, ev events, tag string, n int) request {
	now := time.Now()
	signed := make([][]byte, min(n, maxPresigned))
	for i := range signed {
		signed[i] = signedRequest(u, ev, tag, i, now)
	}
	inline := webhookSender(p, u, ev, tag)
	return func(ctx context.Context, i int) (time.Duration, error) {
		if i < len(signed) {
			return p.post(ctx, signed[i])
		}
		return inline(ctx, i)
	}
}

// webhookLevel sends n signed events to u at concurrency c, on fresh
// keep-alive connections, and measures the processes of pids (the
// "handler" among them) meanwhile.
func webhookLevel(ctx context.Context, u *url.URL, ev events, n, c int, tag string, pids map[string]int) level {
	p := newRawPoster(u, c)
	defer p.close()
	send := presignedSender(p, u, ev, tag, n)
	rss := sampleRSS(pids["handler"])
	var r result
	cpu := measureCPU(pids, func() time.Duration { r = closedLoop(ctx, n, c, send); return r.Elapsed })
	return level{Concurrency: c, result: r, CPU: cpu, PeakRSS: rss.end()}
}

// warmUp sends up to 500 requests at concurrency 4: connections, and
// Node's JIT in Azurite, which the first few hundred requests still speed
// up.
func warmUp(ctx context.Context, n int, do request) {
	closedLoop(ctx, min(500, n), 4, do)
}

// warmWebhook warms up the webhook at u (see warmUp).
func warmWebhook(ctx context.Context, u *url.URL, ev events, n int) {
	p := newRawPoster(u, 4)
	defer p.close()
	warmUp(ctx, n, webhookSender(p, u, ev, "warm"))
}

// webhookLoad sends n signed events per concurrency level to u, after a
// warm-up, and measures the processes of pids (the "handler" among them)
// meanwhile.
func webhookLoad(ctx context.Context, u *url.URL, ev events, n int, levels []int, pids map[string]int) []level {
	warmWebhook(ctx, u, ev, n)
	var out []level
	for _, c := range levels {
		out = append(out, webhookLevel(ctx, u, ev, n, c, fmt.Sprintf("c%d", c), pids))
	}
	return out
}

// merge pools the rounds of one level: requests, errors and wall time
// add up, the latencies are pooled (so percentiles are over every
// request), each process's cores are averaged over the wall time, and the
// peak RSS is the largest.
func merge(rounds []level) level {
	if len(rounds) == 0 {
		return level{}
	}
	m := level{Concurrency: rounds[0].Concurrency, CPU: usage{}}
	var lat []time.Duration
	for _, l := range rounds {
		m.Requests += l.Requests
		m.Errors += l.Errors
		m.Elapsed += l.Elapsed
		lat = append(lat, l.latencies...)
		if m.FirstError == "" {
			m.FirstError = l.FirstError
		}
		m.PeakRSS = max(m.PeakRSS, l.PeakRSS)
		for name, cores := range l.CPU {
			m.CPU[name] += cores * l.Elapsed.Seconds()
		}
	}
	for name := range m.CPU {
		m.CPU[name] /= m.Elapsed.Seconds()
	}
	m.result = newResult(m.Requests, m.Errors, m.Elapsed, lat, m.FirstError)
	return m
}

// e2e is one end-to-end run: orders sent, and the time from each webhook to
// its mail in the outbox.
type e2e struct {
	Name string
	result
	// OrdersPerSecond is the rate orders were sent at (0: one at a time).
	OrdersPerSecond float64
	CPU             usage
	PeakRSS         int64
}

// mailPath is the outbox file of an order's first download mail.
func mailPath(outbox, sessionID string) string {
	return filepath.Join(outbox, order.MailKey(sessionID, order.MailDownloadLinks, 1)+".eml")
}

// mailLatency is the time from sent to the mail's file: its modification
// time, written by the handler just before the rename into place (file
// times have the kernel's tick resolution, a few ms).
func mailLatency(path string, sent time.Time) (time.Duration, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, false
	}
	return fi.ModTime().Sub(sent), true
}

// isolated sends n orders one at a time, each after the last one's mail
// and a pause of gap (so the queue pollers are idle, as in a quiet shop).
func isolated(ctx context.Context, url, outbox, tag string, ev events, n int, gap, limit time.Duration) e2e {
	client := webhookClient(1)
	var lat []time.Duration
	errs, firstErr := 0, ""
	fail := func(err error) {
		errs++
		if firstErr == "" {
			firstErr = err.Error()
		}
	}
	start := time.Now()
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		id := fmt.Sprintf("%siso%05d", tag, i)
		session := "cs_test_bench" + id
		body, sig := ev.signed("evt_bench"+id, session, time.Now())
		sent := time.Now()
		if _, err := post(ctx, client, url, body, sig); err != nil {
			fail(err)
			continue
		}
		path := mailPath(outbox, session)
		deadline := sent.Add(limit)
		for {
			if d, ok := mailLatency(path, sent); ok {
				lat = append(lat, d)
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				fail(fmt.Errorf("no mail for %s within %s", session, limit))
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if i < n-1 {
			sleepCtx(ctx, gap)
		}
	}
	return e2e{Name: fmt.Sprintf("one order at a time, %s apart", gap), result: newResult(len(lat)+errs, errs, time.Since(start), lat, firstErr)}
}

// stream sends n orders at rate per second (open loop: a slow answer does
// not delay the next order) and waits up to limit after the last for every
// mail.
func stream(ctx context.Context, url, outbox, tag string, ev events, n int, rate float64, limit time.Duration) e2e {
	client := webhookClient(64)
	sent := make([]time.Time, n)
	sessions := make([]string, n)
	sendErr := make([]error, n)
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	done := make(chan int, n)
	start := time.Now()
	launched := 0
	for i := range n {
		if i > 0 {
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
		if ctx.Err() != nil {
			break
		}
		id := fmt.Sprintf("%sstr%05d", tag, i)
		sessions[i] = "cs_test_bench" + id
		body, sig := ev.signed("evt_bench"+id, sessions[i], time.Now())
		sent[i] = time.Now()
		launched++
		go func() {
			_, sendErr[i] = post(ctx, client, url, body, sig)
			done <- i
		}()
	}
	for range launched {
		<-done
	}
	lat := make([]time.Duration, 0, n)
	errs, firstErr := 0, ""
	fail := func(err error) {
		errs++
		if firstErr == "" {
			firstErr = err.Error()
		}
	}
	pending := map[int]bool{}
	for i := range launched {
		if sendErr[i] != nil {
			fail(sendErr[i])
		} else {
			pending[i] = true
		}
	}
	deadline := time.Now().Add(limit)
	for len(pending) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		for i := range pending {
			if d, ok := mailLatency(mailPath(outbox, sessions[i]), sent[i]); ok {
				lat = append(lat, d)
				delete(pending, i)
			}
		}
		if len(pending) > 0 {
			sleepCtx(ctx, 20*time.Millisecond)
		}
	}
	for range pending {
		fail(fmt.Errorf("mail missing %s after the last order", limit))
	}
	// Elapsed runs to the last mail, so Rate is the pipeline's throughput.
	var last time.Time
	for i := range launched {
		if d, ok := mailLatency(mailPath(outbox, sessions[i]), sent[i]); ok && sent[i].Add(d).After(last) {
			last = sent[i].Add(d)
		}
	}
	elapsed := time.Since(start)
	if !last.IsZero() {
		elapsed = last.Sub(start)
	}
	return e2e{Name: fmt.Sprintf("stream of %.0f orders/s", rate), OrdersPerSecond: rate,
		result: newResult(launched, errs, elapsed, lat, firstErr)}
}

// coldStart is the handler's start-up in serve mode, as the Functions host
// runs it.
type coldStart struct {
	result
	// IdleRSS is the resident set after start-up, in kB (median of runs).
	IdleRSS int64
}

// coldStarts execs the handler n times in serve mode and times each from
// exec to the first 200 on GET /, polling every millisecond (the host polls
// every 25 ms). Each process is stopped before the next starts.
func coldStarts(ctx context.Context, cs *children, bin, dir, logPath string, settings map[string]string, n int) (coldStart, error) {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var lat []time.Duration
	var rss []int64
	for i, taken := 0, 0; i < n; i++ {
		if ctx.Err() != nil {
			return coldStart{}, ctx.Err()
		}
		port, err := freePort()
		if err != nil {
			return coldStart{}, err
		}
		env := map[string]string{"FUNCTIONS_CUSTOMHANDLER_PORT": fmt.Sprint(port)}
		for k, v := range settings {
			env[k] = v
		}
		url := fmt.Sprintf("http://127.0.0.1:%d/", port)
		start := time.Now()
		c, err := cs.start(fmt.Sprintf("handler (cold start %d)", i+1), dir, logPath, childEnv(env), bin)
		if err != nil {
			return coldStart{}, err
		}
		ready := false
		for deadline := start.Add(10 * time.Second); time.Now().Before(deadline) && !c.exited(); {
			if resp, err := client.Get(url); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ready = true
					break
				}
			}
			time.Sleep(time.Millisecond)
		}
		d := time.Since(start)
		if !ready && c.portTaken() && taken < 5 {
			// Another process bound the port first: this start is not
			// a measurement; start again on another port.
			taken++
			i--
			continue
		}
		if !ready {
			cs.stop(c, 2*time.Second)
			return coldStart{}, fmt.Errorf("handler in serve mode did not answer GET / with 200 within 10s: %s", c.tail(20))
		}
		lat = append(lat, d)
		sleepCtx(ctx, 300*time.Millisecond) // let start-up garbage settle
		if kb, err := procStatus(c.pid(), "VmRSS"); err == nil {
			rss = append(rss, kb)
		}
		cs.stop(c, 5*time.Second)
	}
	if len(rss) == 0 {
		return coldStart{}, errors.New("could not read the handler's VmRSS")
	}
	slices.Sort(rss)
	return coldStart{result: newResult(len(lat), 0, 0, lat, ""), IdleRSS: rss[len(rss)/2]}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
