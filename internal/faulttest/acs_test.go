package faulttest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// acsKey is the fake resource's access key (base64).
const acsKey = "ZmF1bHQtdGVzdC1hY3MtYWNjZXNzLWtleS1ub3QtYS1zZWNyZXQ="

// acsFaults are the failures the fake ACS injects.
type acsFaults struct {
	// fail500 is the share of sends answered 500 without being accepted;
	// accept500 the share accepted and then answered 500 (the answer lost,
	// so the client must look the operation up rather than send again).
	fail500, accept500 float64
	// throttle429 is the share of sends answered 429 at random.
	throttle429 float64
	// limit sends are accepted per window (sliding); 0: no limit.
	limit  int
	window time.Duration
	// downFrom and downUntil (from the epoch) are an outage: every send
	// and lookup is answered 503.
	downFrom, downUntil time.Duration
}

// acsOp is an accepted send operation.
type acsOp struct {
	id    string
	to    string
	text  string
	at    time.Time
	polls int
}

// acsFake plays the Email REST API of Azure Communication Services as the
// pipeline relies on it: it verifies every request's HMAC signature, keeps
// the operations it accepted, answers 409 to a repeated Operation-Id (so a
// repeat is never a second mail), and injects 500s, 429s and a
// sliding-window rate limit. It answers an accepted send as the real service
// does, 202 with an absolute Operation-Location (with its double slash and
// api-version) and retry-after, and moves each operation on by one status
// per lookup, NotStarted, Running, then Succeeded, at that location or at
// GET /emails/operations/{id}.
type acsFake struct {
	URL string

	t      testing.TB
	key    []byte
	faults acsFaults

	// trap holds the answer to an accepted send: the mail is then sent
	// but SendLink has not recorded it.
	trap trap

	mu       sync.Mutex
	rng      *rand.Rand
	ops      map[string]*acsOp
	accepted []time.Time // every acceptance, in order
	recent   []time.Time // acceptances inside the current window

	epoch                               time.Time
	downAnswers                         int
	posts, gets, located, conflicts     int
	injected500, accepted500, random429 int
	limited429, authFailures, bad       int
}

func startACS(t testing.TB, f acsFaults, seed uint64) *acsFake {
	key, _ := base64.StdEncoding.DecodeString(acsKey)
	a := &acsFake{t: t, key: key, faults: f, rng: rand.New(rand.NewPCG(seed, 0xac5)), ops: map[string]*acsOp{}}
	srv := httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(srv.Close)
	a.URL = srv.URL
	return a
}

// connectionString is ACS_CONNECTION_STRING for the fake.
func (a *acsFake) connectionString() string {
	return "endpoint=" + a.URL + "/;accesskey=" + acsKey
}

// begin sets the epoch of the outage window.
func (a *acsFake) begin(epoch time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.epoch = epoch
}

// isDown reports whether the outage is on now, and counts the answer.
func (a *acsFake) isDown() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.epoch.IsZero() || a.faults.downUntil <= 0 {
		return false
	}
	if at := time.Since(a.epoch); at >= a.faults.downFrom && at < a.faults.downUntil {
		a.downAnswers++
		return true
	}
	return false
}

func (a *acsFake) serve(w http.ResponseWriter, r *http.Request) {
	if a.isDown() {
		acsError(w, http.StatusServiceUnavailable, "ServiceUnavailable")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		acsError(w, http.StatusBadRequest, "BadRequest")
		return
	}
	if problem := a.verify(r, body); problem != "" {
		a.mu.Lock()
		a.authFailures++
		a.mu.Unlock()
		a.t.Errorf("fake ACS: %s %s: %s", r.Method, r.RequestURI, problem)
		acsError(w, http.StatusUnauthorized, "Denied")
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/emails:send":
		a.send(w, r, body)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "//emails/operations/"):
		// The Operation-Location of a 202.
		a.lookup(w, strings.TrimPrefix(r.URL.Path, "//emails/operations/"), true)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/emails/operations/"):
		a.lookup(w, strings.TrimPrefix(r.URL.Path, "/emails/operations/"), false)
	default:
		a.mu.Lock()
		a.bad++
		a.mu.Unlock()
		a.t.Errorf("fake ACS: unexpected %s %s", r.Method, r.RequestURI)
		acsError(w, http.StatusNotFound, "NotFound")
	}
}

// verify recomputes the request's HMAC-SHA256 signature (the method, the
// request target, x-ms-date, the host and the body's hash) and checks the
// api-version; it returns what is wrong, or "".
func (a *acsFake) verify(r *http.Request, body []byte) string {
	if v := r.URL.Query().Get("api-version"); v != "2025-09-01" {
		return "api-version " + v
	}
	sum := sha256.Sum256(body)
	hash := base64.StdEncoding.EncodeToString(sum[:])
	if got := r.Header.Get("x-ms-content-sha256"); got != hash {
		return "x-ms-content-sha256 does not match the body"
	}
	date := r.Header.Get("x-ms-date")
	if d, err := http.ParseTime(date); err != nil || time.Since(d).Abs() > 5*time.Minute {
		return "x-ms-date " + date + " is not a current HTTP date"
	}
	mac := hmac.New(sha256.New, a.key)
	fmt.Fprintf(mac, "%s\n%s\n%s;%s;%s", r.Method, r.RequestURI, date, r.Host, hash)
	want := "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=" + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if r.Header.Get("Authorization") != want {
		return "the HMAC signature does not verify"
	}
	return ""
}

// sendRequest is the part of POST /emails:send the fake reads.
type sendRequest struct {
	SenderAddress string `json:"senderAddress"`
	Content       struct {
		Subject   string `json:"subject"`
		PlainText string `json:"plainText"`
		HTML      string `json:"html"`
	} `json:"content"`
	Recipients struct {
		To []struct {
			Address string `json:"address"`
		} `json:"to"`
	} `json:"recipients"`
}

func (a *acsFake) send(w http.ResponseWriter, r *http.Request, body []byte) {
	id := r.Header.Get("Operation-Id")
	var req sendRequest
	if err := json.Unmarshal(body, &req); err != nil || id == "" || len(req.Recipients.To) == 0 || req.SenderAddress == "" {
		a.mu.Lock()
		a.bad++
		a.mu.Unlock()
		a.t.Errorf("fake ACS: malformed send (Operation-Id %q): %v", id, err)
		acsError(w, http.StatusBadRequest, "BadRequest")
		return
	}
	status, retryAfter := a.decide(id, req, time.Now())
	switch status {
	case http.StatusAccepted:
		a.trap.spring("SendLink sending " + id + " to " + req.Recipients.To[0].Address)
		w.Header().Set("Operation-Location", "http://"+r.Host+"//emails/operations/"+id+"?api-version=2025-09-01")
		w.Header().Set("retry-after", "1")
		writeJSON(w, http.StatusAccepted, map[string]string{"id": id, "status": "NotStarted"})
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", fmt.Sprint(int((retryAfter+time.Second-1)/time.Second)))
		acsError(w, status, "TooManyRequests")
	case http.StatusConflict:
		acsError(w, status, "OperationIdAlreadyExists")
	default:
		acsError(w, status, "InternalServerError")
	}
}

// decide answers a send: an injected fault, 409 for a repeated
// Operation-Id, 429 over the rate limit, or 202 with the operation
// recorded as accepted (or recorded and answered 500: the answer lost).
func (a *acsFake) decide(id string, req sendRequest, now time.Time) (status int, retryAfter time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.posts++
	roll := a.rng.Float64()
	f := a.faults
	switch {
	case roll < f.fail500:
		a.injected500++
		return http.StatusInternalServerError, 0
	case roll < f.fail500+f.throttle429:
		a.random429++
		return http.StatusTooManyRequests, time.Second
	}
	if _, dup := a.ops[id]; dup {
		a.conflicts++
		return http.StatusConflict, 0
	}
	if wait, ok := a.admit(now); !ok {
		a.limited429++
		return http.StatusTooManyRequests, wait
	}
	op := &acsOp{id: id, to: strings.ToLower(req.Recipients.To[0].Address), text: req.Content.PlainText, at: now}
	a.ops[id] = op
	a.accepted = append(a.accepted, now)
	a.recent = append(a.recent, now)
	if roll < f.fail500+f.throttle429+f.accept500 {
		a.accepted500++
		return http.StatusInternalServerError, 0
	}
	return http.StatusAccepted, 0
}

// admit reports whether the rate limit lets one more send through at now,
// or how long until it does. a.mu must be held. A repeated Operation-Id is
// not a send: it is answered 409 before the limit is asked.
func (a *acsFake) admit(now time.Time) (time.Duration, bool) {
	if a.faults.limit <= 0 {
		return 0, true
	}
	cut := now.Add(-a.faults.window)
	i := 0
	for i < len(a.recent) && !a.recent[i].After(cut) {
		i++
	}
	a.recent = a.recent[i:]
	if len(a.recent) < a.faults.limit {
		return 0, true
	}
	return a.recent[0].Add(a.faults.window).Sub(now), false
}

// lookup answers GET of operation id, at its Operation-Location or not.
func (a *acsFake) lookup(w http.ResponseWriter, id string, atLocation bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.gets++
	if atLocation {
		a.located++
	}
	op, ok := a.ops[id]
	if !ok {
		acsError(w, http.StatusNotFound, "NotFound")
		return
	}
	op.polls++
	status := "Succeeded"
	if op.polls == 1 {
		status = "Running"
		w.Header().Set("retry-after", "1")
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": id, "status": status})
}

// acsStats is what the fake saw.
type acsStats struct {
	ops                                 []acsOp
	accepted                            []time.Time
	posts, gets, conflicts              int
	located                             int // lookups at an Operation-Location
	injected500, accepted500, random429 int
	limited429, authFailures, bad       int
	down                                int // answered 503 during the outage
}

func (a *acsFake) stats() acsStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := acsStats{accepted: slices.Clone(a.accepted), posts: a.posts, gets: a.gets, located: a.located, conflicts: a.conflicts,
		injected500: a.injected500, accepted500: a.accepted500, random429: a.random429,
		limited429: a.limited429, authFailures: a.authFailures, bad: a.bad, down: a.downAnswers}
	for _, op := range a.ops {
		s.ops = append(s.ops, *op)
	}
	return s
}

// maxInWindow is the most acceptances inside any window of length d,
// counted independently of the limiter.
func maxInWindow(times []time.Time, d time.Duration) int {
	best, j := 0, 0
	for i := range times {
		for j < len(times) && times[j].Sub(times[i]) < d {
			j++
		}
		best = max(best, j-i)
	}
	return best
}

func acsError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("x-ms-error-code", code)
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": "fake ACS: " + code}})
}
