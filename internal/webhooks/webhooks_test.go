package webhooks_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/webhooks"
)

// secretMark stands for a credential in a receiver's URL or answer: it must
// never show in an error.
const secretMark = "Sup3rS3cret"

var now = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

// receiver plays a seller's endpoint: it verifies every request as the
// Standard Webhooks libraries do (its own HMAC, any v1 signature of any
// secret, a timestamp within 5 minutes) and records what it got.
type receiver struct {
	t       *testing.T
	secrets []string
	answer  func(w http.ResponseWriter, r *http.Request) // nil: 204

	mu       sync.Mutex
	requests []received
}

type received struct {
	method, uri string
	header      http.Header
	body        []byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	require.NoError(rc.t, err)
	rc.mu.Lock()
	rc.requests = append(rc.requests, received{r.Method, r.RequestURI, r.Header.Clone(), body})
	rc.mu.Unlock()
	if err := rc.verify(r.Header, body); err != nil {
		rc.t.Errorf("%s %s: %v", r.Method, r.RequestURI, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if rc.answer != nil {
		rc.answer(w, r)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// verify is the receiving side of the scheme, written from the
// specification, not from the sender.
func (rc *receiver) verify(h http.Header, body []byte) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook-timestamp %q: %v", ts, err)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("webhook-timestamp %s is outside the tolerance", ts)
	}
	for _, secret := range rc.secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		if err != nil {
			return err
		}
		mac := hmac.New(sha256.New, key)
		fmt.Fprintf(mac, "%s.%s.%s", id, ts, body)
		want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		for _, sig := range strings.Fields(sigs) {
			if hmac.Equal([]byte(sig), []byte(want)) {
				return nil
			}
		}
	}
	return fmt.Errorf("no signature of %q verifies", sigs)
}

func (rc *receiver) got() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.requests...)
}

func newReceiver(t *testing.T, secrets ...string) (*receiver, *httptest.Server) {
	rc := &receiver{t: t, secrets: secrets}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	require.True(t, strings.HasPrefix(srv.URL, "http://127.0.0.1:"), "tests only use 127.0.0.1")
	return rc, srv
}

func newSender(t *testing.T, url string, secrets []string, timeout time.Duration) *webhooks.Sender {
	s, err := webhooks.New(url, secrets, &webhooks.Options{Timeout: timeout, Now: func() time.Time { return now }})
	require.NoError(t, err)
	return s
}

func sampleEvent() order.Event {
	return order.Event{
		Version: order.EventVersion,
		ID:      order.NewEventID("cs_test_a1", order.TypePaid, "evt_1"),
		Type:    order.TypePaid,
		Time:    now.Add(-time.Minute),
		Order: order.EventOrder{SessionID: "cs_test_a1", State: order.StateLinksReady, AmountTotal: 1200, Currency: "usd",
			Items: []order.EventItem{{Title: "Tom & Jerry <remastered>", Quantity: 1}}},
		Customer: order.EventCustomer{Email: "ada@example.com", Name: "Ada"},
	}
}

// TestDeliver: one POST with the Standard Webhooks headers, the event's
// JSON byte for byte, signed with every secret, to the URL as configured.
func TestDeliver(t *testing.T) {
	secrets := []string{rotationSecret, vectorSecret}
	for _, verifyWith := range secrets {
		t.Run("receiver knows "+verifyWith[:12], func(t *testing.T) {
			rc, srv := newReceiver(t, verifyWith)
			url := srv.URL + "/hooks/filedrop?code=" + secretMark
			e := sampleEvent()
			require.NoError(t, newSender(t, url, secrets, time.Second).Deliver(t.Context(), e))

			got := rc.got()
			require.Len(t, got, 1)
			r := got[0]
			require.Equal(t, http.MethodPost, r.method)
			require.Equal(t, "/hooks/filedrop?code="+secretMark, r.uri)
			want, err := order.EncodeEvent(e)
			require.NoError(t, err)
			require.Equal(t, string(want), string(r.body), "the body is the encoded event, unchanged")
			require.Equal(t, "application/json", r.header.Get("Content-Type"))
			require.Equal(t, e.ID, r.header.Get("webhook-id"))
			require.Equal(t, strconv.FormatInt(now.Unix(), 10), r.header.Get("webhook-timestamp"))
			require.Len(t, strings.Fields(r.header.Get("webhook-signature")), 2, "one signature per secret")
			decoded, err := order.DecodeEvent(r.body)
			require.NoError(t, err, "a receiver can decode what it got")
			require.Equal(t, e.ID, decoded.ID)
		})
	}
}

// TestDeliverAgain: a repeated delivery carries the same id and body,
// signed with the attempt's own time.
func TestDeliverAgain(t *testing.T) {
	rc, srv := newReceiver(t, vectorSecret)
	at := now
	s, err := webhooks.New(srv.URL, []string{vectorSecret}, &webhooks.Options{Now: func() time.Time { return at }})
	require.NoError(t, err)
	e := sampleEvent()
	require.NoError(t, s.Deliver(t.Context(), e))
	at = now.Add(90 * time.Second)
	require.NoError(t, s.Deliver(t.Context(), e))
	got := rc.got()
	require.Len(t, got, 2)
	require.Equal(t, got[0].header.Get("webhook-id"), got[1].header.Get("webhook-id"))
	require.Equal(t, got[0].body, got[1].body)
	require.NotEqual(t, got[0].header.Get("webhook-timestamp"), got[1].header.Get("webhook-timestamp"))
	require.NotEqual(t, got[0].header.Get("webhook-signature"), got[1].header.Get("webhook-signature"))
}

// TestDeliverAnswers: only 2xx is success; every other answer is
// classified as the domain's error, which never quotes the answer nor the
// URL's path and query.
func TestDeliverAnswers(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		class      order.Class
		setting    string        // for ClassMisconfigured
		retryAfter time.Duration // for ClassThrottled
	}{
		{name: "200", status: 200},
		{name: "202", status: 202},
		{name: "204", status: 204},
		{name: "429 with Retry-After", status: 429, header: map[string]string{"Retry-After": "120"}, class: order.ClassThrottled, retryAfter: 2 * time.Minute},
		{name: "429 with a date", status: 429, header: map[string]string{"Retry-After": now.Add(30 * time.Second).Format(http.TimeFormat)}, class: order.ClassThrottled, retryAfter: 30 * time.Second},
		{name: "429 without Retry-After", status: 429, class: order.ClassThrottled, retryAfter: webhooks.DefaultRetryAfter},
		{name: "500", status: 500, class: order.ClassTransient},
		{name: "502", status: 502, class: order.ClassTransient},
		{name: "503 with Retry-After", status: 503, header: map[string]string{"Retry-After": "5"}, class: order.ClassTransient},
		{name: "408", status: 408, class: order.ClassTransient},
		{name: "401", status: 401, class: order.ClassMisconfigured, setting: webhooks.SecretSetting},
		{name: "403", status: 403, class: order.ClassMisconfigured, setting: webhooks.SecretSetting},
		{name: "301", status: 301, header: map[string]string{"Location": "https://elsewhere.example/x?sig=" + secretMark}, class: order.ClassMisconfigured, setting: webhooks.URLSetting},
		{name: "307", status: 307, class: order.ClassMisconfigured, setting: webhooks.URLSetting},
		{name: "400", status: 400, class: order.ClassPermanent},
		{name: "404", status: 404, class: order.ClassPermanent},
		{name: "410", status: 410, class: order.ClassPermanent},
		{name: "422", status: 422, class: order.ClassPermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, srv := newReceiver(t, vectorSecret)
			rc.answer = func(w http.ResponseWriter, _ *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				fmt.Fprintf(w, "the answer body holds %s and must not show", secretMark)
			}
			s := newSender(t, srv.URL+"/"+secretMark+"?sig="+secretMark, []string{vectorSecret}, time.Second)
			err := s.Deliver(t.Context(), sampleEvent())
			if tt.status < 300 {
				require.NoError(t, err)
				return
			}
			ordertest.RequireClass(t, err, tt.class, tt.setting, tt.retryAfter)
			require.Contains(t, err.Error(), strconv.Itoa(tt.status))
			require.NotContains(t, err.Error(), secretMark)
		})
	}
}

// TestDeliverDoesNotFollowRedirects: the signed event never reaches the
// place a redirect points to.
func TestDeliverDoesNotFollowRedirects(t *testing.T) {
	target, targetSrv := newReceiver(t, vectorSecret)
	rc, srv := newReceiver(t, vectorSecret)
	rc.answer = func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, targetSrv.URL+"/moved", http.StatusTemporaryRedirect)
	}
	err := newSender(t, srv.URL, []string{vectorSecret}, time.Second).Deliver(t.Context(), sampleEvent())
	require.Equal(t, order.ClassMisconfigured, order.Classify(err), "%v", err)
	require.ErrorContains(t, err, "a redirect to "+targetSrv.URL+"/…, which is not followed: set ORDER_EVENTS_URL")
	require.Len(t, rc.got(), 1)
	require.Empty(t, target.got(), "the redirect was not followed")
}

// TestDeliverTimesOut: a receiver that does not answer within the timeout
// is a transient failure; the wait ends with the timeout, not the receiver.
func TestDeliverTimesOut(t *testing.T) {
	release := make(chan struct{})
	rc, srv := newReceiver(t, vectorSecret)
	rc.answer = func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	defer close(release)
	err := newSender(t, srv.URL, []string{vectorSecret}, 50*time.Millisecond).Deliver(t.Context(), sampleEvent())
	require.Equal(t, order.ClassTransient, order.Classify(err), "%v", err)
	require.ErrorContains(t, err, "no answer within 50ms")
}

// TestDeliverCallerGivesUp: when the caller's context ends (the host shuts
// down), the error is the caller's, not a transient fault of the receiver.
func TestDeliverCallerGivesUp(t *testing.T) {
	rc, srv := newReceiver(t, vectorSecret)
	ctx, cancel := context.WithCancel(t.Context())
	rc.answer = func(w http.ResponseWriter, r *http.Request) {
		cancel()
		<-r.Context().Done()
	}
	err := newSender(t, srv.URL, []string{vectorSecret}, time.Minute).Deliver(ctx, sampleEvent())
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, order.ClassRetryable, order.Classify(err))
}

// TestDeliverNetworkFault: nobody listening is transient, and the error
// does not quote the URL's query (net/http's errors quote the whole URL).
func TestDeliverNetworkFault(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/hook?sig=" + secretMark
	srv.Close()
	err := newSender(t, url, []string{vectorSecret}, time.Second).Deliver(t.Context(), sampleEvent())
	require.Equal(t, order.ClassTransient, order.Classify(err), "%v", err)
	require.NotContains(t, err.Error(), secretMark)
	require.ErrorContains(t, err, "connection refused")
}

// countingBody is an endless answer body that counts what was read of it.
type countingBody struct{ n *int }

func (b countingBody) Read(p []byte) (int, error) {
	*b.n += len(p)
	return len(p), nil
}
func (countingBody) Close() error { return nil }

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestDeliverReadsLittleOfTheAnswer: an endless answer body is read no
// further than a few KiB.
func TestDeliverReadsLittleOfTheAnswer(t *testing.T) {
	for _, status := range []int{200, 500} {
		read := 0
		s, err := webhooks.New("https://receiver.example/hook", []string{vectorSecret}, &webhooks.Options{
			Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: status, Header: http.Header{}, Body: countingBody{&read}, Request: r}, nil
			}),
		})
		require.NoError(t, err)
		_ = s.Deliver(t.Context(), sampleEvent())
		require.Positive(t, read)
		require.LessOrEqual(t, read, 4<<10, "status %d", status)
	}
}

func TestNewChecksTheURL(t *testing.T) {
	tests := []struct {
		url     string
		problem string // "" when accepted
	}{
		{"https://receiver.example/hook", ""},
		{"https://prod-01.westeurope.logic.azure.com:443/workflows/x/triggers/manual/paths/invoke?api-version=2016-06-01&sig=abc", ""},
		{"http://127.0.0.1:3000/hook", ""},
		{"http://[::1]:3000/hook", ""},
		{"http://localhost:3000", ""},
		{"http://receiver.example/hook", "plain http to a host that is not a loopback address"},
		{"http://10.0.0.1/hook", "plain http"},
		{"ftp://receiver.example/hook", "not an https URL"},
		{"receiver.example/hook", "not an absolute URL"},
		{"https://user:" + secretMark + "@receiver.example/hook", "a URL with user info"},
		{"https://receiver.example/hook#frag", "a URL with a fragment"},
		{"https://receiver.example/%zz", "not an absolute URL"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := webhooks.New(tt.url, []string{vectorSecret}, nil)
			if tt.problem == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.problem)
			require.NotContains(t, err.Error(), secretMark)
		})
	}
	_, err := webhooks.New("https://receiver.example/hook", nil, nil)
	require.ErrorContains(t, err, "no secret")
}

func TestSendRefusesAnIDWithAFullStop(t *testing.T) {
	_, srv := newReceiver(t, vectorSecret)
	err := newSender(t, srv.URL, []string{vectorSecret}, time.Second).Send(t.Context(), "a.b", []byte("{}"))
	require.True(t, order.IsPermanent(err), "%v", err)
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.zapier.com/hooks/catch/123/" + secretMark + "/": "https://hooks.zapier.com/…",
		"https://x.logic.azure.com:443/workflows?sig=" + secretMark:    "https://x.logic.azure.com:443/…",
		"https://receiver.example":                                     "https://receiver.example",
		"https://receiver.example/":                                    "https://receiver.example",
		"http://127.0.0.1:3000/hook":                                   "http://127.0.0.1:3000/…",
		"%zz" + secretMark:                                             "<not a URL>",
	} {
		require.Equal(t, want, webhooks.Redact(in), in)
	}
}

// TestReceiver: the receiver takes what the Sender sends, and refuses what
// does not verify or is no order event.
func TestReceiver(t *testing.T) {
	signer, err := webhooks.NewSigner([]string{vectorSecret})
	require.NoError(t, err)
	var got []order.Event
	rv := &webhooks.Receiver{Signer: signer, Now: func() time.Time { return now }, Got: func(e order.Event, body []byte) error {
		require.Equal(t, e.ID, gjsonID(t, body))
		got = append(got, e)
		return nil
	}}
	srv := httptest.NewServer(rv)
	t.Cleanup(srv.Close)
	require.NoError(t, newSender(t, srv.URL, []string{vectorSecret}, time.Second).Deliver(t.Context(), sampleEvent()))
	require.Len(t, got, 1)
	require.Equal(t, sampleEvent(), got[0])

	err = newSender(t, srv.URL, []string{rotationSecret}, time.Second).Deliver(t.Context(), sampleEvent())
	require.Equal(t, order.ClassMisconfigured, order.Classify(err), "another secret is refused (401): %v", err)
	err = newSender(t, srv.URL, []string{vectorSecret}, time.Second).Send(t.Context(), "oevt_1", []byte(`{"not":"an event"}`))
	require.True(t, order.IsPermanent(err), "no order event (400): %v", err)
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	require.Len(t, got, 1)
}

func gjsonID(t *testing.T, body []byte) string {
	var v struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(body, &v))
	return v.ID
}
