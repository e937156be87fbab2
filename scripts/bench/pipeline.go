package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/testenv"
)

// mailPath is the outbox file of an order's first download mail.
func mailPath(outbox, sessionID string) string {
	return filepath.Join(outbox, order.MailKey(sessionID, order.MailDownloadLinks, 1)+".eml")
}

// mailWritten is when the order's mail file was written (its modification
// time, set just before the rename into place), if it is there.
func mailWritten(outbox, sessionID string) (time.Time, bool) {
	fi, err := os.Stat(mailPath(outbox, sessionID))
	if err != nil {
		return time.Time{}, false
	}
	return fi.ModTime(), true
}

// post sends one signed event and fails unless it is answered 200.
func post(ctx context.Context, client *http.Client, url string, body []byte, sig string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = forwarded(sig)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(answer))
	}
	return nil
}

// orders sends paid orders to the webhook at url and times each from its
// POST to its mail in outbox.
type orders struct {
	url, outbox, tag string
	ev               events
	client           *http.Client
}

// one sends order i and returns its session id and when it was sent.
func (o orders) one(ctx context.Context, i int) (string, time.Time, error) {
	id := fmt.Sprintf("%s%05d", o.tag, i)
	session := "cs_test_bench" + id
	body, sig := o.ev.signed("evt_bench"+id, session, time.Now())
	sent := time.Now()
	return session, sent, post(ctx, o.client, o.url, body, sig)
}

// isolated sends n orders one at a time, each once the last one's mail is
// written and gap has passed (so that the queue polls back off, as in a
// quiet shop).
func (o orders) isolated(ctx context.Context, n int, gap time.Duration) result {
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
		if i > 0 {
			sleepCtx(ctx, gap)
		}
		session, sent, err := o.one(ctx, i)
		if err != nil {
			fail(err)
			continue
		}
		for deadline := sent.Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if at, ok := mailWritten(o.outbox, session); ok {
				lat = append(lat, at.Sub(sent))
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				fail(fmt.Errorf("no mail for %s within 30 s", session))
				break
			}
		}
	}
	return newResult(n, errs, time.Since(start), lat, firstErr)
}

// stream sends n orders at rate per second, whatever the answers' pace,
// and waits up to 30 s after the last for every mail.
func (o orders) stream(ctx context.Context, n int, rate float64) result {
	sessions, sent, sendErr := make([]string, n), make([]time.Time, n), make([]error, n)
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		if i > 0 {
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
		wg.Go(func() { sessions[i], sent[i], sendErr[i] = o.one(ctx, i) })
	}
	wg.Wait()
	var lat []time.Duration
	errs, firstErr := 0, ""
	pending := map[int]bool{}
	for i, err := range sendErr {
		if err != nil {
			errs++
			if firstErr == "" {
				firstErr = err.Error()
			}
		} else {
			pending[i] = true
		}
	}
	for deadline := time.Now().Add(30 * time.Second); len(pending) > 0 && time.Now().Before(deadline) && ctx.Err() == nil; sleepCtx(ctx, 20*time.Millisecond) {
		for i := range pending {
			if at, ok := mailWritten(o.outbox, sessions[i]); ok {
				lat = append(lat, at.Sub(sent[i]))
				delete(pending, i)
			}
		}
	}
	if len(pending) > 0 {
		errs += len(pending)
		if firstErr == "" {
			firstErr = fmt.Sprintf("%d mails missing 30 s after the last order", len(pending))
		}
	}
	return newResult(n, errs, time.Since(start), lat, firstErr)
}

// mailRuns are the webhook-to-mail phase's two runs.
type mailRuns struct {
	isolated, stream result
}

// mailPhase runs paid orders through the whole pipeline in the current
// handler's handler local: one at a time, then as a steady stream.
func (b *bench) mailPhase(ctx context.Context, rep *report) error {
	if b.o.isolated == 0 && b.o.orders == 0 {
		return nil
	}
	b.step("webhook to mail: %d orders one at a time, then %d at %.0f/s, through handler local", b.o.isolated, b.o.orders, b.o.rate)
	p, url, err := b.startLocal(ctx, "local-mail", b.settings, "")
	if err != nil {
		return err
	}
	defer p.Stop()
	o := orders{url: url, outbox: b.outbox, ev: b.ev, client: &http.Client{Timeout: requestTimeout}}
	m := &mailRuns{}
	o.tag = "iso"
	m.isolated = o.isolated(ctx, b.o.isolated, b.o.gap)
	o.tag = "str"
	m.stream = o.stream(ctx, b.o.orders, b.o.rate)
	rep.mail = m
	return nil
}

// transactions are the storage operations Azurite served for paid orders.
type transactions struct {
	orders result
	// ops counts Azurite's operations by name, the host emulator's queue
	// polls included.
	ops map[string]int
}

// operationRE finds the operation in Azurite's debug log: its dispatch
// middleware writes one "Operation=<name>" line per request it serves.
var operationRE = regexp.MustCompile(`Operation=([A-Za-z_]+)`)

// countOperations counts the operations in Azurite's debug log at path.
func countOperations(path string) (map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		if m := operationRE.FindSubmatch(sc.Bytes()); m != nil {
			n[string(m[1])]++
		}
	}
	return n, sc.Err()
}

// transactionsPhase sends paid orders one after the other's mail through
// handler local against an Azurite of its own that logs every request it
// serves (too slow for the timed phases), and counts them.
func (b *bench) transactionsPhase(ctx context.Context, rep *report) error {
	n := b.o.transactions
	if n == 0 {
		return nil
	}
	b.step("storage transactions: %d paid orders through handler local, against an Azurite with --debug", n)
	dir, outbox := filepath.Join(b.work, "azurite-tx"), filepath.Join(b.work, "outbox-tx")
	for _, d := range []string{dir, outbox} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	debugLog := filepath.Join(b.work, "logs", "azurite-tx-debug.log")
	az, err := testenv.RunAzurite(ctx, dir, "--debug", debugLog)
	if err != nil {
		return err
	}
	defer az.Stop()
	settings := maps.Clone(b.settings)
	settings["AzureWebJobsStorage"], settings["EMAIL_OUTBOX_DIR"] = az.ConnectionString, outbox
	root, err := testenv.Root()
	if err != nil {
		return err
	}
	if err := b.handlerSetup(ctx, "setup-tx", settings, filepath.Join(root, "demo", "originals")); err != nil {
		return err
	}
	p, url, err := b.startLocal(ctx, "local-tx", settings, "")
	if err != nil {
		return err
	}
	defer p.Stop()
	before, err := countOperations(debugLog)
	if err != nil {
		return err
	}
	o := orders{url: url, outbox: outbox, tag: "tx", ev: b.ev, client: &http.Client{Timeout: requestTimeout}}
	t := &transactions{orders: o.isolated(ctx, n, 0), ops: map[string]int{}}
	after, err := countOperations(debugLog)
	if err != nil {
		return err
	}
	for op, c := range after {
		if d := c - before[op]; d > 0 {
			t.ops[op] = d
		}
	}
	rep.transactions = t
	return nil
}

// stage is what one queue stage cost over the stage phase's orders.
type stage struct {
	name string
	// executions are its invocations; busy is their summed duration, as
	// the handler logs it.
	executions int
	busy       time.Duration
	cpu        time.Duration
	peakRSS    int64
}

// stages are the stage phase's figures.
type stages struct {
	orders, mails int
	elapsed       time.Duration
	list          []stage
	err           string
}

// doneRE is the handler's debug line at the end of a queue invocation.
var doneRE = regexp.MustCompile(`msg="invocation done".* ms=([0-9]+)`)

// countExecutions counts the invocations a handler's log at path records,
// and their summed duration.
func countExecutions(path string) (int, time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	n, busy := 0, time.Duration(0)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		if m := doneRE.FindSubmatch(sc.Bytes()); m != nil {
			ms, _ := strconv.Atoi(string(m[1]))
			n, busy = n+1, busy+time.Duration(ms)*time.Millisecond
		}
	}
	return n, busy, sc.Err()
}

// stagePhase measures ProcessOrder and SendLink apart: each runs alone in
// a handler local of its own (--functions), logging at debug level for its
// "invocation done" lines, both started and idle before the orders'
// messages are put on ProcessOrder's queue at once, as the webhook queues
// them. Each process's CPU time is read once the last mail is written;
// its figures include its host emulator's polling and dispatch, which the
// Functions host does in Azure.
func (b *bench) stagePhase(ctx context.Context, rep *report) error {
	n := b.o.stageOrders
	if n == 0 {
		return nil
	}
	b.step("per stage: %d orders through ProcessOrder and SendLink, each alone in a handler local", n)
	settings := maps.Clone(b.settings)
	settings["LOG_LEVEL"] = "debug"
	s := &stages{orders: n}
	var procs []*testenv.Process
	var logs []string
	for _, name := range []string{"ProcessOrder", "SendLink"} {
		p, _, err := b.startLocal(ctx, "stage-"+name, settings, name)
		if err != nil {
			return err
		}
		defer p.Stop()
		procs, logs = append(procs, p), append(logs, p.Log)
		s.list = append(s.list, stage{name: name})
	}
	before := make([]time.Duration, len(procs))
	for i, p := range procs {
		before[i], _ = cpuTime(p.PID())
	}
	start := time.Now()
	for i := range n {
		if err := b.processOrder.Send(ctx, orderMessage("stage", i), 0); err != nil {
			return fmt.Errorf("queue order %d: %w", i, err)
		}
	}
	deadline := start.Add(time.Duration(n)*200*time.Millisecond + 30*time.Second)
	for s.mails < n && ctx.Err() == nil {
		if _, ok := mailWritten(b.outbox, enqueuedSession("stage", s.mails)); ok {
			s.mails++
			continue
		}
		if time.Now().After(deadline) {
			s.err = fmt.Sprintf("%d of %d mails written before the deadline", s.mails, n)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.elapsed = time.Since(start)
	// A stage logs its execution's end just after the mail is written.
	for settle := time.Now().Add(5 * time.Second); time.Now().Before(settle) && ctx.Err() == nil; time.Sleep(10 * time.Millisecond) {
		po, _, err1 := countExecutions(logs[0])
		sl, _, err2 := countExecutions(logs[1])
		if err1 != nil || err2 != nil || po >= n && sl >= s.mails {
			break
		}
	}
	for i, p := range procs {
		after, err := cpuTime(p.PID())
		if err != nil {
			return err
		}
		st := &s.list[i]
		st.cpu = after - before[i]
		st.peakRSS, _ = rss(p.PID(), "VmHWM")
		if st.executions, st.busy, err = countExecutions(logs[i]); err != nil {
			return err
		}
	}
	rep.stages = s
	return nil
}
