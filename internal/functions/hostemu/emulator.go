// Package hostemu plays the Azure Functions host's part for a local run
// without Core Tools: it polls the queue of every queue-triggered function
// with the host's semantics, invokes the custom handler over HTTP with the
// request shape the real host sends, and forwards the public HTTP routes.
// It is the host side of the protocol that package functions speaks.
package hostemu

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/storage"
)

// HostVersion is what the emulator reports as the host's version.
const HostVersion = "4.1040.0-filedrop-emulator"

// Emulator plays the Functions host's part for a local run: it polls the
// queue of every queue-triggered function with the host's semantics and
// invokes the handler over HTTP with the very request shape the real host
// sends, so a local run exercises the production decoding path.
//
// Semantics kept from the host (v5 queues extension): base64 message text; a
// message that is not base64, or whose DequeueCount is already over
// maxDequeueCount, goes to <queue>-poison without an invocation; a message
// is invisible while its invocation runs (renewed); after a failed
// invocation it becomes visible again after visibilityTimeout, or goes to
// <queue>-poison once DequeueCount reaches maxDequeueCount; a successful
// invocation deletes it. Empty queues are polled with a randomised
// exponential back-off up to maxPollingInterval.
type Emulator struct {
	App    functions.App
	Queues *storage.Queues
	// Handler is the custom handler's base URL, e.g. http://127.0.0.1:40123.
	Handler string
	Client  *http.Client
	Log     *slog.Logger
	// Hold is how long a message stays invisible while its invocation runs;
	// it is renewed every Hold/3. The host uses 10 minutes; a shorter hold
	// makes a crashed local run redeliver sooner.
	Hold time.Duration
}

// Run polls every queue function, and runs every timer function on its
// schedule, until ctx is done, then waits for the
// invocations in flight (they are not cancelled: like the host, the
// emulator lets a started invocation finish).
func (e *Emulator) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, fn := range e.App.TimerFunctions() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.tick(ctx, fn)
		}()
	}
	for _, fn := range e.App.QueueFunctions() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.poll(ctx, fn)
		}()
	}
	wg.Wait()
	return nil
}

func (e *Emulator) poll(ctx context.Context, fn functions.Function) {
	q := e.Queues.Queue(fn.Queue)
	log := e.Log.With("function", fn.Name, "queue", fn.Queue)
	batch := max(1, min(e.App.Queues.BatchSize, 32))
	sem := make(chan struct{}, batch)
	var inflight sync.WaitGroup
	defer inflight.Wait()
	const minBackoff = 100 * time.Millisecond
	backoff := minBackoff
	failures := 0
	for ctx.Err() == nil {
		free := batch - len(sem)
		if free == 0 {
			select { // wait for a slot
			case sem <- struct{}{}:
				<-sem
			case <-ctx.Done():
				return
			}
			continue
		}
		msgs, err := q.Receive(ctx, free, e.Hold)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			if failures == 1 || failures%30 == 0 {
				log.Warn("cannot read the queue; retrying", "err", err, "failures", failures)
			}
		} else if failures > 0 {
			log.Info("queue readable again", "after_failures", failures)
			failures = 0
		}
		if len(msgs) == 0 {
			sleep(ctx, backoff/2+rand.N(backoff/2+1))
			backoff = min(backoff*2, max(e.App.Queues.MaxPollingInterval, minBackoff))
			continue
		}
		backoff = minBackoff
		for _, m := range msgs {
			sem <- struct{}{}
			inflight.Add(1)
			go func() {
				defer func() { <-sem; inflight.Done() }()
				// Detached from ctx: a started invocation finishes.
				e.deliver(context.WithoutCancel(ctx), log, fn, q, m)
			}()
		}
	}
}

// deliver runs one message through its function, as the host does.
func (e *Emulator) deliver(ctx context.Context, log *slog.Logger, fn functions.Function, q *storage.Queue, m storage.Message) {
	log = log.With("message_id", m.ID, "dequeue_count", m.DequeueCount)
	limit := e.App.Queues.MaxDequeueCount
	switch {
	case m.Data == nil:
		log.Error("message is not base64; moving it to the poison queue without an invocation")
		e.poison(ctx, log, fn, q, m)
		return
	case m.DequeueCount > limit:
		log.Error("message was delivered more than maxDequeueCount times; moving it to the poison queue", "max", limit)
		e.poison(ctx, log, fn, q, m)
		return
	}
	var mu sync.Mutex // guards m's pop receipt while the hold is renewed
	// The invocation gets its own copy, taken before the renewal may write
	// m: it needs the message as delivered, not the renewed pop receipt.
	delivered := m
	stop := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(max(e.Hold/3, time.Second))
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				mu.Lock()
				if nm, err := q.Hide(ctx, m, e.Hold); err == nil {
					m = nm
				}
				mu.Unlock()
			}
		}
	}()
	ok, err := e.invoke(ctx, fn, delivered)
	close(stop)
	<-renewed
	switch {
	case ok:
		if err := q.Delete(ctx, m); err != nil {
			log.Warn("invocation succeeded but the message could not be deleted; it will be delivered again", "err", err)
		}
	case m.DequeueCount >= limit:
		log.Error("invocation failed for the last time; moving the message to the poison queue", "err", err, "max", limit)
		e.poison(ctx, log, fn, q, m)
	default:
		log.Warn("invocation failed; the message will be retried", "err", err, "after", e.App.Queues.VisibilityTimeout.String())
		if _, err := q.Hide(ctx, m, e.App.Queues.VisibilityTimeout); err != nil {
			log.Warn("could not schedule the retry; the message reappears when its hold ends", "err", err)
		}
	}
}

func (e *Emulator) poison(ctx context.Context, log *slog.Logger, fn functions.Function, q *storage.Queue, m storage.Message) {
	name := fn.PoisonQueue()
	if name == "" {
		log.Error("no poison queue (name too long); the message is deleted")
	} else {
		pq := e.Queues.Queue(name)
		err := pq.SendText(ctx, m.Text, 0)
		if err != nil {
			if _, cerr := e.Queues.Create(ctx, name); cerr == nil {
				err = pq.SendText(ctx, m.Text, 0)
			}
		}
		if err != nil {
			log.Error("could not move the message to the poison queue; it stays on its queue", "err", err)
			return
		}
	}
	if err := q.Delete(ctx, m); err != nil {
		log.Warn("poisoned message could not be deleted from its queue", "err", err)
	}
}

// invoke POSTs the host-shaped invocation and reports whether the answer
// counts as success (2xx with a JSON body).
func (e *Emulator) invoke(ctx context.Context, fn functions.Function, m storage.Message) (bool, error) {
	return e.post(ctx, fn, InvocationBody(fn, m.Data, m.DequeueCount, m.ID, m.PopReceipt, m.InsertedAt, m.ExpiresAt, m.NextVisible))
}

// post sends one invocation body to fn's route and reports whether the
// answer counts as success (2xx with a JSON body).
func (e *Emulator) post(ctx context.Context, fn functions.Function, body []byte) (bool, error) {
	cancel := context.CancelFunc(func() {})
	if e.App.FunctionTimeout > 0 { // 0: unbounded
		ctx, cancel = context.WithTimeout(ctx, e.App.FunctionTimeout)
	}
	defer cancel()
	// Hide the length, so the body goes out chunked as the host sends it.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.Handler+"/"+fn.Name, io.MultiReader(bytes.NewReader(body)))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("X-Azure-Functions-InvocationId", uuid.NewString())
	req.Header.Set("X-Azure-Functions-HostVersion", HostVersion)
	req.Header.Set("User-Agent", "Azure-Functions-Host/"+HostVersion)
	resp, err := e.Client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return false, fmt.Errorf("handler answered %d: %s", resp.StatusCode, failure(b))
	}
	var obj map[string]any
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || json.Unmarshal(b, &obj) != nil {
		return false, fmt.Errorf("handler answered %d without a JSON object (%q): the host would fail the invocation", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return true, nil
}

// failure is what a failed answer's body says: its Error when it is the
// handler's JSON answer, so that an error holding JSON of its own is logged
// once rather than escaped inside the escaped answer; else the body.
func failure(body []byte) string {
	var r functions.Response
	if json.Unmarshal(body, &r) == nil && r.Error != "" {
		return r.Error
	}
	return string(bytes.TrimSpace(body))
}

// InvocationBody builds the body the real host POSTs for a queue message:
// binary data as base64 (or, without dataType, the text JSON-encoded twice)
// and metadata values JSON-encoded the way the host writes them.
func InvocationBody(fn functions.Function, data []byte, dequeueCount int, id, popReceipt string, inserted, expires, next time.Time) []byte {
	var payload string
	if fn.DataType == "binary" {
		payload = base64.StdEncoding.EncodeToString(data)
	} else {
		inner, _ := json.Marshal(string(data))
		payload = string(inner)
	}
	quoted := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }
	now := time.Now().UTC()
	body, _ := json.Marshal(map[string]any{
		"Data": map[string]any{fn.Binding: payload},
		"Metadata": map[string]any{
			"DequeueCount":    fmt.Sprint(dequeueCount),
			"ExpirationTime":  ts(expires),
			"Id":              quoted(id),
			"InsertionTime":   ts(inserted),
			"NextVisibleTime": ts(next),
			"PopReceipt":      quoted(popReceipt),
			"sys": map[string]any{
				"MethodName": fn.Name,
				"UtcNow":     now.Format(time.RFC3339Nano),
				"RandGuid":   uuid.NewString(),
			},
		},
	})
	return body
}

// Front returns the handler for the emulated host's public port: requests to
// /api/<Function> of an HTTP-triggered function are forwarded to the custom
// handler unchanged (method, path, query, headers, raw body), with the
// host's User-Agent appended, as enableForwardingHttpRequest does.
func (e *Emulator) Front() (http.Handler, error) {
	target, err := url.Parse(e.Handler)
	if err != nil {
		return nil, err
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host
			r.Out.Header.Set("User-Agent", strings.TrimSpace(r.In.Header.Get("User-Agent")+" Azure-Functions-Host/"+HostVersion))
			r.Out.Header.Set("X-Azure-Functions-InvocationId", uuid.NewString())
			r.Out.URL.RawQuery = HostQuery(r.In.URL.RawQuery)
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			e.Log.Error("custom handler unreachable", "err", err)
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	var fns []functions.Function
	for _, f := range e.App.Functions {
		if f.Trigger == "httpTrigger" {
			fns = append(fns, f)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, f := range fns {
			if f.MatchRoute(r.URL.EscapedPath()) && (len(f.Methods) == 0 || slices.Contains(f.Methods, strings.ToLower(r.Method))) {
				proxy.ServeHTTP(w, r)
				return
			}
		}
		http.NotFound(w, r)
	}), nil
}

// HostQuery returns the query string the host forwards for raw: it parses
// the request's query into a dictionary (the values of a repeated name
// joined by commas, names in order of first appearance) and writes it back
// URL-encoded (ToHttpRequestMessage with QueryHelpers.AddQueryString in the
// host's Extensions/HttpRequestExtensions.cs). A name without a value
// comes back as "name=".
func HostQuery(raw string) string {
	if raw == "" {
		return ""
	}
	var names []string
	values := map[string][]string{}
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			continue
		}
		if _, ok := values[k]; !ok {
			names = append(names, k)
		}
		values[k] = append(values[k], v)
	}
	parts := make([]string, 0, len(names))
	for _, k := range names {
		parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(strings.Join(values[k], ",")))
	}
	return strings.Join(parts, "&")
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
