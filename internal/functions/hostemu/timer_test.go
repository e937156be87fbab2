package hostemu

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/functions"
)

// The emulator's timer invocation is what the handler's TimerRoute reads,
// and RunNow runs a timer function at once.
func TestRunNow(t *testing.T) {
	fn := functions.Function{Name: "Reconcile", Trigger: "timerTrigger", Binding: "timer", Schedule: "0 */15 * * * *"}
	runs := make(chan functions.Timer, 1)
	route := functions.TimerRoute{Function: fn, Timeout: time.Minute, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Stderr: &bytes.Buffer{},
		Run: func(_ context.Context, _ *slog.Logger, tm functions.Timer) error { runs <- tm; return nil }}
	srv := httptest.NewServer(route)
	t.Cleanup(srv.Close)
	e := &Emulator{App: functions.App{Functions: map[string]functions.Function{"Reconcile": fn}}, Handler: srv.URL,
		Client: srv.Client(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	require.NoError(t, e.RunNow(context.Background(), "Reconcile"))
	require.Equal(t, functions.Timer{IsPastDue: false}, <-runs)
	require.ErrorContains(t, e.RunNow(context.Background(), "ProcessOrder"), "no timer function")
}

// TestTimerBodyIsWhatTheHostSends: Data.<binding> is the TimerInfo as a
// JSON object, as the host's ScriptInvocationContextExtensions serialises
// it (JObject.FromObject), not a string holding JSON.
func TestTimerBodyIsWhatTheHostSends(t *testing.T) {
	fn := functions.Function{Name: "Reconcile", Trigger: "timerTrigger", Binding: "timer", Schedule: "0 */15 * * * *"}
	at := time.Date(2025, 3, 14, 9, 15, 0, 0, time.UTC)
	var body struct {
		Data     map[string]json.RawMessage
		Metadata map[string]json.RawMessage
	}
	require.NoError(t, json.Unmarshal(TimerBody(fn, at.Add(-15*time.Minute), at, at.Add(15*time.Minute), true), &body))
	var info struct {
		Schedule       map[string]any
		ScheduleStatus struct{ Last, Next, LastUpdated string }
		IsPastDue      bool
	}
	require.NoError(t, json.Unmarshal(body.Data["timer"], &info), "an object, not a string: %s", body.Data["timer"])
	require.True(t, info.IsPastDue)
	require.Equal(t, "2025-03-14T09:00:00.0000000+00:00", info.ScheduleStatus.Last)
	require.Equal(t, "2025-03-14T09:30:00.0000000+00:00", info.ScheduleStatus.Next)
	require.Equal(t, map[string]any{"AdjustForDST": true}, info.Schedule)
	require.Contains(t, body.Metadata, "sys")
}

// On its schedule: a schedule every second runs the function again and
// again, one run at a time.
func TestTimerOnSchedule(t *testing.T) {
	fn := functions.Function{Name: "Reconcile", Trigger: "timerTrigger", Binding: "timer", Schedule: "* * * * * *"}
	runs := make(chan struct{}, 10)
	route := functions.TimerRoute{Function: fn, Timeout: time.Minute, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Stderr: &bytes.Buffer{},
		Run: func(context.Context, *slog.Logger, functions.Timer) error { runs <- struct{}{}; return nil }}
	srv := httptest.NewServer(route)
	t.Cleanup(srv.Close)
	e := &Emulator{App: functions.App{Functions: map[string]functions.Function{"Reconcile": fn}}, Handler: srv.URL,
		Client: srv.Client(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.tick(ctx, fn) }()
	for range 2 {
		select {
		case <-runs:
		case <-time.After(10 * time.Second):
			t.Fatal("the timer did not run on its schedule")
		}
	}
	cancel()
	<-done
}

// TestTimerRunOnStartup: a timer function with runOnStartup runs once when
// the emulator starts, before its schedule (yearly here) falls due; one
// without it does not.
func TestTimerRunOnStartup(t *testing.T) {
	for _, onStartup := range []bool{true, false} {
		t.Run(fmt.Sprint("runOnStartup ", onStartup), func(t *testing.T) {
			fn := functions.Function{Name: "Reconcile", Trigger: "timerTrigger", Binding: "timer", Schedule: "0 0 0 1 1 *", RunOnStartup: onStartup}
			runs := make(chan struct{}, 10)
			route := functions.TimerRoute{Function: fn, Timeout: time.Minute, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Stderr: &bytes.Buffer{},
				Run: func(context.Context, *slog.Logger, functions.Timer) error { runs <- struct{}{}; return nil }}
			srv := httptest.NewServer(route)
			t.Cleanup(srv.Close)
			e := &Emulator{App: functions.App{Functions: map[string]functions.Function{"Reconcile": fn}}, Handler: srv.URL,
				Client: srv.Client(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); e.tick(ctx, fn) }()
			if onStartup {
				select {
				case <-runs:
				case <-time.After(10 * time.Second):
					t.Fatal("the timer did not run on start-up")
				}
			}
			cancel()
			<-done
			require.Empty(t, runs, "no (further) run before the schedule")
		})
	}
}
