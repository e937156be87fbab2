package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/filedrop/filedrop/internal/config"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/testenv"
)

const testSecret = "whsec_cli_test"

// syncBuffer is a bytes.Buffer safe for the program's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// baseSettings are the settings every test run needs, on top of which a
// test adds its own.
func baseSettings(connectionString, outbox string) map[string]string {
	return map[string]string{
		"AzureWebJobsStorage":   connectionString,
		"STRIPE_WEBHOOK_SECRET": testSecret,
		"STRIPE_API_KEY":        "sk_test_123",
		"EMAIL_SENDER":          "shop@example.com",
		"EMAIL_OUTBOX_DIR":      outbox,
		"PUBLIC_BASE_URL":       "https://shop.example",
		"ORDER_LINK_SECRET":     testOrderLinkSecret,
	}
}

// testOrderLinkSecret signs the tests' order links.
const testOrderLinkSecret = "test-order-link-secret-0123456789abcdef"

// program is a running handler binary, in process.
type program struct {
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan error
}

func start(t *testing.T, settings map[string]string, args ...string) *program {
	t.Helper()
	dir := t.TempDir() // app root without local.settings.json
	p := &program{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	env := Env{Args: args, Getenv: func(k string) string { return settings[k] }, Stdin: strings.NewReader(""),
		Stdout: p.stdout, Stderr: p.stderr, Dir: dir}
	go func() { p.done <- Run(ctx, env) }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *program) stop(t *testing.T) {
	t.Helper()
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.cancel = nil
	select {
	case err := <-p.done:
		require.NoError(t, err, "stderr: %s", p.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("the program did not stop within 30s of its context ending")
	}
}

// waitHTTP waits until url answers at all, up to 20 s, and fails at once
// if the program exits. It uses assert.Eventually so that the failure can
// print stderr as it is then.
func waitHTTP(t *testing.T, p *program, url string) {
	t.Helper()
	exited := make(chan error, 1)
	up := assert.Eventually(t, func() bool {
		select {
		case err := <-p.done:
			exited <- err
			return true
		default:
		}
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	}, 20*time.Second, 50*time.Millisecond, "%s answers", url)
	select {
	case err := <-exited:
		t.Fatalf("the program exited: %v\nstderr: %s", err, p.stderr.String())
	default:
	}
	if !up {
		t.Fatalf("%s did not answer; stderr: %s", url, p.stderr.String())
	}
}

// listening waits until the program's output names the address it listens
// on (pattern's first group), and returns it. The program binds a port the
// OS picks (0), so that no other test's server can take it in between.
func listening(t *testing.T, p *program, out func() string, pattern string) string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	var addr string
	assert.Eventually(t, func() bool {
		select {
		case err := <-p.done:
			p.done <- err
			return true
		default:
		}
		if m := re.FindStringSubmatch(out()); m != nil {
			addr = m[1]
			return true
		}
		return false
	}, 20*time.Second, 20*time.Millisecond, "the program says where it listens")
	if addr == "" {
		t.Fatalf("the program did not say where it listens (or exited)\nstdout: %s\nstderr: %s", p.stdout.String(), p.stderr.String())
	}
	return addr
}

// startLocal runs handler local with args on a port the OS picks, and
// returns it with its base URL (http://127.0.0.1:<port>) once it answers.
func startLocal(t *testing.T, settings map[string]string, args ...string) (*program, string) {
	t.Helper()
	p := start(t, settings, append([]string{"local", "--port", "0"}, args...)...)
	base := listening(t, p, p.stdout.String, `CheckoutComplete: \[POST\] (http://127\.0\.0\.1:\d+)/api/CheckoutComplete`)
	waitHTTP(t, p, base+"/api/CheckoutComplete")
	return p, base
}

func signedEvent(t *testing.T, id, typ, session string) ([]byte, string) {
	t.Helper()
	body := fmt.Appendf(nil, `{"id":%q,"object":"event","api_version":"2023-10-16","created":%d,"livemode":false,"type":%q,"data":{"object":{"id":%q,"object":"checkout.session"}}}`,
		id, time.Now().Unix(), typ, session)
	return body, webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: testSecret}).Header
}

func TestServeUnderTheHost(t *testing.T) {
	az := testenv.StartAzurite(t)
	settings := baseSettings(az.ConnectionString, t.TempDir())
	settings["FUNCTIONS_CUSTOMHANDLER_PORT"] = "0" // the host gives a port; here the OS picks one
	p := start(t, settings)
	base := "http://" + listening(t, p, p.stdout.String, `custom handler listening.*addr=(127\.0\.0\.1:\d+)`)
	waitHTTP(t, p, base+"/")

	resp, err := http.Get(base + "/")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
	require.JSONEq(t, `{"status":"ready"}`, string(b))

	// serve creates the missing queues by itself, in the background.
	qs := az.Queues(t)
	exists := func(q string) bool { _, err := qs.Queue(q).Peek(context.Background(), 1); return err == nil }
	require.Eventually(t, func() bool { return exists("send-link-poison") }, 5*time.Second, 50*time.Millisecond, "serve creates the last queue")
	for _, q := range []string{"process-order", "process-order-poison", "send-link", "send-link-poison"} {
		require.True(t, exists(q), "serve created queue %s", q)
	}
	// The webhook is served at the forwarded path; the event is queued.
	body, sig := signedEvent(t, "evt_serve", order.EventCompleted, "cs_test_serve")
	req, _ := http.NewRequest(http.MethodPost, base+"/api/CheckoutComplete", bytes.NewReader(body))
	req.Header.Set("Stripe-Signature", sig)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)

	// An unknown route still answers JSON.
	resp, err = http.Post(base+"/Nope", "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 404, resp.StatusCode)
	require.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
}

func TestLocalWebhookQueuesExactlyOneMessage(t *testing.T) {
	az := testenv.StartAzurite(t)
	// Only the webhook runs, so the message stays on the queue to be looked at.
	p, base := startLocal(t, baseSettings(az.ConnectionString, t.TempDir()), "--functions", "CheckoutComplete")
	url := base + "/api/CheckoutComplete"

	body, sig := signedEvent(t, "evt_local_1", order.EventCompleted, "cs_test_local1")
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Stripe-Signature", sig)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, string(answer))

	msgs, err := az.Queues(t).Queue("process-order").Peek(context.Background(), 32)
	require.NoError(t, err)
	require.Len(t, msgs, 1, "exactly one message")
	raw, err := base64.StdEncoding.DecodeString(msgs[0].Text)
	require.NoError(t, err, "the message text is base64, as the queue trigger expects")
	var m order.ProcessJob
	require.NoError(t, json.Unmarshal(raw, &m))
	require.Equal(t, order.ProcessJob{Version: 1, EventID: "evt_local_1", EventType: order.EventCompleted,
		SessionID: "cs_test_local1", Created: m.Created, Trigger: order.TriggerWebhook}, m)
	require.Contains(t, p.stdout.String(), "/api/CheckoutComplete")
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		settings map[string]string
		wantCode int
		wantErr  string
	}{
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: ExitUsage, wantErr: "unknown command"},
		{name: "serve outside the host", args: nil, settings: map[string]string{}, wantCode: ExitUsage, wantErr: "handler local"},
		{name: "invalid settings name each problem", args: []string{"local"}, settings: map[string]string{"STRIPE_API_KEY": "pk_test_1"},
			wantCode: ExitConfig, wantErr: "STRIPE_WEBHOOK_SECRET is required"},
		{name: "bad flag", args: []string{"local", "--nope"}, wantCode: ExitUsage, wantErr: "flag provided but not defined"},
		{name: "unknown function", args: []string{"local", "--functions", "Nope"}, settings: baseSettings(config.DevelopmentStorage, os.TempDir()),
			wantCode: ExitUsage, wantErr: `no function named "Nope"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := Run(context.Background(), Env{Args: tc.args, Getenv: func(k string) string { return tc.settings[k] },
				Stdout: &stdout, Stderr: &stderr, Dir: t.TempDir()})
			require.ErrorContains(t, err, tc.wantErr)
			var ee *ExitError
			require.ErrorAs(t, err, &ee)
			require.Equal(t, tc.wantCode, ee.Code)
		})
	}
}

func TestHelpExitsCleanly(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"local", "--help"}, {"serve", "-h"}} {
		var out bytes.Buffer
		err := Run(context.Background(), Env{Args: args, Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &out, Dir: t.TempDir()})
		require.NoError(t, err, args)
		require.Contains(t, out.String(), "handler", args)
	}
}

func TestLocalSettingsFileIsRead(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "local.settings.json"),
		[]byte(`{"IsEncrypted":false,"Values":{"FUNCTIONS_WORKER_RUNTIME":"custom","STRIPE_API_KEY":"pk_test_from_file"}}`), 0o600))
	err := Run(context.Background(), Env{Args: []string{"local"}, Getenv: func(string) string { return "" },
		Stdout: io.Discard, Stderr: io.Discard, Dir: dir})
	require.ErrorContains(t, err, "publishable key", "the file's value was read")
	require.NotContains(t, err.Error(), "pk_test_from_file", "values are never echoed")
}
