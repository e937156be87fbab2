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

func TestQueueRouteTransient(t *testing.T) {
	first := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	policy := delivery.Backoff{Min: time.Second, Max: 8 * time.Second, Budget: 2 * time.Hour}
	tests := []struct {
		name       string
		msg        string
		err        error
		requeueErr error
		wantStatus int
		// wantN is the failure count of the re-scheduled copy; 0: none.
		wantN      int
		wantFirst  time.Time // zero: about now
		wantMax    time.Duration
		wantPoison bool
		wantOwner  string // the stage's lease owner; "": message:m1
	}{
		{name: "first transient failure: a copy with n=1 after about a second",
			msg: `{"v":1,"session_id":"cs_test_1"}`, err: order.Transient(errors.New("stripe answered 503")),
			wantStatus: 200, wantN: 1, wantMax: time.Second},
		{name: "the fourth: 8 s at most, first kept",
			msg: fmt.Sprintf(`{"v":1,"session_id":"cs_test_1","retry":{"n":3,"first":%q}}`, first.Format(time.RFC3339)),
			err: fmt.Errorf("fetch: %w", order.Transient(errors.New("EOF"))), wantStatus: 200, wantN: 4, wantFirst: first, wantMax: 8 * time.Second},
		{name: "budget spent: poisoned and acknowledged",
			msg: fmt.Sprintf(`{"v":1,"session_id":"cs_test_1","retry":{"n":40,"first":%q}}`, first.Add(-2*time.Hour).Format(time.RFC3339)),
			err: order.Transient(errors.New("acs down")), wantStatus: 200, wantPoison: true},
		{name: "a copy keeps the owner of the delivery it continues",
			msg: fmt.Sprintf(`{"v":1,"session_id":"cs_test_1","retry":{"n":1,"first":%q,"owner":"message:first"}}`, first.Format(time.RFC3339)),
			err: order.Transient(errors.New("EOF")), wantStatus: 200, wantN: 2, wantFirst: first, wantMax: 2 * time.Second, wantOwner: "message:first"},
		{name: "re-scheduling fails: the host retries",
			msg: `{"v":1}`, err: order.Transient(errors.New("down")), requeueErr: errors.New("queue down"), wantStatus: 500},
		{name: "throttling keeps its Retry-After, even when transient too",
			msg: `{"v":1}`, err: order.Throttled(order.Transient(errors.New("429")), 42*time.Second), wantStatus: 200},
		{name: "an unclassified failure still spends a host attempt",
			msg: `{"v":1}`, err: errors.New("something nobody classified"), wantStatus: 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var requeued, poisoned [][]byte
			var delays []time.Duration
			var plan delivery.RetryPlan
			var owner string
			route := QueueRoute{
				Function: Function{Name: "ProcessOrder", Binding: "msg", DataType: "binary", Queue: "process-order"},
				Handle: func(_ context.Context, d delivery.Attempt, _ []byte) error {
					plan, owner = d.Retry, d.Owner()
					return tc.err
				},
				Requeue: sendFunc(func(_ context.Context, d []byte, delay time.Duration) error {
					if tc.requeueErr != nil {
						return tc.requeueErr
					}
					requeued, delays = append(requeued, d), append(delays, delay)
					return nil
				}),
				Poison: sendFunc(func(_ context.Context, d []byte, _ time.Duration) error {
					poisoned = append(poisoned, d)
					return nil
				}),
				Backoff: policy,
				Timeout: 5 * time.Second,
				Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
				Stderr:  &bytes.Buffer{},
			}
			body := fmt.Sprintf(`{"Data":{"msg":%q},"Metadata":{"DequeueCount":"1","Id":"\"m1\""}}`, base64.StdEncoding.EncodeToString([]byte(tc.msg)))
			rec := httptest.NewRecorder()
			route.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/ProcessOrder", strings.NewReader(body)))
			require.Equal(t, tc.wantStatus, rec.Code, rec.Body.String())
			require.Equal(t, tc.wantPoison, plan.Exhausted, "the stage saw the same plan the route acted on")
			if tc.wantOwner != "" {
				require.Equal(t, tc.wantOwner, owner)
				require.Equal(t, tc.wantOwner, delivery.RetryOf(requeued[0]).Owner)
			} else if rec.Code == 200 && !tc.wantPoison {
				require.Equal(t, "message:m1", owner)
			}
			if tc.wantPoison {
				require.Equal(t, [][]byte{[]byte(tc.msg)}, poisoned, "poisoned as it came")
				require.Empty(t, requeued)
				return
			}
			require.Empty(t, poisoned)
			if tc.wantN == 0 {
				if order.Classify(tc.err) != order.ClassThrottled {
					require.Empty(t, requeued)
				}
				return
			}
			require.Len(t, requeued, 1)
			require.Equal(t, plan.Delay, delays[0])
			require.GreaterOrEqual(t, delays[0], time.Second)
			require.LessOrEqual(t, delays[0], tc.wantMax)
			r := delivery.RetryOf(requeued[0])
			require.Equal(t, tc.wantN, r.N)
			if tc.wantFirst.IsZero() {
				require.WithinDuration(t, time.Now(), r.First, time.Minute)
			} else {
				require.True(t, tc.wantFirst.Equal(r.First), "first %s, want %s", r.First, tc.wantFirst)
			}
			if tc.wantFirst.IsZero() {
				require.Equal(t, "message:m1", r.Owner, "the copy continues the first delivery's lease")
			}
			var fields map[string]any
			require.NoError(t, json.Unmarshal(requeued[0], &fields))
			require.Equal(t, "cs_test_1", fields["session_id"], "every other field is kept")
		})
	}
}
