package faulttest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// webhookSecret is the endpoint's signing secret in the test.
const webhookSecret = "whsec_filedrop_fault_test"

const (
	// maxDeliveryAttempts bounds the attempts of one webhook delivery; with
	// the back-off below they span several minutes, as Stripe's retries
	// span days.
	maxDeliveryAttempts = 60
	maxBackoff          = 5 * time.Second
	// maxInFlight bounds the webhook requests in flight at once.
	maxInFlight = 16
)

// traffic plays Stripe: it delivers each session's events in the plan's
// order, signed afresh on every attempt, and retries a delivery that found
// the endpoint down or answering 5xx with back-off until it is accepted.
type traffic struct {
	url    string
	plan   *plan
	stripe *stripeFake
	client *http.Client
	sem    chan struct{}
	// awaitRefund, if set, waits until a refund step of s is due.
	awaitRefund func(ctx context.Context, s *session)

	accepted, attempts, refused, unavailable atomic.Int64

	mu       sync.Mutex
	failures []string
	firstAt  time.Time
	lastAt   time.Time
}

func newTraffic(url string, p *plan, s *stripeFake) *traffic {
	return &traffic{url: url, plan: p, stripe: s, sem: make(chan struct{}, maxInFlight),
		client: &http.Client{Timeout: 20 * time.Second}}
}

// run delivers the whole plan and returns when every delivery is accepted
// or has given up.
func (tr *traffic) run(ctx context.Context) {
	var wg sync.WaitGroup
	start := time.Now()
	for _, s := range tr.plan.sessions {
		wg.Go(func() { tr.session(ctx, &wg, start, s) })
	}
	wg.Wait()
}

func (tr *traffic) session(ctx context.Context, wg *sync.WaitGroup, start time.Time, s *session) {
	if s.lost || !sleepUntil(ctx, start.Add(s.start)) {
		return
	}
	for _, st := range s.steps {
		if st.refund != refundNone && tr.awaitRefund != nil {
			tr.awaitRefund(ctx, s)
		}
		switch {
		case st.pay:
			tr.stripe.pay(s.id)
		case st.dup == dupConcurrent:
			var both sync.WaitGroup
			both.Go(func() { tr.deliver(ctx, s.id, st) })
			tr.deliver(ctx, s.id, st)
			both.Wait()
		case st.dup == dupLater:
			tr.deliver(ctx, s.id, st)
			wg.Go(func() {
				if sleepUntil(ctx, time.Now().Add(st.dupDelay)) {
					tr.deliver(ctx, s.id, st)
				}
			})
		default:
			tr.deliver(ctx, s.id, st)
		}
		if !sleepUntil(ctx, time.Now().Add(st.gap)) {
			return
		}
	}
}

// deliver delivers one event until the endpoint accepts it (200). A 4xx
// answer means the test sent something wrong: it is recorded, not retried.
func (tr *traffic) deliver(ctx context.Context, sessionID string, st step) {
	backoff := 200 * time.Millisecond
	for attempt := 1; attempt <= maxDeliveryAttempts; attempt++ {
		status, answer, err := tr.post(ctx, sessionID, st)
		tr.attempts.Add(1)
		switch {
		case err == nil && status == http.StatusOK:
			tr.accepted.Add(1)
			tr.mu.Lock()
			if tr.firstAt.IsZero() {
				tr.firstAt = time.Now()
			}
			tr.lastAt = time.Now()
			tr.mu.Unlock()
			return
		case err == nil && status >= 400 && status < 500:
			tr.fail(fmt.Sprintf("%s %s for %s answered %d: %s", st.eventType, st.eventID, sessionID, status, answer))
			return
		case err != nil:
			tr.refused.Add(1)
		default:
			tr.unavailable.Add(1)
		}
		if ctx.Err() != nil {
			break
		}
		jitter := time.Duration(rand.Int64N(int64(backoff/2) + 1))
		if !sleepUntil(ctx, time.Now().Add(backoff/2+jitter)) {
			break
		}
		backoff = min(backoff*2, maxBackoff)
	}
	tr.fail(fmt.Sprintf("%s %s for %s: not accepted after %d attempts", st.eventType, st.eventID, sessionID, maxDeliveryAttempts))
}

// post makes one delivery attempt, signed now.
func (tr *traffic) post(ctx context.Context, sessionID string, st step) (int, string, error) {
	select {
	case tr.sem <- struct{}{}:
	case <-ctx.Done():
		return 0, "", ctx.Err()
	}
	defer func() { <-tr.sem }()
	body, sig, err := signedEvent(sessionID, st, time.Now())
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tr.url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Stripe-Signature", sig)
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks) filedrop-faulttest")
	resp, err := tr.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	return resp.StatusCode, string(bytes.TrimSpace(answer)), nil
}

func (tr *traffic) fail(problem string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.failures = append(tr.failures, problem)
}

// sleepUntil waits until t; it reports false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
