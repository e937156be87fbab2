package hostemu

import (
	"bytes"
	"context"
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
