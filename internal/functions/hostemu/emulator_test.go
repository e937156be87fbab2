package hostemu

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/storage"
	"github.com/filedrop/filedrop/internal/testenv"
)

func TestEmulatorDeliversLikeTheHost(t *testing.T) {
	az := testenv.StartAzurite(t)
	qs := az.Queues(t)
	ctx := context.Background()
	fn := functions.Function{Name: "ProcessOrder", Trigger: "queueTrigger", Binding: "msg", Queue: "orders", DataType: "binary"}
	for _, name := range []string{"orders", "orders-poison"} {
		_, err := qs.Create(ctx, name)
		require.NoError(t, err)
	}

	var (
		mu       sync.Mutex
		attempts = map[string][]int{} // message data -> dequeue counts seen
		bodies   []map[string]any
	)
	handler := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/ProcessOrder", r.URL.Path)
		require.Equal(t, int64(-1), r.ContentLength, "the host sends the body chunked")
		var raw map[string]any
		b, _ := io.ReadAll(r.Body)
		require.NoError(t, json.Unmarshal(b, &raw))
		r.Body = io.NopCloser(jsonReader(b))
		inv, err := functions.DecodeInvocation(r, "msg", true)
		require.NoError(t, err)
		mu.Lock()
		attempts[string(inv.Data)] = append(attempts[string(inv.Data)], inv.DequeueCount)
		bodies = append(bodies, raw)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if string(inv.Data) == "fails" {
			w.WriteHeader(500)
		}
		_, _ = w.Write([]byte(`{"Outputs":{},"Logs":[]}`))
	}))
	defer handler.Close()

	emu := &Emulator{
		App: functions.App{FunctionTimeout: time.Minute, Functions: map[string]functions.Function{fn.Name: fn},
			Queues: functions.QueueSettings{MaxDequeueCount: 5, VisibilityTimeout: 0, MaxPollingInterval: 200 * time.Millisecond, BatchSize: 4}},
		Queues: qs, Handler: handler.URL, Client: handler.Client(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Hold: 30 * time.Second,
	}
	orders := qs.Queue("orders")
	require.NoError(t, orders.Send(ctx, []byte("works"), 0))
	require.NoError(t, orders.Send(ctx, []byte("fails"), 0))
	require.NoError(t, orders.SendText(ctx, "not base64 at all!", 0))

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = emu.Run(runCtx); close(done) }()
	poison := qs.Queue("orders-poison")
	require.Eventually(t, func() bool {
		n, _ := poison.Count(ctx)
		return n == 2
	}, 30*time.Second, 50*time.Millisecond, "both bad messages reach the poison queue")
	cancel()
	<-done

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []int{1}, attempts["works"], "a success is delivered once and deleted")
	require.Equal(t, []int{1, 2, 3, 4, 5}, attempts["fails"], "a failure is retried up to maxDequeueCount")
	require.NotContains(t, attempts, "not base64 at all!", "an undecodable message is never invoked")

	left, err := orders.Count(ctx)
	require.NoError(t, err)
	require.Zero(t, left)
	msgs, err := poison.Peek(ctx, 32)
	require.NoError(t, err)
	var texts []string
	for _, m := range msgs {
		texts = append(texts, m.Text)
	}
	require.ElementsMatch(t, []string{"ZmFpbHM=", "not base64 at all!"}, texts, "poisoned messages keep their text")

	meta := bodies[0]["Metadata"].(map[string]any)
	require.IsType(t, "", meta["DequeueCount"], "the host sends DequeueCount as a string")
	require.Regexp(t, `^".+"$`, meta["Id"], "the host quotes Id")
	require.Regexp(t, `^".+"$`, meta["PopReceipt"])
	require.Contains(t, meta, "sys")
}

// TestEmulatorRenewsTheHoldOfALongInvocation: an invocation longer than
// the emulator's hold keeps its message hidden (the renewal runs beside
// the invocation, which gets its own copy of the message) and the message
// is delivered once, then deleted with the renewed pop receipt.
func TestEmulatorRenewsTheHoldOfALongInvocation(t *testing.T) {
	az := testenv.StartAzurite(t)
	qs := az.Queues(t)
	ctx := context.Background()
	fn := functions.Function{Name: "SendLink", Trigger: "queueTrigger", Binding: "msg", Queue: "mails", DataType: "binary"}
	_, err := qs.Create(ctx, "mails")
	require.NoError(t, err)

	const hold = 3 * time.Second // renewed every second
	var mu sync.Mutex
	var invocations int
	handler := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		invocations++
		mu.Unlock()
		select { // a slow invocation: longer than the hold, so it must be renewed
		case <-time.After(hold + time.Second):
		case <-r.Context().Done():
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"Outputs":{},"Logs":[]}`))
	}))
	defer handler.Close()

	emu := &Emulator{
		App: functions.App{FunctionTimeout: time.Minute, Functions: map[string]functions.Function{fn.Name: fn},
			Queues: functions.QueueSettings{MaxDequeueCount: 5, MaxPollingInterval: 200 * time.Millisecond, BatchSize: 4}},
		Queues: qs, Handler: handler.URL, Client: handler.Client(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Hold: hold,
	}
	mails := qs.Queue("mails")
	require.NoError(t, mails.Send(ctx, []byte("slow"), 0))
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = emu.Run(runCtx); close(done) }()
	require.Eventually(t, func() bool {
		n, err := mails.Count(ctx)
		return err == nil && n == 0
	}, 30*time.Second, 100*time.Millisecond, "the message is deleted after its invocation")
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 1, invocations, "the renewed hold kept the message from a second delivery")
}

func jsonReader(b []byte) io.Reader { return &byteReader{b: b} }

type byteReader struct {
	b []byte
	n int
}

func (r *byteReader) Read(p []byte) (int, error) {
	if r.n >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.n:])
	r.n += n
	return n, nil
}

func TestFrontForwardsTheRawRequest(t *testing.T) {
	var got struct {
		method, path, query, ua, sig string
		body                         []byte
	}
	handler := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.method, got.path, got.query = r.Method, r.URL.Path, r.URL.RawQuery
		got.ua, got.sig = r.Header.Get("User-Agent"), r.Header.Get("Stripe-Signature")
		got.body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusTeapot)
	}))
	defer handler.Close()
	emu := &Emulator{App: functions.App{Functions: map[string]functions.Function{
		"CheckoutComplete": {Name: "CheckoutComplete", Trigger: "httpTrigger"},
		"ProcessOrder":     {Name: "ProcessOrder", Trigger: "queueTrigger"},
	}}, Handler: handler.URL, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	front, err := emu.Front()
	require.NoError(t, err)
	srv := httptest.NewServer(front)
	defer srv.Close()

	body := `{"id":"evt_1",  "spacing":"kept"}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/CheckoutComplete?code=abc", jsonReader([]byte(body)))
	req.ContentLength = int64(len(body))
	req.Header.Set("Stripe-Signature", "t=1,v1=ab")
	req.Header.Set("User-Agent", "Stripe/1.0")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusTeapot, resp.StatusCode, "the handler's answer goes back as it is")
	require.Equal(t, "POST", got.method)
	require.Equal(t, "/api/CheckoutComplete", got.path)
	require.Equal(t, "code=abc", got.query)
	require.Equal(t, "t=1,v1=ab", got.sig)
	require.Equal(t, body, string(got.body), "raw bytes unchanged")
	require.Regexp(t, `^Stripe/1.0 Azure-Functions-Host/`, got.ua)

	resp, err = srv.Client().Post(srv.URL+"/api/ProcessOrder", "application/json", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "queue functions have no public route")
}

func TestHostQuery(t *testing.T) {
	for raw, want := range map[string]string{
		"":            "",
		"code=abc":    "code=abc",
		"a=1&b=2&a=3": "a=1%2C3&b=2",
		"x":           "x=",
		"s=a+b&t=%2F": "s=a+b&t=%2F",
		"&&z=1":       "z=1",
	} {
		require.Equal(t, want, HostQuery(raw), raw)
	}
}

// TestFailedInvocationError: the error of a failed invocation, which the
// emulator logs, carries the handler's error once, not the whole answer with
// that error escaped inside it (and escaped again by the log line).
func TestFailedInvocationError(t *testing.T) {
	stripeErr := `stripe answered 500: {"error":{"message":"boom"}}`
	answer, err := json.Marshal(functions.Response{Outputs: map[string]any{}, Logs: []string{`{"level":"ERROR"}`}, Error: stripeErr})
	require.NoError(t, err)
	tests := []struct {
		name string
		body string
		want string
	}{
		{name: "the handler's answer", body: string(answer), want: "handler answered 500: " + stripeErr},
		{name: "an answer without an error", body: `{"Outputs":{},"Logs":[]}` + "\n", want: `handler answered 500: {"Outputs":{},"Logs":[]}`},
		{name: "not JSON", body: "upstream crashed\n", want: "handler answered 500: upstream crashed"},
	}
	fn := functions.Function{Name: "ProcessOrder", Trigger: "queueTrigger", Binding: "msg", Queue: "orders", DataType: "binary"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			handler := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer handler.Close()
			emu := &Emulator{App: functions.App{FunctionTimeout: time.Minute}, Handler: handler.URL, Client: handler.Client()}
			ok, err := emu.invoke(context.Background(), fn, storage.Message{ID: "m1", Data: []byte("x")})
			require.False(t, ok)
			require.EqualError(t, err, tt.want)

			var line strings.Builder
			slog.New(slog.NewJSONHandler(&line, nil)).Warn("invocation failed", "err", err)
			var logged struct{ Err string }
			require.NoError(t, json.Unmarshal([]byte(line.String()), &logged))
			require.Equal(t, tt.want, logged.Err, "one decoding of the log line gives the error as the handler said it")
		})
	}
}
