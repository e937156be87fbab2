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
	"strings"
	"sync"
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

// fakeACS plays the Email REST API. It checks every request's HMAC
// signature with its own implementation, keeps the operations it accepted,
// answers 409 to a repeated Operation-Id, and lets a test script the answer
// to each POST.
type fakeACS struct {
	t   *testing.T
	key []byte // nil: expect a bearer token instead

	mu      sync.Mutex
	posts   int
	gets    int
	ops     map[string][]string // operation id -> statuses the lookups report, the last one sticks
	opIDs   []string            // Operation-Id of every POST
	bodies  [][]byte
	onPost  func(n int, w http.ResponseWriter, r *http.Request, f *fakeACS) bool // true: answered
	opError map[string]string                                                    // operation id -> error code of a failed operation
}

func newFakeACS(t *testing.T, key []byte) *fakeACS {
	return &fakeACS{t: t, key: key, ops: map[string][]string{}, opError: map[string]string{}}
}

// accept records operation id as accepted, with the statuses its lookups
// report (default Running then Succeeded). f.mu must be held.
func (f *fakeACS) accept(id string, statuses ...string) {
	if len(statuses) == 0 {
		statuses = []string{"Running", "Succeeded"}
	}
	f.ops[id] = statuses
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
		f.accept(id)
		w.Header().Set("Operation-Location", "http://"+r.Host+"/emails/operations/"+id+"?api-version=2025-09-01")
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"id":%q,"status":"Running"}`, id)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/emails/operations/"):
		defer f.mu.Unlock()
		f.gets++
		id := strings.TrimPrefix(r.URL.Path, "/emails/operations/")
		statuses, ok := f.ops[id]
		if !ok {
			writeError(w, http.StatusNotFound, "NotFound")
			return
		}
		status := statuses[0]
		if len(statuses) > 1 {
			f.ops[id] = statuses[1:]
		}
		op := map[string]any{"id": id, "status": status}
		if code := f.opError[id]; code != "" {
			op["error"] = map[string]string{"code": code, "message": "all recipients are suppressed"}
		}
		require.NoError(f.t, json.NewEncoder(w).Encode(op))
	default:
		f.mu.Unlock()
		f.t.Errorf("unexpected %s %s", r.Method, r.RequestURI)
		writeError(w, http.StatusNotFound, "NotFound")
	}
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

// fastOptions keep the tests' pauses short.
func fastOptions() *acs.Options {
	return &acs.Options{Timeout: 2 * time.Second, RetryDelay: time.Millisecond, PollInterval: time.Millisecond}
}

func TestSend(t *testing.T) {
	clock := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
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
	tests := []struct {
		name   string
		onPost func(n int, w http.ResponseWriter, r *http.Request, f *fakeACS) bool
		before func(f *fakeACS)
		opts   func(o *acs.Options)

		wantErr       string        // "" for success
		wantPermanent bool          // the error is order.Permanent
		wantSetting   string        // the error is order.Misconfigured naming this setting
		wantThrottle  time.Duration // the error is order.Throttled with this pause
		wantPosts     int
		wantGets      int
		wantAccepted  int
	}{
		{
			name:      "accepted, then polled until it succeeds",
			wantPosts: 1, wantGets: 2, wantAccepted: 1,
		},
		{
			name:      "accepted without polling",
			opts:      func(o *acs.Options) { o.PollAttempts = -1 },
			wantPosts: 1, wantGets: 0, wantAccepted: 1,
		},
		{
			name:      "a redelivery gets 409 and counts as sent",
			before:    func(f *fakeACS) { f.accept(key, "Succeeded") },
			wantPosts: 1, wantGets: 1, wantAccepted: 1,
		},
		{
			name:   "the operation fails while polled",
			before: func(f *fakeACS) { f.opError[key] = "EmailDroppedAllRecipientsSuppressed" },
			onPost: func(_ int, w http.ResponseWriter, _ *http.Request, f *fakeACS) bool {
				f.mu.Lock()
				defer f.mu.Unlock()
				f.accept(key, "Running", "Failed")
				w.WriteHeader(http.StatusAccepted)
				fmt.Fprintf(w, `{"id":%q,"status":"Running"}`, key)
				return true
			},
			wantErr: "EmailDroppedAllRecipientsSuppressed", wantPermanent: true,
			wantPosts: 1, wantGets: 2, wantAccepted: 1,
		},
		{
			name:    "429 with Retry-After in seconds",
			onPost:  respond(http.StatusTooManyRequests, map[string]string{"Retry-After": "7", "x-ms-error-code": "TooManyRequests"}, ""),
			wantErr: "429", wantThrottle: 7 * time.Second, wantPosts: 1,
		},
		{
			name:    "429 with Retry-After as an HTTP date",
			onPost:  respond(http.StatusTooManyRequests, map[string]string{"Retry-After": clock.Add(30 * time.Second).Format(http.TimeFormat)}, ""),
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
			opts:      func(o *acs.Options) { o.PollAttempts = -1 },
			wantPosts: 2, wantGets: 1, wantAccepted: 1,
		},
		{
			name: "500 after ACS accepted it: the lookup finds it, no resend",
			onPost: func(_ int, w http.ResponseWriter, _ *http.Request, f *fakeACS) bool {
				f.mu.Lock()
				f.accept(key, "Succeeded")
				f.mu.Unlock()
				writeError(w, http.StatusBadGateway, "BadGateway")
				return true
			},
			wantPosts: 1, wantGets: 1, wantAccepted: 1,
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
			wantPosts: 1, wantGets: 1, wantAccepted: 1,
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
			opts:      func(o *acs.Options) { o.PollAttempts = -1 },
			wantPosts: 2, wantGets: 1, wantAccepted: 1,
		},
		{
			name:    "503 on every attempt stays retryable",
			onPost:  respond(http.StatusServiceUnavailable, map[string]string{"x-ms-error-code": "ServiceUnavailable"}, ""),
			wantErr: "503 Service Unavailable: ServiceUnavailable", wantPosts: 3, wantGets: 3,
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

			opts := fastOptions()
			opts.Now = func() time.Time { return clock }
			if tt.opts != nil {
				tt.opts(opts)
			}
			c, err := acs.NewWithKey(srv.URL+"/", testKey, opts)
			require.NoError(t, err)
			id, err := c.Send(context.Background(), testMessage())

			if tt.wantErr == "" {
				require.NoError(t, err)
				require.Equal(t, key, id)
			} else {
				require.ErrorContains(t, err, tt.wantErr)
				require.Equal(t, tt.wantPermanent, order.IsPermanent(err), "permanent: %v", err)
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
		})
	}
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
	opts.PollAttempts = -1
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
			opts.PollAttempts = -1
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
		id, err := c.Send(context.Background(), testMessage())
		require.NoError(t, err)
		require.Equal(t, testMessage().Key, id)
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
