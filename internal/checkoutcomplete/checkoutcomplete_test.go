package checkoutcomplete

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/filedrop/filedrop/internal/order"
)

const (
	secret    = "whsec_test_current"
	oldSecret = "whsec_test_previous"
)

// fakeQueue records what was sent; SendFunc, when set, decides the result.
type fakeQueue struct {
	mu       sync.Mutex
	sent     [][]byte
	SendFunc func() error
}

func (q *fakeQueue) Send(_ context.Context, data []byte, _ time.Duration) error {
	if q.SendFunc != nil {
		if err := q.SendFunc(); err != nil {
			return err
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sent = append(q.sent, data)
	return nil
}

func event(id, typ string, livemode bool, objectID string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"object":"event","api_version":"2025-10-29.clover","created":1700000000,"livemode":%t,"type":%q,"data":{"object":{"id":%q,"object":"checkout.session","payment_status":"paid"}}}`,
		id, livemode, typ, objectID)
}

func sign(body []byte, s string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: s, Timestamp: at}).Header
}

func TestServeHTTP(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	paid := event("evt_1", order.EventCompleted, false, "cs_test_a1")
	tests := []struct {
		name       string
		method     string
		body       []byte
		header     func(body []byte) string
		queueErr   error
		wantStatus int
		wantQueued bool
		wantError  string
	}{
		{name: "valid", body: paid, header: func(b []byte) string { return sign(b, secret, now) }, wantStatus: 200, wantQueued: true},
		{name: "signed with the previous secret during rotation", body: paid, header: func(b []byte) string { return sign(b, oldSecret, now) }, wantStatus: 200, wantQueued: true},
		{name: "two v1 signatures, one valid", body: paid, header: func(b []byte) string {
			return sign(b, "whsec_other", now) + "," + strings.Split(sign(b, secret, now), ",")[1]
		}, wantStatus: 200, wantQueued: true},
		{name: "async payment succeeded", body: event("evt_2", order.EventAsyncPaymentSucceeded, false, "cs_test_a1"), header: func(b []byte) string { return sign(b, secret, now) }, wantStatus: 200, wantQueued: true},
		{name: "async payment failed", body: event("evt_3", order.EventAsyncPaymentFailed, false, "cs_test_a1"), header: func(b []byte) string { return sign(b, secret, now) }, wantStatus: 200, wantQueued: true},
		{name: "wrong secret", body: paid, header: func(b []byte) string { return sign(b, "whsec_wrong", now) }, wantStatus: 400, wantError: "no valid signature"},
		{name: "body changed after signing", body: paid, header: func(b []byte) string { return sign(append([]byte(" "), b...), secret, now) }, wantStatus: 400, wantError: "no valid signature"},
		{name: "stale timestamp", body: paid, header: func(b []byte) string { return sign(b, secret, now.Add(-6*time.Minute)) }, wantStatus: 400, wantError: "tolerance"},
		{name: "future timestamp", body: paid, header: func(b []byte) string { return sign(b, secret, now.Add(6*time.Minute)) }, wantStatus: 400, wantError: "tolerance"},
		{name: "just inside tolerance", body: paid, header: func(b []byte) string { return sign(b, secret, now.Add(-4*time.Minute)) }, wantStatus: 200, wantQueued: true},
		{name: "replay: a fresh t= before the t= of a three-day-old signature", body: paid, header: func(b []byte) string {
			return fmt.Sprintf("t=%d,", now.Unix()) + sign(b, secret, now.Add(-72*time.Hour))
		}, wantStatus: 400, wantError: "malformed"},
		{name: "replay: a year-old signature with a fresh t= after it", body: paid, header: func(b []byte) string {
			return sign(b, secret, now.AddDate(-1, 0, 0)) + fmt.Sprintf(",t=%d", now.Unix())
		}, wantStatus: 400, wantError: "malformed"},
		{name: "the same t= twice", body: paid, header: func(b []byte) string {
			return fmt.Sprintf("t=%d,", now.Unix()) + sign(b, secret, now)
		}, wantStatus: 400, wantError: "malformed"},
		{name: "event id of 400 KB", body: event("evt_"+strings.Repeat("a", 400<<10), order.EventCompleted, false, "cs_test_a1"), header: func(b []byte) string { return sign(b, secret, now) }, wantStatus: 400, wantError: "not a Stripe event"},
		{name: "session id of 400 KB", body: event("evt_1", order.EventCompleted, false, "cs_test_"+strings.Repeat("a", 400<<10)), header: func(b []byte) string { return sign(b, secret, now) }, wantStatus: 400, wantError: "not a Stripe event"},
		{name: "missing header", body: paid, header: func([]byte) string { return "" }, wantStatus: 400, wantError: "missing Stripe-Signature"},
		{name: "malformed header", body: paid, header: func([]byte) string { return "t=notanumber,v1=abc" }, wantStatus: 400, wantError: "malformed"},
		{name: "header without pairs", body: paid, header: func([]byte) string { return "garbage" }, wantStatus: 400, wantError: "malformed"},
		{name: "only v0 signature", body: paid, header: func(b []byte) string { return strings.Replace(sign(b, secret, now), "v1=", "v0=", 1) }, wantStatus: 400, wantError: "no valid signature"},
		{name: "non-JSON body", body: []byte("hello"), header: func(b []byte) string { return sign(b, secret, now) }, wantStatus: 400, wantError: "not a Stripe event"},
		{name: "JSON that is not an event", body: []byte(`{"id":"cs_test_1","object":"checkout.session"}`), header: func(b []byte) string { return sign(b, secret, now) }, wantStatus: 400, wantError: "not a Stripe event"},
		{name: "handled type but object is not a session", body: []byte(`{"id":"evt_9","object":"event","type":"checkout.session.completed","created":1,"livemode":false,"data":{"object":{"id":"pi_1","object":"payment_intent"}}}`), header: func(b []byte) string { return sign(b, secret, now) }, wantStatus: 400, wantError: "checkout.session"},
		{name: "oversized", body: bytes.Repeat([]byte("x"), MaxBodyBytes+1), header: func(b []byte) string { return sign(b, secret, now) }, wantStatus: 413, wantError: "too large"},
		{name: "wrong method", method: http.MethodGet, body: nil, header: func([]byte) string { return "" }, wantStatus: 405},
		{name: "ignored type", body: event("evt_4", "checkout.session.expired", false, "cs_test_a1"), header: func(b []byte) string { return sign(b, secret, now) }, wantStatus: 200},
		{name: "ignored unrelated type", body: []byte(`{"id":"evt_5","object":"event","type":"customer.created","created":1,"livemode":false,"data":{"object":{"id":"cus_1","object":"customer"}}}`), header: func(b []byte) string { return sign(b, secret, now) }, wantStatus: 200},
		{name: "live event reaching a test deployment", body: event("evt_6", order.EventCompleted, true, "cs_live_a1"), header: func(b []byte) string { return sign(b, secret, now) }, wantStatus: 200},
		{name: "storage down", body: paid, header: func(b []byte) string { return sign(b, secret, now) }, queueErr: errors.New("dial tcp 127.0.0.1:10001: connection refused"), wantStatus: 503, wantError: "could not queue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := &fakeQueue{}
			if tc.queueErr != nil {
				q.SendFunc = func() error { return tc.queueErr }
			}
			var logs bytes.Buffer
			h := mustNew(t, Deps{Secrets: []string{secret, oldSecret}, Queue: q, Log: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return now }})
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, "/api/CheckoutComplete", bytes.NewReader(tc.body))
			sig := tc.header(tc.body)
			if sig != "" {
				req.Header.Set("Stripe-Signature", sig)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			require.Equal(t, tc.wantStatus, rec.Code, rec.Body.String())
			require.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
			var a answer
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &a))
			require.Contains(t, a.Error, tc.wantError)
			if tc.wantQueued {
				require.Len(t, q.sent, 1)
				var m order.ProcessJob
				require.NoError(t, json.Unmarshal(q.sent[0], &m))
				require.NoError(t, m.Validate())
				require.Equal(t, "cs_test_a1", m.SessionID)
				require.Equal(t, int64(1700000000), m.Created)
				require.Equal(t, order.TriggerWebhook, m.Trigger)
			} else {
				require.Empty(t, q.sent, "nothing may be queued")
			}
			require.Less(t, logs.Len(), 4<<10, "no id reaches the log unbounded")
			// Nothing secret reaches the log.
			require.NotContains(t, logs.String(), "whsec_")
			if sig != "" && len(sig) > 20 {
				require.NotContains(t, logs.String(), sig[strings.Index(sig, "v1=")+3:])
			}
		})
	}
}

func TestMessageIsSmallAndStable(t *testing.T) {
	q := &fakeQueue{}
	h := mustNew(t, Deps{Secrets: []string{secret}, Queue: q, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now})
	require.NoError(t, h.Handle(context.Background(), order.ProcessJob{Version: 1, EventID: "evt_1",
		EventType: order.EventCompleted, SessionID: "cs_test_1", Created: 5, Trigger: order.TriggerWebhook}))
	require.JSONEq(t, `{"v":1,"event_id":"evt_1","event_type":"checkout.session.completed","session_id":"cs_test_1","livemode":false,"created":5,"trigger":"webhook"}`, string(q.sent[0]))
}

func TestPaymentEvents(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	ev := func(typ, object, id, pi string) []byte {
		return fmt.Appendf(nil, `{"id":"evt_1","object":"event","created":1700000000,"livemode":false,"type":%q,"data":{"object":{"id":%q,"object":%q,"payment_intent":%s}}}`,
			typ, id, object, pi)
	}
	tests := []struct {
		name       string
		body       []byte
		wantStatus int
		want       *order.ProcessJob
		wantError  string
	}{
		{name: "refund", body: ev(order.EventChargeRefunded, "charge", "ch_1", `"pi_1"`), wantStatus: 200,
			want: &order.ProcessJob{EventType: order.EventChargeRefunded, PaymentIntent: "pi_1", ObjectID: "ch_1"}},
		{name: "dispute created", body: ev(order.EventDisputeCreated, "dispute", "dp_1", `"pi_1"`), wantStatus: 200,
			want: &order.ProcessJob{EventType: order.EventDisputeCreated, PaymentIntent: "pi_1", ObjectID: "dp_1"}},
		{name: "dispute closed", body: ev(order.EventDisputeClosed, "dispute", "du_1", `"pi_1"`), wantStatus: 200,
			want: &order.ProcessJob{EventType: order.EventDisputeClosed, PaymentIntent: "pi_1", ObjectID: "du_1"}},
		{name: "a charge without a payment intent is not a Checkout payment", body: ev(order.EventChargeRefunded, "charge", "ch_1", `null`), wantStatus: 200},
		{name: "refund whose object is a dispute", body: ev(order.EventChargeRefunded, "dispute", "dp_1", `"pi_1"`), wantStatus: 400, wantError: "not a charge"},
		{name: "dispute whose object is a charge", body: ev(order.EventDisputeCreated, "charge", "ch_1", `"pi_1"`), wantStatus: 400, wantError: "not a dispute"},
		{name: "refund of a charge id that is not ch_", body: ev(order.EventChargeRefunded, "charge", "cs_test_1", `"pi_1"`), wantStatus: 400, wantError: "not a charge"},
		{name: "payment intent that is not pi_", body: ev(order.EventChargeRefunded, "charge", "ch_1", `"cs_test_1"`), wantStatus: 400, wantError: "not a charge"},
		{name: "payment intent of 255 bytes", body: ev(order.EventChargeRefunded, "charge", "ch_1", `"pi_`+strings.Repeat("a", order.MaxIDBytes-3)+`"`), wantStatus: 200,
			want: &order.ProcessJob{EventType: order.EventChargeRefunded, PaymentIntent: "pi_" + strings.Repeat("a", order.MaxIDBytes-3), ObjectID: "ch_1"}},
		{name: "payment intent of 256 bytes", body: ev(order.EventChargeRefunded, "charge", "ch_1", `"pi_`+strings.Repeat("a", order.MaxIDBytes-2)+`"`), wantStatus: 400, wantError: "not a Stripe event"},
		{name: "payment intent of 400 KB", body: ev(order.EventChargeRefunded, "charge", "ch_1", `"pi_`+strings.Repeat("a", 400<<10)+`"`), wantStatus: 400, wantError: "not a Stripe event"},
		{name: "charge id of 256 bytes", body: ev(order.EventChargeRefunded, "charge", "ch_"+strings.Repeat("a", order.MaxIDBytes-2), `"pi_1"`), wantStatus: 400, wantError: "not a Stripe event"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := &fakeQueue{}
			var logs bytes.Buffer
			h := mustNew(t, Deps{Secrets: []string{secret}, Queue: q, Log: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return now }})
			req := httptest.NewRequest(http.MethodPost, "/api/CheckoutComplete", bytes.NewReader(tc.body))
			req.Header.Set("Stripe-Signature", sign(tc.body, secret, now))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, tc.wantStatus, rec.Code, rec.Body.String())
			var a answer
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &a))
			require.Contains(t, a.Error, tc.wantError)
			require.Less(t, logs.Len(), 4<<10, "no id reaches the log unbounded")
			if tc.want == nil {
				require.Empty(t, q.sent)
				return
			}
			require.Len(t, q.sent, 1)
			m, err := order.DecodeProcessJob(q.sent[0])
			require.NoError(t, err)
			want := *tc.want
			want.Version, want.EventID, want.Created, want.Trigger = 1, "evt_1", 1700000000, order.TriggerWebhook
			require.Equal(t, want, m)
			require.NotContains(t, string(q.sent[0]), `"session_id":"ch_`)
		})
	}
}

// mustNew builds the stage from d.
func mustNew(t testing.TB, d Deps) *Stage {
	t.Helper()
	h, err := New(d)
	require.NoError(t, err)
	return h
}

// TestNewNamesWhatIsMissing: a stage built without a dependency it needs is
// refused when it is built, naming it; the optional ones may be left out.
func TestNewNamesWhatIsMissing(t *testing.T) {
	full := Deps{Secrets: []string{secret}, Queue: &fakeQueue{}, Log: slog.New(slog.DiscardHandler)}
	optional := full
	optional.Now, optional.Livemode = nil, true
	for _, d := range []Deps{full, optional} {
		_, err := New(d)
		require.NoError(t, err)
	}
	for want, edit := range map[string]func(d *Deps){
		"checkoutcomplete: no Secrets": func(d *Deps) { d.Secrets = nil },
		"checkoutcomplete: no Queue":   func(d *Deps) { d.Queue = nil },
		"checkoutcomplete: no Log":     func(d *Deps) { d.Log = nil },
	} {
		d := full
		edit(&d)
		_, err := New(d)
		require.ErrorContains(t, err, want)
	}
}
