package acs_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/mail"
	"github.com/filedrop/filedrop/internal/mail/acs"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/sendlink"
)

// The transport is what the SendLink stage sends with.
var _ sendlink.Sender = (*acs.Client)(nil)

// testKey is the base64 access key of the fake resource.
const testKey = "c2VjcmV0LWtleS1vZi10aGUtZmFrZS1hY3MtcmVzb3VyY2U="

// fakeACS plays the Email REST API as the 2025-09-01 specification
// describes it. It checks every request's HMAC signature with its own
// implementation (or the bearer token), keeps the operations it accepted,
// answers 409 to a repeated Operation-Id, and lets a test script the answer
// to each POST. A 202 answer carries an absolute Operation-Location with the
// double slash and the api-version the real service writes, and
// retry-after; each poll moves the operation on through its statuses
// (NotStarted, Running, Succeeded unless scripted otherwise), with
// retry-after while it is not final and the error object once it failed.
type fakeACS struct {
	t   *testing.T
	key []byte // nil: expect a bearer token instead

	mu      sync.Mutex
	posts   int
	gets    int
	ops     map[string][]string // operation id -> statuses the 202 and each lookup report, the last one sticks
	opIDs   []string            // Operation-Id of every POST
	getURIs []string            // the request target of every GET
	bodies  [][]byte
	onPost  func(n int, w http.ResponseWriter, r *http.Request, f *fakeACS) bool // true: answered
	opError map[string]string                                                    // operation id -> error code of a failed operation
	// retryAfter is the retry-after of an answer whose operation is not
	// final ("" for none); location, when set, makes the Operation-Location
	// of a 202 ("-" for none) from the request and the operation id.
	retryAfter string
	location   func(r *http.Request, id string) string
	// statuses are those of the next accepted operation; nil: the default.
	statuses []string
}

func newFakeACS(t *testing.T, key []byte) *fakeACS {
	return &fakeACS{t: t, key: key, ops: map[string][]string{}, opError: map[string]string{}, retryAfter: "2"}
}

// accept records operation id as accepted, with the statuses the 202 and
// its lookups report (default NotStarted, Running, Succeeded). f.mu must be
// held.
func (f *fakeACS) accept(id string, statuses ...string) {
	if len(statuses) == 0 {
		statuses = []string{"NotStarted", "Running", "Succeeded"}
	}
	f.ops[id] = statuses
}

// next returns the status of operation id and moves it on. f.mu must be held.
func (f *fakeACS) next(id string) string {
	statuses := f.ops[id]
	if len(statuses) > 1 {
		f.ops[id] = statuses[1:]
	}
	return statuses[0]
}

func (f *fakeACS) counts() (posts, gets, accepted int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.posts, f.gets, len(f.ops)
}

// verify checks the request's authentication: an HMAC signature recomputed
// here, or a bearer token and no HMAC headers.
func (f *fakeACS) verify(r *http.Request, body []byte) error {
	auth := r.Header.Get("Authorization")
	if f.key == nil {
		if auth != "Bearer test-token" {
			return fmt.Errorf("authorization %q, want the bearer token", auth)
		}
		for _, h := range []string{"x-ms-date", "x-ms-content-sha256"} {
			if r.Header.Get(h) != "" {
				return fmt.Errorf("HMAC header %s with a bearer token", h)
			}
		}
		return nil
	}
	sum := sha256.Sum256(body)
	hash := base64.StdEncoding.EncodeToString(sum[:])
	if got := r.Header.Get("x-ms-content-sha256"); got != hash {
		return fmt.Errorf("x-ms-content-sha256 %q, body hashes to %q", got, hash)
	}
	date := r.Header.Get("x-ms-date")
	if _, err := http.ParseTime(date); err != nil {
		return fmt.Errorf("x-ms-date %q: %v", date, err)
	}
	mac := hmac.New(sha256.New, f.key)
	fmt.Fprintf(mac, "%s\n%s\n%s;%s;%s", r.Method, r.RequestURI, date, r.Host, hash)
	want := "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=" + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if auth != want {
		return fmt.Errorf("authorization %q, want %q", auth, want)
	}
	return nil
}

func (f *fakeACS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	require.NoError(f.t, err)
	if err := f.verify(r, body); err != nil {
		f.t.Errorf("%s %s: %v", r.Method, r.RequestURI, err)
		writeError(w, http.StatusUnauthorized, "Denied")
		return
	}
	if got := r.URL.Query().Get("api-version"); got != "2025-09-01" {
		f.t.Errorf("%s %s: api-version %q", r.Method, r.RequestURI, got)
	}
	// The Operation-Location's path starts with "//"; the documented one
	// with "/".
	path := "/" + strings.TrimLeft(r.URL.Path, "/")
	f.mu.Lock()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/emails:send":
		f.posts++
		n, id := f.posts, r.Header.Get("Operation-Id")
		f.opIDs = append(f.opIDs, id)
		f.bodies = append(f.bodies, body)
		onPost := f.onPost
		f.mu.Unlock()
		if onPost != nil && onPost(n, w, r, f) {
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.ops[id]; ok {
			writeError(w, http.StatusConflict, "OperationIdAlreadyExists")
			return
		}
		f.accept(id, f.statuses...)
		f.answer(w, r, http.StatusAccepted, id)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/emails/operations/"):
		defer f.mu.Unlock()
		f.gets++
		f.getURIs = append(f.getURIs, r.RequestURI)
		id := strings.TrimPrefix(path, "/emails/operations/")
		if _, ok := f.ops[id]; !ok {
			writeError(w, http.StatusNotFound, "NotFound")
			return
		}
		f.answer(w, r, http.StatusOK, id)
	default:
		f.mu.Unlock()
		f.t.Errorf("unexpected %s %s", r.Method, r.RequestURI)
		writeError(w, http.StatusNotFound, "NotFound")
	}
}

// answer writes the operation id's next status as an EmailSendResult, with
// status code (202 for the send, 200 for a lookup). f.mu must be held.
func (f *fakeACS) answer(w http.ResponseWriter, r *http.Request, code int, id string) {
	status := f.next(id)
	op := map[string]any{"id": id, "status": status}
	final := status == "Succeeded" || status == "Failed" || status == "Canceled"
	if code := f.opError[id]; code != "" && final && status != "Succeeded" {
		op["error"] = map[string]string{"code": code, "message": "Message dropped because all recipients were suppressed"}
	}
	if !final && f.retryAfter != "" {
		w.Header().Set("retry-after", f.retryAfter)
	}
	if code == http.StatusAccepted {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		loc := scheme + "://" + r.Host + "//emails/operations/" + id + "?api-version=2025-09-01"
		if f.location != nil {
			loc = f.location(r, id)
		}
		if loc != "-" {
			w.Header().Set("Operation-Location", loc)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	require.NoError(f.t, json.NewEncoder(w).Encode(op))
}

// fakeClock is the client's clock and sleep: a pause moves the clock on at
// once and is recorded; onSleep, if set, runs at each.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	slept   []time.Duration
	onSleep func(n int)
}

func newFakeClock(start time.Time) *fakeClock { return &fakeClock{now: start} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	n, on := len(c.slept), c.onSleep
	c.mu.Unlock()
	if on != nil {
		on(n)
	}
	return ctx.Err()
}

func (c *fakeClock) pauses() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.slept)
}

func writeError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-ms-error-code", code)
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%q,"message":"the fake says %s"}}`, code, code)
}

func testMessage() mail.Message {
	return mail.Message{
		Key:     order.MailKey("cs_test_a1", order.MailDownloadLinks, 1),
		Date:    time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC),
		From:    mail.Address{Name: "Shop", Email: "DoNotReply@shop.example"},
		To:      []mail.Address{{Name: "O'Brien & Co", Email: "ob@customer.example"}},
		ReplyTo: []mail.Address{{Email: "help@shop.example"}},
		Bcc:     []mail.Address{{Email: "copies@shop.example"}},
		Subject: "Your downloads",
		Text:    "Hello\nhttps://x.example/a.jpg?sig=a&sp=r\n",
		HTML:    `<p>Hello</p><a href="https://x.example/a.jpg?sig=a&amp;sp=r">a</a>`,
	}
}

// fastOptions keep the tests' pauses short: a fake clock, and short real
// pauses where the client cannot use it.
func fastOptions() *acs.Options {
	return clockOptions(newFakeClock(time.Now()))
}

func clockOptions(clock *fakeClock) *acs.Options {
	return &acs.Options{Timeout: 2 * time.Second, RetryDelay: time.Millisecond, PollInterval: time.Second, Now: clock.Now, Sleep: clock.Sleep}
}

func TestSend(t *testing.T) {
	// The fake clock starts now, so that the test's context deadline, on
	// the real time line, is on the fake clock's too.
	start := time.Now().Truncate(time.Second)
	key := testMessage().Key
	respond := func(status int, headers map[string]string, body string) func(int, http.ResponseWriter, *http.Request, *fakeACS) bool {
		return func(_ int, w http.ResponseWriter, _ *http.Request, _ *fakeACS) bool {
			for k, v := range headers {
				w.Header().Set(k, v)
			}
			w.WriteHeader(status)
			io.WriteString(w, body)
			return true
		}
	}
	// The request targets of polls at the Operation-Location, with its
	// double slash, and at the operation's documented URL.
	atLocation := "//emails/operations/" + key + "?api-version=2025-09-01"
	atURL := "/emails/operations/" + key + "?api-version=2025-09-01"
	tests := []struct {
		name   string
		onPost func(n int, w http.ResponseWriter, r *http.Request, f *fakeACS) bool
		before func(f *fakeACS)
		opts   func(o *acs.Options)

		wantStatus    mail.SendStatus // the receipt's, when there is no error
		wantErr       string          // "" for success
		wantPermanent bool            // the error is order.Permanent
		wantTransient bool            // the error is order.Transient
		wantSetting   string          // the error is order.Misconfigured naming this setting
		wantThrottle  time.Duration   // the error is order.Throttled with this pause
		wantPosts     int
		wantGets      int
		wantAccepted  int
		wantGetURIs   []string        // nil: not checked
		wantPauses    []time.Duration // nil: not checked
	}{
		{
			name:       "accepted, then polled at the Operation-Location as retry-after asks until it succeeds",
			wantStatus: mail.Sent, wantPosts: 1, wantGets: 2, wantAccepted: 1,
			wantGetURIs: []string{atLocation, atLocation}, wantPauses: []time.Duration{2 * time.Second, 2 * time.Second},
		},
		{
			name:       "a long retry-after is waited out",
			before:     func(f *fakeACS) { f.retryAfter = "20" },
			wantStatus: mail.Sent, wantPosts: 1, wantGets: 2, wantAccepted: 1,
			wantPauses: []time.Duration{20 * time.Second, 20 * time.Second},
		},
		{
			name:       "a retry-after shorter than PollInterval waits PollInterval",
			before:     func(f *fakeACS) { f.retryAfter = "0" },
			opts:       func(o *acs.Options) { o.PollInterval = 3 * time.Second },
			wantStatus: mail.Sent, wantPosts: 1, wantGets: 2, wantAccepted: 1,
			wantPauses: []time.Duration{3 * time.Second, 3 * time.Second},
		},
		{
			name:       "no retry-after: PollInterval",
			before:     func(f *fakeACS) { f.retryAfter = "" },
			wantStatus: mail.Sent, wantPosts: 1, wantGets: 2, wantAccepted: 1,
			wantPauses: []time.Duration{time.Second, time.Second},
		},
		{
			name: "no Operation-Location: polled at the operation's URL",
			before: func(f *fakeACS) {
				f.location = func(*http.Request, string) string { return "-" }
			},
			wantStatus: mail.Sent, wantPosts: 1, wantGets: 2, wantAccepted: 1,
			wantGetURIs: []string{atURL, atURL},
		},
		{
			name: "an Operation-Location without api-version gets it",
			before: func(f *fakeACS) {
				f.location = func(r *http.Request, id string) string { return "http://" + r.Host + "/emails/operations/" + id }
			},
			wantStatus: mail.Sent, wantPosts: 1, wantGets: 2, wantAccepted: 1,
			wantGetURIs: []string{atURL, atURL},
		},
		{
			name:       "accepted without polling",
			opts:       func(o *acs.Options) { o.PollTime = -1 },
			wantStatus: mail.Accepted, wantPosts: 1, wantGets: 0, wantAccepted: 1,
		},
		{
			name:       "a redelivery gets 409, looks the operation up and follows it",
			before:     func(f *fakeACS) { f.accept(key, "Running", "Succeeded") },
			wantStatus: mail.Sent, wantPosts: 1, wantGets: 2, wantAccepted: 1,
			wantGetURIs: []string{atURL, atURL}, wantPauses: []time.Duration{2 * time.Second},
		},
		{
			name:       "still running after three polls is not sent: the fourth sees it succeed",
			before:     func(f *fakeACS) { f.statuses = []string{"Running", "Running", "Running", "Running", "Succeeded"} },
			wantStatus: mail.Sent, wantPosts: 1, wantGets: 4, wantAccepted: 1,
		},
		{
			name:    "still running after three polls is not sent: the fourth sees it fail",
			before:  func(f *fakeACS) { f.statuses = []string{"Running", "Running", "Running", "Running", "Failed"} },
			wantErr: "acs: operation " + key + " failed", wantTransient: true,
			wantPosts: 1, wantGets: 4, wantAccepted: 1,
		},
		{
			name:       "still running when the context's deadline comes: accepted",
			before:     func(f *fakeACS) { f.statuses = []string{"Running"}; f.retryAfter = "20" },
			opts:       func(o *acs.Options) { o.PollTime = time.Hour }, // the test's context ends after 70 s
			wantStatus: mail.Accepted, wantPosts: 1, wantGets: 3, wantAccepted: 1,
			wantPauses: []time.Duration{20 * time.Second, 20 * time.Second, 20 * time.Second},
		},
		{
			name:       "still running when PollTime is up: accepted",
			before:     func(f *fakeACS) { f.statuses = []string{"NotStarted"} },
			opts:       func(o *acs.Options) { o.PollTime = 5 * time.Second },
			wantStatus: mail.Accepted, wantPosts: 1, wantGets: 2, wantAccepted: 1,
			wantPauses: []time.Duration{2 * time.Second, 2 * time.Second},
		},
		{
			name: "a poll that fails leaves the mail accepted",
			before: func(f *fakeACS) {
				f.location = func(r *http.Request, id string) string {
					return "http://" + r.Host + "//emails/operations/" + id + "x?api-version=2025-09-01"
				}
			},
			wantStatus: mail.Accepted, wantPosts: 1, wantGets: 1, wantAccepted: 1,
		},
		{
			name: "the operation fails while polled: a suppressed recipient is permanent",
			before: func(f *fakeACS) {
				f.statuses = []string{"Running", "Failed"}
				f.opError[key] = "EmailDroppedAllRecipientsSuppressed"
			},
			wantErr: "acs: operation " + key + " failed: EmailDroppedAllRecipientsSuppressed: Message dropped", wantPermanent: true,
			wantPosts: 1, wantGets: 1, wantAccepted: 1,
		},
		{
			name: "the operation fails with a code of no known meaning: transient",
			before: func(f *fakeACS) {
				f.statuses = []string{"NotStarted", "Running", "Failed"}
				f.opError[key] = "InternalFailure"
			},
			wantErr: "failed: InternalFailure", wantTransient: true,
			wantPosts: 1, wantGets: 2, wantAccepted: 1,
		},
		{
			name:    "a canceled operation without an error object: transient",
			before:  func(f *fakeACS) { f.statuses = []string{"Running", "Canceled"} },
			wantErr: "acs: operation " + key + " canceled", wantTransient: true,
			wantPosts: 1, wantGets: 1, wantAccepted: 1,
		},
		{
			name:    "a 202 that says it failed already is not polled",
			before:  func(f *fakeACS) { f.statuses = []string{"Failed"}; f.opError[key] = "EmailDropped" },
			wantErr: "failed: EmailDropped", wantPermanent: true,
			wantPosts: 1, wantGets: 0, wantAccepted: 1,
		},
		{
			name:    "429 with Retry-After in seconds",
			onPost:  respond(http.StatusTooManyRequests, map[string]string{"Retry-After": "7", "x-ms-error-code": "TooManyRequests"}, ""),
			wantErr: "429", wantThrottle: 7 * time.Second, wantPosts: 1,
		},
		{
			name:    "429 with Retry-After as an HTTP date",
			onPost:  respond(http.StatusTooManyRequests, map[string]string{"Retry-After": start.Add(30 * time.Second).Format(http.TimeFormat)}, ""),
			wantErr: "429", wantThrottle: 30 * time.Second, wantPosts: 1,
		},
		{
			name:    "429 with retry-after-ms",
			onPost:  respond(http.StatusTooManyRequests, map[string]string{"retry-after-ms": "2500", "Retry-After": "3"}, ""),
			wantErr: "429", wantThrottle: 2500 * time.Millisecond, wantPosts: 1,
		},
		{
			name:    "429 without Retry-After waits the default",
			onPost:  respond(http.StatusTooManyRequests, nil, ""),
			wantErr: "429", wantThrottle: acs.DefaultRetryAfter, wantPosts: 1,
		},
		{
			name:    "400 with an error body is permanent and names the code",
			onPost:  respond(http.StatusBadRequest, nil, `{"error":{"code":"InvalidEmailAddress","message":"The email address is invalid."}}`),
			wantErr: "400 Bad Request: InvalidEmailAddress: The email address is invalid.", wantPermanent: true, wantPosts: 1,
		},
		{
			name:    "403: the access key is the deployment's fault, not the order's",
			onPost:  respond(http.StatusForbidden, map[string]string{"x-ms-error-code": "Forbidden"}, ""),
			wantErr: "ACS_CONNECTION_STRING refused: 403 Forbidden: Forbidden", wantSetting: acs.KeySetting, wantPosts: 1,
		},
		{
			name:    "401: the access key is refused",
			onPost:  respond(http.StatusUnauthorized, nil, `{"error":{"code":"Denied","message":"Denied by the resource provider."}}`),
			wantErr: "ACS_CONNECTION_STRING refused: 401 Unauthorized: Denied", wantSetting: acs.KeySetting, wantPosts: 1,
		},
		{
			name: "500, the lookup finds nothing, the resend is accepted",
			onPost: func(n int, w http.ResponseWriter, _ *http.Request, _ *fakeACS) bool {
				if n == 1 {
					writeError(w, http.StatusInternalServerError, "InternalError")
					return true
				}
				return false
			},
			opts:       func(o *acs.Options) { o.PollTime = -1 },
			wantStatus: mail.Accepted, wantPosts: 2, wantGets: 1, wantAccepted: 1,
		},
		{
			name: "500 after ACS accepted it: the lookup finds it running and follows it, no resend",
			onPost: func(_ int, w http.ResponseWriter, _ *http.Request, f *fakeACS) bool {
				f.mu.Lock()
				f.accept(key, "Running", "Running", "Succeeded")
				f.mu.Unlock()
				writeError(w, http.StatusBadGateway, "BadGateway")
				return true
			},
			wantStatus: mail.Sent, wantPosts: 1, wantGets: 3, wantAccepted: 1,
			wantGetURIs: []string{atURL, atURL, atURL},
		},
		{
			name: "a timeout after ACS accepted it: the lookup finds it, no resend",
			opts: func(o *acs.Options) { o.Timeout = 200 * time.Millisecond },
			onPost: func(_ int, w http.ResponseWriter, r *http.Request, f *fakeACS) bool {
				f.mu.Lock()
				f.accept(key, "Succeeded")
				f.mu.Unlock()
				select { // longer than the client waits
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
				w.WriteHeader(http.StatusAccepted)
				return true
			},
			wantStatus: mail.Sent, wantPosts: 1, wantGets: 1, wantAccepted: 1,
		},
		{
			name: "a dropped connection, the lookup finds nothing, the resend is accepted",
			onPost: func(n int, w http.ResponseWriter, _ *http.Request, _ *fakeACS) bool {
				if n > 1 {
					return false
				}
				conn, _, err := w.(http.Hijacker).Hijack()
				require.NoError(t, err)
				conn.Close()
				return true
			},
			wantStatus: mail.Sent, wantPosts: 2, wantGets: 3, wantAccepted: 1,
			wantGetURIs: []string{atURL, atLocation, atLocation},
		},
		{
			name:    "503 on every attempt stays retryable",
			onPost:  respond(http.StatusServiceUnavailable, map[string]string{"x-ms-error-code": "ServiceUnavailable"}, ""),
			wantErr: "503 Service Unavailable: ServiceUnavailable", wantTransient: true, wantPosts: 3, wantGets: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keyBytes, err := base64.StdEncoding.DecodeString(testKey)
			require.NoError(t, err)
			f := newFakeACS(t, keyBytes)
			f.onPost = tt.onPost
			if tt.before != nil {
				tt.before(f)
			}
			srv := httptest.NewServer(f)
			t.Cleanup(srv.Close)

			clock := newFakeClock(start)
			opts := clockOptions(clock)
			if tt.opts != nil {
				tt.opts(opts)
			}
			c, err := acs.NewWithKey(srv.URL+"/", testKey, opts)
			require.NoError(t, err)
			// The step's deadline, on the fake clock's time line.
			ctx, cancel := context.WithDeadline(context.Background(), start.Add(70*time.Second))
			defer cancel()
			r, err := c.Send(ctx, testMessage())

			if tt.wantErr == "" {
				require.NoError(t, err)
				require.Equal(t, mail.Receipt{OperationID: key, Status: tt.wantStatus}, r)
			} else {
				require.ErrorContains(t, err, tt.wantErr)
				require.Equal(t, tt.wantPermanent, order.IsPermanent(err), "permanent: %v", err)
				require.Equal(t, tt.wantTransient, order.Classify(err) == order.ClassTransient, "transient: %v", err)
				setting, _ := order.MisconfiguredSetting(err)
				require.Equal(t, tt.wantSetting, setting, "misconfigured: %v", err)
				d, throttled := order.RetryAfter(err)
				require.Equal(t, tt.wantThrottle != 0, throttled, "throttled: %v", err)
				require.Equal(t, tt.wantThrottle, d)
			}
			posts, gets, accepted := f.counts()
			require.Equal(t, tt.wantPosts, posts, "sends")
			require.Equal(t, tt.wantGets, gets, "lookups")
			require.Equal(t, tt.wantAccepted, accepted, "accepted operations")
			for _, opID := range f.opIDs {
				require.Equal(t, key, opID, "every send carries the deterministic Operation-Id")
			}
			if tt.wantGetURIs != nil {
				require.Equal(t, tt.wantGetURIs, f.getURIs)
			}
			if tt.wantPauses != nil {
				require.Equal(t, tt.wantPauses, clock.pauses())
			}
		})
	}
}

// TestSendFollowsOnlyTheEndpoint: an Operation-Location that is not on the
// configured endpoint is not followed, so that no signed request goes
// elsewhere; the operation is polled at its URL on the endpoint instead.
func TestSendFollowsOnlyTheEndpoint(t *testing.T) {
	var elsewhere atomic.Int32
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		elsewhere.Add(1)
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"id":"x","status":"Succeeded"}`)
	}))
	t.Cleanup(foreign.Close)
	key := testMessage().Key
	tests := []struct {
		name     string
		location func(host string) string
	}{
		{"another host", func(string) string { return foreign.URL + "//emails/operations/" + key + "?api-version=2025-09-01" }},
		{"another name of the host", func(host string) string {
			return "http://localhost:" + strings.Split(host, ":")[1] + "//emails/operations/" + key + "?api-version=2025-09-01"
		}},
		{"another scheme", func(host string) string {
			return "https://" + host + "//emails/operations/" + key + "?api-version=2025-09-01"
		}},
		{"user info", func(host string) string {
			return "http://user:pass@" + host + "//emails/operations/" + key + "?api-version=2025-09-01"
		}},
		{"no scheme", func(string) string { return "//emails/operations/" + key + "?api-version=2025-09-01" }},
		{"not a URL", func(string) string { return "http://[::1/emails" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keyBytes, err := base64.StdEncoding.DecodeString(testKey)
			require.NoError(t, err)
			f := newFakeACS(t, keyBytes)
			f.location = func(r *http.Request, _ string) string { return tt.location(r.Host) }
			srv := httptest.NewServer(f)
			t.Cleanup(srv.Close)
			c, err := acs.NewWithKey(srv.URL, testKey, fastOptions())
			require.NoError(t, err)

			r, err := c.Send(context.Background(), testMessage())
			require.NoError(t, err)
			require.Equal(t, mail.Receipt{OperationID: key, Status: mail.Sent}, r)
			want := "/emails/operations/" + key + "?api-version=2025-09-01"
			require.Equal(t, []string{want, want}, f.getURIs, "polled on the endpoint")
			require.Zero(t, elsewhere.Load(), "nothing sent elsewhere")
		})
	}
}

// TestSendContextEnds: the context ends while the client waits to poll an
// operation that is still running: the mail is accepted, not sent, and no
// error.
func TestSendContextEnds(t *testing.T) {
	keyBytes, err := base64.StdEncoding.DecodeString(testKey)
	require.NoError(t, err)
	f := newFakeACS(t, keyBytes)
	f.statuses = []string{"Running"}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock := newFakeClock(time.Now())
	clock.onSleep = func(n int) {
		if n == 2 {
			cancel()
		}
	}
	c, err := acs.NewWithKey(srv.URL, testKey, clockOptions(clock))
	require.NoError(t, err)

	r, err := c.Send(ctx, testMessage())
	require.NoError(t, err)
	require.Equal(t, mail.Receipt{OperationID: testMessage().Key, Status: mail.Accepted}, r)
	_, gets, _ := f.counts()
	require.Equal(t, 1, gets, "one poll before the context ended")
}

// TestSendBody checks what is sent: the JSON fields, the HTML not escaped
// for JSON, tracking off.
func TestSendBody(t *testing.T) {
	keyBytes, err := base64.StdEncoding.DecodeString(testKey)
	require.NoError(t, err)
	f := newFakeACS(t, keyBytes)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	opts := fastOptions()
	opts.PollTime = -1
	c, err := acs.NewWithKey(srv.URL, testKey, opts)
	require.NoError(t, err)
	_, err = c.Send(context.Background(), testMessage())
	require.NoError(t, err)

	require.Len(t, f.bodies, 1)
	raw := string(f.bodies[0])
	require.Contains(t, raw, `"html":"<p>Hello</p><a href=\"https://x.example/a.jpg?sig=a&amp;sp=r\">a</a>"`, "no \\u003c escapes")
	require.Contains(t, raw, `"displayName":"O'Brien & Co"`)
	var got map[string]any
	require.NoError(t, json.Unmarshal(f.bodies[0], &got))
	require.Equal(t, map[string]any{
		"senderAddress": "DoNotReply@shop.example",
		"content": map[string]any{
			"subject":   "Your downloads",
			"plainText": "Hello\nhttps://x.example/a.jpg?sig=a&sp=r\n",
			"html":      `<p>Hello</p><a href="https://x.example/a.jpg?sig=a&amp;sp=r">a</a>`,
		},
		"recipients": map[string]any{
			"to":  []any{map[string]any{"address": "ob@customer.example", "displayName": "O'Brien & Co"}},
			"bcc": []any{map[string]any{"address": "copies@shop.example"}},
		},
		"replyTo":                        []any{map[string]any{"address": "help@shop.example"}},
		"userEngagementTrackingDisabled": true,
	}, got)
}

// TestSendCustomerName sends rendered mail to customers whose names once
// stopped it: ACS gets a short, clean display name or none, never the whole
// input.
func TestSendCustomerName(t *testing.T) {
	r, err := mail.NewRenderer(mail.Settings{Shop: "Shop", From: "DoNotReply@shop.example"})
	require.NoError(t, err)
	tests := []struct {
		name, in  string
		wantTo    string // the displayName, "" for none
		wantGreet string // the first line of the text
	}{
		{"400 bytes", strings.Repeat("x", 400), "", "Hello,"},
		{"5,000 × Ü", strings.Repeat("Ü", 5000), "", "Hello,"},
		{"100,000 characters", strings.Repeat("a", 100_000), "", "Hello,"},
		{"RTL with an override", "\u202Eדוד כהן\u202C محمد", "דוד כהן محمد", "Hello דוד כהן محمد,"},
		{"NUL and control characters", "Zoë\x00 Ü\x1bnal\r\n", "Zoë Ünal", "Hello Zoë Ünal,"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keyBytes, err := base64.StdEncoding.DecodeString(testKey)
			require.NoError(t, err)
			f := newFakeACS(t, keyBytes)
			srv := httptest.NewServer(f)
			t.Cleanup(srv.Close)
			opts := fastOptions()
			opts.PollTime = -1
			c, err := acs.NewWithKey(srv.URL, testKey, opts)
			require.NoError(t, err)
			m, err := r.Render(order.MailJob{
				Version: order.MailJobVersion, Kind: order.MailPaymentFailed, SessionID: "cs_test_a1", Generation: 1,
				Customer: order.Customer{Email: "zoe@customer.example", Name: tt.in},
			}, time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC))
			require.NoError(t, err)
			_, err = c.Send(context.Background(), m)
			require.NoError(t, err)

			require.Len(t, f.bodies, 1)
			var got struct {
				Content struct {
					PlainText string `json:"plainText"`
				} `json:"content"`
				Recipients struct {
					To []struct {
						Address     string  `json:"address"`
						DisplayName *string `json:"displayName"`
					} `json:"to"`
				} `json:"recipients"`
			}
			require.NoError(t, json.Unmarshal(f.bodies[0], &got))
			require.Len(t, got.Recipients.To, 1)
			require.Equal(t, "zoe@customer.example", got.Recipients.To[0].Address)
			if tt.wantTo == "" {
				require.Nil(t, got.Recipients.To[0].DisplayName, "no displayName")
			} else {
				require.NotNil(t, got.Recipients.To[0].DisplayName)
				require.Equal(t, tt.wantTo, *got.Recipients.To[0].DisplayName)
			}
			greeting, _, _ := strings.Cut(got.Content.PlainText, "\n")
			require.Equal(t, tt.wantGreet, greeting)
			require.Less(t, len(f.bodies[0]), 4096, "the request does not carry the whole name")
		})
	}
}

func TestSendInvalidMessage(t *testing.T) {
	f := newFakeACS(t, nil)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := acs.NewWithKey(srv.URL, testKey, fastOptions())
	require.NoError(t, err)
	m := testMessage()
	m.To = nil
	_, err = c.Send(context.Background(), m)
	require.ErrorContains(t, err, "no recipient")
	require.True(t, order.IsPermanent(err))
	posts, _, _ := f.counts()
	require.Zero(t, posts)
}

// fakeCredential is a token credential that checks the scope it is asked for.
type fakeCredential struct {
	t     *testing.T
	calls int
	mu    sync.Mutex
}

func (c *fakeCredential) GetToken(_ context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if len(opts.Scopes) != 1 || opts.Scopes[0] != "https://communication.azure.com//.default" {
		c.t.Errorf("scopes %q", opts.Scopes)
		return azcore.AccessToken{}, errors.New("wrong scope")
	}
	return azcore.AccessToken{Token: "test-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TestSendEntra sends with a bearer token over TLS: the fake checks that
// the token is there and no HMAC header is.
func TestSendEntra(t *testing.T) {
	f := newFakeACS(t, nil)
	srv := httptest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	cred := &fakeCredential{t: t}
	opts := fastOptions()
	opts.HTTPClient = srv.Client()
	c, err := acs.NewWithCredential(srv.URL, cred, opts)
	require.NoError(t, err)

	for range 2 { // the second is a redelivery: 409, still sent
		r, err := c.Send(context.Background(), testMessage())
		require.NoError(t, err)
		require.Equal(t, mail.Receipt{OperationID: testMessage().Key, Status: mail.Sent}, r)
	}
	posts, gets, accepted := f.counts()
	require.Equal(t, 2, posts)
	require.Equal(t, 3, gets, "two polls of the first send, one after the 409")
	require.Equal(t, 1, accepted)
	require.Equal(t, 1, cred.calls, "the token is cached")
}

// TestSendEntraRefused: a managed identity without access to the resource
// names ACS_ENDPOINT, whose identity must be given the role.
func TestSendEntraRefused(t *testing.T) {
	f := newFakeACS(t, nil)
	f.onPost = func(_ int, w http.ResponseWriter, _ *http.Request, _ *fakeACS) bool {
		w.Header().Set("x-ms-error-code", "AuthorizationFailed")
		w.WriteHeader(http.StatusForbidden)
		return true
	}
	srv := httptest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	opts := fastOptions()
	opts.HTTPClient = srv.Client()
	c, err := acs.NewWithCredential(srv.URL, &fakeCredential{t: t}, opts)
	require.NoError(t, err)
	_, err = c.Send(context.Background(), testMessage())
	setting, ok := order.MisconfiguredSetting(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, acs.CredentialSetting, setting)
	require.Equal(t, order.ClassMisconfigured, order.Classify(err))
}

func TestSendEntraRefusesHTTP(t *testing.T) {
	f := newFakeACS(t, nil)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := acs.NewWithCredential(srv.URL, &fakeCredential{t: t}, fastOptions())
	require.NoError(t, err)
	_, err = c.Send(context.Background(), testMessage())
	require.Error(t, err)
	posts, _, _ := f.counts()
	require.Zero(t, posts, "no bearer token goes over plain http")
}

func TestNew(t *testing.T) {
	_, err := acs.NewWithKey("https://x.communication.azure.com", "not base64!", nil)
	require.ErrorContains(t, err, "not base64")
	_, err = acs.NewWithKey("x.communication.azure.com", testKey, nil)
	require.ErrorContains(t, err, "not an https URL")
	_, err = acs.NewWithCredential("https://x.communication.azure.com", nil, nil)
	require.ErrorContains(t, err, "no token credential")
}
