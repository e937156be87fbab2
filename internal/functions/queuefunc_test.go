package functions

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/order"
)

type sendFunc func(ctx context.Context, data []byte, delay time.Duration) error

func (f sendFunc) Send(ctx context.Context, data []byte, delay time.Duration) error {
	return f(ctx, data, delay)
}

type sent struct {
	data  string
	delay time.Duration
}

func TestQueueRoute(t *testing.T) {
	tests := []struct {
		name        string
		stage       HandlerFunc
		requeueErr  error
		wantStatus  int
		wantRequeue []sent
		wantPoison  []string
		wantStderr  string
		wantLog     string
		wantNoLog   string
	}{
		{name: "success", stage: func(_ context.Context, d delivery.Attempt, data []byte) error {
			d.Log.Info("did the work", "session_id", "cs_test_1")
			return nil
		}, wantStatus: 200, wantLog: "did the work"},
		{name: "permanent is acknowledged", stage: func(context.Context, delivery.Attempt, []byte) error {
			return order.Permanentf("original missing")
		}, wantStatus: 200, wantLog: "permanent failure", wantNoLog: "recorded"}, // only the stage knows whether it recorded it
		{name: "throttled is re-scheduled and acknowledged", stage: func(context.Context, delivery.Attempt, []byte) error {
			return fmt.Errorf("send: %w", order.Throttled(errors.New("429"), 42*time.Second))
		}, wantStatus: 200, wantRequeue: []sent{{`{"v":1}`, 42 * time.Second}}, wantLog: "re-scheduled"},
		{name: "throttled but re-scheduling fails is retried", stage: func(context.Context, delivery.Attempt, []byte) error {
			return order.Throttled(errors.New("429"), time.Second)
		}, requeueErr: errors.New("queue down"), wantStatus: 500, wantStderr: "re-schedule after throttling"},
		{name: "retryable fails the invocation", stage: func(context.Context, delivery.Attempt, []byte) error {
			return errors.New("stripe unreachable")
		}, wantStatus: 500, wantStderr: "stripe unreachable"},
		{name: "panic is retryable", stage: func(context.Context, delivery.Attempt, []byte) error {
			panic("boom")
		}, wantStatus: 500, wantStderr: "panic: boom"},
		{name: "undecodable goes to poison", stage: Decoded(order.DecodeProcessJob, func(context.Context, delivery.Attempt, order.ProcessJob) error {
			return nil
		}), wantStatus: 200, wantPoison: []string{`{"v":1}`}, wantLog: "poison"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var requeued []sent
			var poisoned []string
			var stderr, logs bytes.Buffer
			route := QueueRoute{
				Function: Function{Name: "ProcessOrder", Binding: "msg", DataType: "binary", Queue: "process-order"},
				Handle:   tc.stage,
				Requeue: sendFunc(func(_ context.Context, d []byte, delay time.Duration) error {
					if tc.requeueErr != nil {
						return tc.requeueErr
					}
					requeued = append(requeued, sent{string(d), delay})
					return nil
				}),
				Poison: sendFunc(func(_ context.Context, d []byte, _ time.Duration) error {
					poisoned = append(poisoned, string(d))
					return nil
				}),
				Timeout: 5 * time.Second,
				Log:     slog.New(slog.NewTextHandler(&logs, nil)),
				Stderr:  &stderr,
			}
			body := `{"Data":{"msg":"eyJ2IjoxfQ=="},"Metadata":{"DequeueCount":"2","Id":"\"m1\""}}`
			req := httptest.NewRequest(http.MethodPost, "/ProcessOrder", strings.NewReader(body))
			req.Header.Set("X-Azure-Functions-InvocationId", "inv-42")
			rec := httptest.NewRecorder()
			route.ServeHTTP(rec, req)

			require.Equal(t, tc.wantStatus, rec.Code)
			require.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
			var resp map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp))
			require.Contains(t, resp, "Outputs")
			require.Contains(t, resp, "Logs")
			require.Equal(t, tc.wantRequeue, requeued)
			require.Equal(t, tc.wantPoison, poisoned)
			if tc.wantStderr != "" {
				require.Contains(t, stderr.String(), tc.wantStderr)
			} else {
				require.Empty(t, stderr.String())
			}
			if tc.wantLog != "" {
				require.Contains(t, logs.String(), tc.wantLog)
				require.Contains(t, logs.String(), "invocation_id=inv-42")
				require.Contains(t, strings.Join(toStrings(resp["Logs"]), "\n"), tc.wantLog, "the invocation's lines are in Logs")
			}
			if tc.wantNoLog != "" {
				require.NotContains(t, logs.String(), tc.wantNoLog)
			}
		})
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestBadRetryRecordIsPoisoned: a message whose retry record is not one
// (negative counts, a string) can never be re-scheduled correctly: it is
// moved to the poison queue before its stage runs, as a message its
// stage's decoder refuses.
func TestBadRetryRecordIsPoisoned(t *testing.T) {
	for _, data := range []string{`{"v":1,"retry":{"n":-1}}`, `{"v":1,"retry":"soon"}`} {
		t.Run(data, func(t *testing.T) {
			var poisoned []string
			ran := false
			route := QueueRoute{
				Function: Function{Name: "ProcessOrder", Binding: "msg", DataType: "binary", Queue: "process-order"},
				Handle: func(context.Context, delivery.Attempt, []byte) error {
					ran = true
					return nil
				},
				Requeue: sendFunc(func(context.Context, []byte, time.Duration) error { return errors.New("not re-scheduled") }),
				Poison: sendFunc(func(_ context.Context, d []byte, _ time.Duration) error {
					poisoned = append(poisoned, string(d))
					return nil
				}),
				Timeout: 5 * time.Second,
				Log:     slog.New(slog.DiscardHandler),
				Stderr:  io.Discard,
			}
			body := `{"Data":{"msg":"` + base64.StdEncoding.EncodeToString([]byte(data)) + `"},"Metadata":{"DequeueCount":"1","Id":"\"m1\""}}`
			rec := httptest.NewRecorder()
			route.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/ProcessOrder", strings.NewReader(body)))
			require.Equal(t, http.StatusOK, rec.Code)
			require.False(t, ran, "the stage never sees it")
			require.Equal(t, []string{data}, poisoned)
		})
	}
}

// TestOverlongIDsArePoisoned: a message whose ids are over order.MaxIDBytes
// never reaches the stage (nor the ledger, whose properties hold 64 KiB) and
// is moved to the poison queue, named in the log by its size only.
func TestOverlongIDsArePoisoned(t *testing.T) {
	long := strings.Repeat("a", 40<<10)
	orderStage := Decoded(order.DecodeProcessJob, func(context.Context, delivery.Attempt, order.ProcessJob) error {
		return errors.New("the stage must not run")
	})
	mailStage := Decoded(order.DecodeMailJob, func(context.Context, delivery.Attempt, order.MailJob) error {
		return errors.New("the stage must not run")
	})
	reportStage := Decoded(order.DecodeDeliveryReport, func(context.Context, delivery.Attempt, order.DeliveryReport) error {
		return errors.New("the stage must not run")
	})
	report := func(messageID, statusMessage string) string {
		return `{"id":"5f04f77c-2a6a-43bd-9b74-576a64c01f9e","subject":"sender/a@shop.example/message/x",` +
			`"data":{"messageId":"` + messageID + `","status":"Bounced","deliveryStatusDetails":{"statusMessage":"` + statusMessage + `"}},` +
			`"eventType":"Microsoft.Communication.EmailDeliveryReportReceived","dataVersion":"1.0","metadataVersion":"1","eventTime":"2025-03-14T09:00:00Z"}`
	}
	tests := []struct {
		name  string
		stage HandlerFunc
		msg   string
	}{
		{"order message, event id of 40 KB", orderStage,
			`{"v":1,"event_id":"evt_` + long + `","event_type":"checkout.session.completed","session_id":"cs_test_a1","created":1}`},
		{"order message, session id of 40 KB", orderStage,
			`{"v":1,"event_id":"evt_1","event_type":"checkout.session.completed","session_id":"cs_test_` + long + `","created":1}`},
		{"mail message, event id of 40 KB", mailStage,
			`{"v":1,"kind":"payment_failed","session_id":"cs_test_a1","event_id":"evt_` + long + `","generation":1,"customer":{"email":"a@example.com"}}`},
		{"mail message, session id of 40 KB", mailStage,
			`{"v":1,"kind":"payment_failed","session_id":"cs_test_` + long + `","event_id":"evt_1","generation":1,"customer":{"email":"a@example.com"}}`},
		{"delivery report, messageId of 30 KB", reportStage, report(long[:30<<10], "")},
		{"delivery report of 40 KB", reportStage, report("950850f5-bcdf-4315-b77a-6447cf56fac9", long)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var poisoned []string
			var logs, stderr bytes.Buffer
			route := QueueRoute{
				Function: Function{Name: "ProcessOrder", Binding: "msg", DataType: "binary"},
				Handle:   tc.stage,
				Poison: sendFunc(func(_ context.Context, d []byte, _ time.Duration) error {
					poisoned = append(poisoned, string(d))
					return nil
				}),
				Timeout: time.Second, Log: slog.New(slog.NewTextHandler(&logs, nil)), Stderr: &stderr,
			}
			body := `{"Data":{"msg":"` + base64.StdEncoding.EncodeToString([]byte(tc.msg)) + `"},"Metadata":{"DequeueCount":"1"}}`
			rec := httptest.NewRecorder()
			route.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/ProcessOrder", strings.NewReader(body)))
			require.Equal(t, http.StatusOK, rec.Code, "acknowledged: the same bytes never decode")
			require.Equal(t, []string{tc.msg}, poisoned, "moved to the poison queue as it is")
			require.Contains(t, logs.String(), "poison")
			require.Less(t, logs.Len(), 2<<10, "the id is not logged in full")
			require.Empty(t, stderr.String())
		})
	}
}

func TestQueueRouteRefusesOtherMethods(t *testing.T) {
	route := QueueRoute{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Stderr: io.Discard}
	rec := httptest.NewRecorder()
	route.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ProcessOrder", nil))
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	require.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
	require.NotEmpty(t, strings.TrimSpace(rec.Body.String()))
}

func TestDecodedNamesTheMessageInEveryLine(t *testing.T) {
	var logs bytes.Buffer
	msg := `{"v":1,"event_id":"evt_9","event_type":"checkout.session.completed","session_id":"cs_test_named","created":1}`
	route := QueueRoute{
		Function: Function{Name: "ProcessOrder", Binding: "msg", DataType: "binary"},
		Handle: Decoded(order.DecodeProcessJob, func(_ context.Context, d delivery.Attempt, m order.ProcessJob) error {
			d.Log.Info("stage line", m.LogAttrs()...)
			return errors.New("stripe down")
		}),
		Timeout: time.Second, Log: slog.New(slog.NewTextHandler(&logs, nil)), Stderr: io.Discard,
	}
	body := `{"Data":{"msg":"` + base64.StdEncoding.EncodeToString([]byte(msg)) + `"},"Metadata":{}}`
	rec := httptest.NewRecorder()
	route.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/ProcessOrder", strings.NewReader(body)))
	require.Equal(t, 500, rec.Code)
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 2)
	for _, l := range lines {
		require.Contains(t, l, "session_id=cs_test_named")
		require.Contains(t, l, "event_id=evt_9")
	}
}

func TestQueueRoutePassesTheDelivery(t *testing.T) {
	var got delivery.Attempt
	route := QueueRoute{
		Function: Function{Name: "SendLink", Binding: "msg", DataType: "binary"},
		Handle: func(_ context.Context, d delivery.Attempt, _ []byte) error {
			got = d
			return nil
		},
		Timeout: time.Second, Log: slog.New(slog.DiscardHandler), Stderr: io.Discard,
	}
	req := httptest.NewRequest(http.MethodPost, "/SendLink", strings.NewReader(`{"Data":{"msg":"e30="},"Metadata":{"DequeueCount":"3","Id":"\"5f1c\""}}`))
	req.Header.Set("X-Azure-Functions-InvocationId", "inv-7")
	route.ServeHTTP(httptest.NewRecorder(), req)
	require.Equal(t, "inv-7", got.InvocationID)
	require.Equal(t, "5f1c", got.MessageID)
	require.Equal(t, 3, got.DequeueCount)
	require.Equal(t, "message:5f1c", got.Owner(), "leases belong to the queue message")
	require.NotNil(t, got.Log)
}

// TestQueueRouteHoldsARefusedSetting: a stage's order.Misconfigured error is
// re-scheduled with the stage's delay and acknowledged, like throttling; the
// loud line naming the setting is said at most once a minute.
func TestQueueRouteHoldsARefusedSetting(t *testing.T) {
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	alarms := NewAlarms(time.Minute, func() time.Time { return clock })
	var requeued []sent
	var stderr, logs bytes.Buffer
	route := QueueRoute{
		Function: Function{Name: "ProcessOrder", Binding: "msg", DataType: "binary", Queue: "process-order"},
		Handle: func(context.Context, delivery.Attempt, []byte) error {
			refused := order.Misconfigured(errors.New("Stripe refused STRIPE_API_KEY: stripe answered 401"), "STRIPE_API_KEY")
			return fmt.Errorf("order cs_1: %w", order.Throttled(refused, 4*time.Second))
		},
		Requeue: sendFunc(func(_ context.Context, d []byte, delay time.Duration) error {
			requeued = append(requeued, sent{string(d), delay})
			return nil
		}),
		Timeout: 5 * time.Second, Alarms: alarms,
		Log: slog.New(slog.NewTextHandler(&logs, nil)), Stderr: &stderr,
	}
	const loud = "STRIPE_API_KEY was refused: fix the setting; orders are held and resume by themselves"
	tests := []struct {
		name      string
		after     time.Duration // the clock moves on by it first
		wantLoud  bool
		wantLevel string
	}{
		{name: "first: loud", wantLoud: true, wantLevel: "level=ERROR"},
		{name: "within the minute: quiet", after: 59 * time.Second, wantLevel: "level=WARN"},
		{name: "a minute after the loud one: loud again", after: time.Second, wantLoud: true, wantLevel: "level=ERROR"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock = clock.Add(tt.after)
			logs.Reset()
			stderr.Reset()
			body := `{"Data":{"msg":"eyJ2IjoxfQ=="},"Metadata":{"DequeueCount":"1","Id":"\"m1\""}}`
			rec := httptest.NewRecorder()
			route.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/ProcessOrder", strings.NewReader(body)))

			require.Equal(t, http.StatusOK, rec.Code, "held spends none of the host's attempts")
			require.Len(t, requeued, i+1)
			require.Equal(t, sent{`{"v":1}`, 4 * time.Second}, requeued[i])
			require.Contains(t, logs.String(), tt.wantLevel)
			require.Contains(t, logs.String(), "setting=STRIPE_API_KEY")
			require.Equal(t, tt.wantLoud, strings.Contains(logs.String(), loud), logs.String())
			require.Equal(t, tt.wantLoud, strings.Contains(stderr.String(), loud), stderr.String())
		})
	}
}

// serve runs route on one queue message and returns the answer's status.
func serve(t *testing.T, route QueueRoute, msg []byte) int {
	t.Helper()
	body := fmt.Sprintf(`{"Data":{"msg":%q},"Metadata":{"DequeueCount":"1","Id":"\"m1\""}}`, base64.StdEncoding.EncodeToString(msg))
	rec := httptest.NewRecorder()
	route.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/ProcessOrder", strings.NewReader(body)))
	return rec.Code
}

func TestQueueRouteHoldWithoutADelayGrows(t *testing.T) {
	var requeued []sent
	route := QueueRoute{
		Function: Function{Name: "ProcessOrder", Binding: "msg", DataType: "binary", Queue: "process-order"},
		Handle: func(context.Context, delivery.Attempt, []byte) error {
			// as a refund message's Stripe call answers: no order record counts the holds
			return order.Misconfigured(errors.New("stripe answered 401"), "STRIPE_API_KEY")
		},
		Requeue: sendFunc(func(_ context.Context, d []byte, delay time.Duration) error {
			requeued = append(requeued, sent{string(d), delay})
			return nil
		}),
		Timeout: 5 * time.Second, Alarms: NewAlarms(time.Minute, time.Now),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Stderr: io.Discard,
	}
	msg := []byte(`{"v":1,"session_id":"cs_test_1"}`)
	const holds = 6
	for i := range holds {
		require.Equal(t, http.StatusOK, serve(t, route, msg))
		require.Len(t, requeued, i+1)
		msg = []byte(requeued[i].data) // the copy comes back
		require.Equal(t, i+1, delivery.RetryOf(msg).Holds)
		if i > 0 {
			require.Greater(t, requeued[i].delay, requeued[i-1].delay, "hold %d waits longer than the one before", i+1)
		}
	}
	require.GreaterOrEqual(t, requeued[holds-1].delay, 3*delivery.HoldDelay(holds)/4, "a growing delay, not a second forever")
	require.Greater(t, requeued[holds-1].delay, 16*time.Second)
}

func TestQueueRoutePauseStartsAFreshRetryBudget(t *testing.T) {
	first := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
	policy := delivery.Backoff{Min: time.Second, Max: 8 * time.Second, Budget: 2 * time.Hour}
	spent := fmt.Sprintf(`{"v":1,"session_id":"cs_test_1","retry":{"n":5,"first":%q,"redrives":1,"owner":"message:first"}}`, first.Format(time.RFC3339))
	refused := order.Misconfigured(errors.New("stripe answered 401"), "STRIPE_API_KEY")
	tests := []struct {
		name      string
		pause     error
		wantHolds int
	}{
		{name: "throttled", pause: order.Throttled(errors.New("stripe answered 429"), 3*time.Second)},
		{name: "held with the order's delay", pause: order.Throttled(refused, 4*time.Second)},
		{name: "held without a delay", pause: refused, wantHolds: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var requeued [][]byte
			var plan delivery.RetryPlan
			fail := tt.pause
			route := QueueRoute{
				Function: Function{Name: "ProcessOrder", Binding: "msg", DataType: "binary", Queue: "process-order"},
				Handle: func(_ context.Context, d delivery.Attempt, _ []byte) error {
					plan = d.Retry
					return fail
				},
				Requeue: sendFunc(func(_ context.Context, d []byte, _ time.Duration) error {
					requeued = append(requeued, d)
					return nil
				}),
				Poison:  sendFunc(func(context.Context, []byte, time.Duration) error { t.Error("poisoned"); return nil }),
				Backoff: policy, Timeout: 5 * time.Second, Alarms: NewAlarms(time.Minute, time.Now),
				Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Stderr: io.Discard,
			}
			require.Equal(t, http.StatusOK, serve(t, route, []byte(spent)))
			require.Len(t, requeued, 1)
			require.Equal(t, delivery.Retry{Redrives: 1, Owner: "message:first", Holds: tt.wantHolds}, delivery.RetryOf(requeued[0]),
				"the pause drops the transient failures and keeps the rest")
			var fields map[string]any
			require.NoError(t, json.Unmarshal(requeued[0], &fields))
			require.Equal(t, "cs_test_1", fields["session_id"], "every other field is kept")

			// The copy fails transiently once the pause is over: a fresh budget.
			fail = order.Transient(errors.New("stripe answered 503"))
			require.Equal(t, http.StatusOK, serve(t, route, requeued[0]))
			require.False(t, plan.Exhausted, "the time spent paused is not the transient fault's")
			require.Equal(t, 1, plan.Next.N)
			require.Len(t, requeued, 2)
		})
	}
}
