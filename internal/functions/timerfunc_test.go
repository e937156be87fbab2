package functions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTimerRoute(t *testing.T) {
	const status = `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2025-03-14T09:00:00+00:00","Next":"2025-03-14T09:30:00+00:00","LastUpdated":"2025-03-14T09:15:00+00:00"},"IsPastDue":true}`
	quoted, _ := json.Marshal(status)
	tests := []struct {
		name        string
		body        string
		run         TimerFunc
		wantStatus  int
		wantPastDue bool
		wantStderr  string
	}{
		{name: "as the host sends it: the status serialised to a string", body: `{"Data":{"timer":` + string(quoted) + `},"Metadata":{}}`,
			wantStatus: 200, wantPastDue: true},
		{name: "the status as an object", body: `{"Data":{"timer":` + status + `},"Metadata":{}}`, wantStatus: 200, wantPastDue: true},
		{name: "no status: runs anyway", body: `{"Data":{},"Metadata":{}}`, wantStatus: 200},
		{name: "a failed run answers 500", body: `{"Data":{"timer":{}}}`, wantStatus: 500, wantStderr: "stripe down",
			run: func(context.Context, *slog.Logger, Timer) error { return errors.New("stripe down") }},
		{name: "a panic answers 500", body: `{"Data":{"timer":{}}}`, wantStatus: 500, wantStderr: "panic: boom",
			run: func(context.Context, *slog.Logger, Timer) error { panic("boom") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got *Timer
			run := tc.run
			if run == nil {
				run = func(_ context.Context, log *slog.Logger, tm Timer) error {
					got = &tm
					log.Info("reconcile run", "queued", 3)
					return nil
				}
			}
			var stderr bytes.Buffer
			route := TimerRoute{Function: Function{Name: "Reconcile", Trigger: "timerTrigger", Binding: "timer"}, Run: run,
				Timeout: time.Minute, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Stderr: &stderr}
			rec := httptest.NewRecorder()
			route.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/Reconcile", strings.NewReader(tc.body)))
			require.Equal(t, tc.wantStatus, rec.Code, rec.Body.String())
			require.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
			if tc.wantStderr != "" {
				require.Contains(t, stderr.String(), tc.wantStderr)
				return
			}
			require.NotNil(t, got)
			require.Equal(t, tc.wantPastDue, got.IsPastDue)
			require.Contains(t, rec.Body.String(), "reconcile run", "the run's lines are in Logs")
		})
	}
}
