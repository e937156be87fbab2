// Package e2e runs the project's scripts the way a person does.
package e2e

import (
	"bufio"
	"bytes"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop"
	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/testenv"
)

// TestDemoRun is the README's first command, end to end: scripts/run.sh
// brings up Azurite, stripe-mock with the demo fixtures and handler local;
// a simulated checkout ends as one mail in the outbox whose link downloads
// the demo original; Ctrl-C stops everything the script started.
//
// Every port is 0, so each service binds one the system chooses and the
// script reports: nothing else starting at the same time can take it first.
func TestDemoRun(t *testing.T) {
	root := testenv.RepoRoot(t)
	run := t.TempDir()
	s := startRun(t, root, run, nil)
	select {
	case <-s.ready:
	case <-s.exited:
		t.Fatalf("scripts/run.sh exited before it was ready:\n%s", s.transcript.String())
	case <-time.After(4 * time.Minute):
		t.Fatalf("scripts/run.sh did not come up within 4 minutes:\n%s", s.transcript.String())
	}
	transcript := s.transcript.String()
	require.Contains(t, transcript, "demo mode")
	require.Equal(t, 1, strings.Count(transcript, "Press Ctrl-C to stop."), "said once:\n%s", transcript)
	require.LessOrEqual(t, strings.Count(transcript, "setup: everything already exists"), 1, "said at most once:\n%s", transcript)
	webhook := find(t, transcript, `filedrop is running: webhook at (http://127\.0\.0\.1:\d+/api/CheckoutComplete)`)[0]
	listening := map[string]string{"stripe-mock": find(t, transcript, `stripe-mock on (127\.0\.0\.1:\d+) with`)[0], "handler": strings.TrimPrefix(strings.TrimSuffix(webhook, "/api/CheckoutComplete"), "http://")}
	for i, name := range []string{"azurite blob", "azurite queue", "azurite table"} {
		listening[name] = "127.0.0.1:" + find(t, transcript, `azurite running \(pid \d+\): blob :(\d+), queue :(\d+), table :(\d+)`)[i]
	}

	sim := exec.Command(filepath.Join(run, "handler"), "simulate", "checkout", "--session", "cs_test_demo_harbour", "--url", webhook)
	sim.Dir, sim.Env = root, s.env
	simOut, err := sim.CombinedOutput()
	require.NoError(t, err, string(simOut))
	require.Contains(t, string(simOut), "200 OK")

	// One failed invocation is retried after host.json's visibilityTimeout:
	// the mail may take that long plus the pipeline's own few seconds.
	app, err := functions.LoadApp(filedrop.AppFiles, func(string) string { return "" })
	require.NoError(t, err)
	mails := func() []string {
		files, _ := filepath.Glob(filepath.Join(run, "outbox", "*.eml"))
		return files
	}
	// Not require: on a timeout, the Len below prints the transcript as it is then.
	assert.Eventually(t, func() bool { return len(mails()) > 0 }, app.Queues.VisibilityTimeout+30*time.Second, 100*time.Millisecond, "a mail in the outbox")
	files := mails()
	require.Len(t, files, 1, "one mail in the outbox; transcript:\n%s", s.transcript.String())

	// The order's events reach the demo's receiver, verified, one file each.
	eventsURL, err := os.ReadFile(filepath.Join(run, "events.url"))
	require.NoError(t, err)
	listening["events receiver"] = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(string(eventsURL)), "http://"), "/")
	received := func() map[order.EventType]bool {
		got := map[order.EventType]bool{}
		files, _ := filepath.Glob(filepath.Join(run, "events", "*.json"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			e, err := order.DecodeEvent(data)
			require.NoError(t, err)
			require.Equal(t, "cs_test_demo_harbour", e.Order.SessionID)
			got[e.Type] = true
		}
		return got
	}
	ok := assert.Eventually(t, func() bool {
		got := received()
		return got[order.TypePaid] && got[order.TypeLinksReady] && got[order.TypeMailAccepted]
	}, app.Queues.VisibilityTimeout+30*time.Second, 100*time.Millisecond, "the order's events in the receiver's folder")
	require.True(t, ok, "received %v; transcript:\n%s", received(), s.transcript.String())

	// The mail links to the order page; its Download button is a POST that
	// answers 303 to a short-lived link to the original.
	page := downloadLink(t, files[0])
	resp, err := http.Get(page)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), "harbour-at-dawn.jpg")
	resp, err = http.PostForm(page, url.Values{"file": {"0"}})
	require.NoError(t, err)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	want, err := os.ReadFile(filepath.Join(root, "demo", "originals", "harbour-at-dawn.jpg"))
	require.NoError(t, err)
	require.Equal(t, want, got, "the link downloads the demo original")
	require.Contains(t, resp.Header.Get("Content-Disposition"), `attachment; filename="harbour-at-dawn.jpg"`)

	// A new user refunds the order, watches the page close, reopens it, and
	// then the same with a dispute, with the commands the script printed,
	// in a terminal of their own (another folder, none of the script's
	// settings). The order date is the demo charge's.
	require.Contains(t, string(body), "Order placed on 23 November 2025")
	fresh := t.TempDir()
	runPrinted := func(what string) string {
		t.Helper()
		line := find(t, transcript, `(?m)^  (.*handler `+regexp.QuoteMeta(what)+`.*)$`)[0]
		cmd := exec.Command("bash", "-c", line)
		cmd.Dir = fresh
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "FUNCTIONS_APP_ROOT_PATH=" + fresh}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s\n%s", line, out)
		return string(out)
	}
	pageSays := func(want string) {
		t.Helper()
		var last string
		ok := assert.Eventually(t, func() bool {
			resp, err := http.Get(page)
			if err != nil {
				return false
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(b)
			return strings.Contains(last, want)
		}, app.Queues.VisibilityTimeout+30*time.Second, 100*time.Millisecond, "the order page says %q", want)
		require.True(t, ok, "the page:\n%s\ntranscript:\n%s", last, s.transcript.String())
	}
	const ended, open = "Access to this order has ended", `<button type="submit"`
	require.Contains(t, runPrinted("simulate refund"), "charge.refunded")
	pageSays(ended)
	show := runPrinted("orders show")
	require.Contains(t, show, "refund of ch_demo_harbour", "orders show lists the hold:\n%s", show)
	runPrinted("grant")
	pageSays(open)
	require.Contains(t, runPrinted("simulate dispute --url"), "charge.dispute.created")
	pageSays(ended)
	require.Contains(t, runPrinted("simulate dispute --status won"), "charge.dispute.closed")
	pageSays(open)
	ok = assert.Eventually(t, func() bool {
		got := received()
		return got[order.TypeRefunded] && got[order.TypeAccessRevoked] && got[order.TypeAccessRestored] && got[order.TypeDisputeOpened] && got[order.TypeDisputeClosed]
	}, app.Queues.VisibilityTimeout+30*time.Second, 100*time.Millisecond, "the refund's and the dispute's events")
	require.True(t, ok, "received %v", received())
	require.Contains(t, runPrinted("events list"), "delivered", "events list shows what the receiver took")

	// Ctrl-C: the terminal sends SIGINT to the foreground process group.
	require.NoError(t, syscall.Kill(-s.cmd.Process.Pid, syscall.SIGINT))
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("scripts/run.sh did not stop within 30 s of Ctrl-C:\n%s", s.transcript.String())
	}
	for name, addr := range listening {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			t.Errorf("%s %s still answers after Ctrl-C: something was left running", name, addr)
		}
	}
	_, err = os.Stat(filepath.Join(run, "azurite.pid"))
	require.True(t, os.IsNotExist(err), "the Azurite PID file is removed")
}

// TestRunFailsLoudly: when a service scripts/run.sh starts does not come
// up, the script says which and why, stops what it started and fails; it
// never goes on to say that filedrop is running.
func TestRunFailsLoudly(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{name: "stripe-mock exits", env: map[string]string{"STRIPE_MOCK_PORT": "99999"},
			want: []string{"run.sh: stripe-mock exited before it was ready; the last lines of", "invalid port"}},
		{name: "handler exits", env: map[string]string{"PORT": "99999"},
			want: []string{"run.sh: handler local exited before it was ready", "listen on 127.0.0.1:99999"}},
	}
	root := testenv.RepoRoot(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := t.TempDir()
			s := startRun(t, root, run, tt.env)
			select {
			case <-s.exited:
			case <-time.After(4 * time.Minute):
				t.Fatalf("scripts/run.sh neither failed nor stopped within 4 minutes:\n%s", s.transcript.String())
			}
			transcript := s.transcript.String()
			require.NotZero(t, s.cmd.ProcessState.ExitCode(), transcript)
			for _, w := range tt.want {
				require.Contains(t, transcript, w)
			}
			require.NotContains(t, transcript, "filedrop is running")
			_, err := os.Stat(filepath.Join(run, "azurite.pid"))
			require.True(t, os.IsNotExist(err), "Azurite is stopped:\n%s", transcript)
		})
	}
}

// script is a running scripts/run.sh.
type script struct {
	cmd        *exec.Cmd
	env        []string
	transcript *lockedBuffer
	// ready closes when the script says filedrop is running; exited when
	// the script has ended (cmd.ProcessState is then set).
	ready, exited chan struct{}
}

// startRun starts scripts/run.sh in its own process group with RUN_DIR run,
// no local.settings.json (demo mode whatever the developer has), every port
// 0 unless set in extra, and stops whatever is left at cleanup.
func startRun(t *testing.T, root, run string, extra map[string]string) *script {
	t.Helper()
	testenv.Tool(t, "node_modules/.bin/azurite") // installed by scripts/tools.sh
	vars := map[string]string{"PATH": os.Getenv("PATH"), "HOME": os.Getenv("HOME"), "RUN_DIR": run, "FUNCTIONS_APP_ROOT_PATH": t.TempDir(),
		"PORT": "0", "EVENTS_PORT": "0", "STRIPE_MOCK_PORT": "0", "AZURITE_BLOB_PORT": "0", "AZURITE_QUEUE_PORT": "0", "AZURITE_TABLE_PORT": "0"}
	for _, k := range []string{"GOPATH", "GOCACHE", "GOMODCACHE", "GOFLAGS", "GOPROXY", "TMPDIR"} {
		if v := os.Getenv(k); v != "" {
			vars[k] = v
		}
	}
	maps.Copy(vars, extra)
	s := &script{transcript: &lockedBuffer{}, ready: make(chan struct{}), exited: make(chan struct{})}
	for k, v := range vars {
		s.env = append(s.env, k+"="+v)
	}
	s.cmd = exec.Command("bash", "scripts/run.sh")
	s.cmd.Dir, s.cmd.Env = root, s.env
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := s.cmd.StdoutPipe()
	require.NoError(t, err)
	s.cmd.Stderr = s.cmd.Stdout
	require.NoError(t, s.cmd.Start())
	go func() {
		sc := bufio.NewScanner(out)
		closed := false
		for sc.Scan() {
			s.transcript.WriteString(sc.Text() + "\n")
			if !closed && sc.Text() == "Press Ctrl-C to stop." && strings.Contains(s.transcript.String(), "filedrop is running") {
				close(s.ready)
				closed = true
			}
		}
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.exited
		}
		// Azurite runs in a session of its own (setsid): stop it by its PID
		// file whatever happened to the script.
		stop := exec.Command("bash", "scripts/azurite.sh", "stop")
		stop.Dir, stop.Env = root, s.env
		_ = stop.Run()
	})
	return s
}

// find returns the submatches of the first match of re in s.
func find(t *testing.T, s, re string) []string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	require.NotNil(t, m, "no %s in:\n%s", re, s)
	return m[1:]
}

// lockedBuffer is a transcript written by one goroutine and read by another.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) WriteString(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(s)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var linkRE = regexp.MustCompile(`https?://127\.0\.0\.1:\d+/api/download/[^\s"<>]+`)

// downloadLink returns the order page's link in the mail's plain-text part.
func downloadLink(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	require.NoError(t, err)
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", mt)
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for range 10 {
		part, err := mr.NextPart()
		require.NoError(t, err)
		if strings.HasPrefix(part.Header.Get("Content-Type"), "text/plain") {
			body, err := io.ReadAll(part) // quoted-printable is decoded by NextPart
			require.NoError(t, err)
			link := linkRE.FindString(string(body))
			require.NotEmpty(t, link, "no link in the text part:\n%s", body)
			return link
		}
	}
	t.Fatal("no text/plain part")
	return ""
}
