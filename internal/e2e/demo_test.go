// Package e2e runs the project's scripts the way a person does.
package e2e

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
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

	"github.com/filedrop/filedrop/internal/testenv"
)

// TestDemoRun is the README's first command, end to end: scripts/run.sh
// brings up Azurite, stripe-mock with the demo fixtures and handler local;
// a simulated checkout ends as one mail in the outbox whose link downloads
// the demo original; Ctrl-C stops everything the script started.
func TestDemoRun(t *testing.T) {
	root := testenv.RepoRoot(t)
	testenv.Tool(t, "node_modules/.bin/azurite") // installed by scripts/tools.sh
	run := t.TempDir()
	appRoot := t.TempDir() // no local.settings.json: demo mode whatever the developer has
	ports := map[string]string{
		"PORT": testenv.FreePort(t), "STRIPE_MOCK_PORT": testenv.FreePort(t),
		"AZURITE_BLOB_PORT": testenv.FreePort(t), "AZURITE_QUEUE_PORT": testenv.FreePort(t), "AZURITE_TABLE_PORT": testenv.FreePort(t),
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "RUN_DIR=" + run, "FUNCTIONS_APP_ROOT_PATH=" + appRoot}
	for _, k := range []string{"GOPATH", "GOCACHE", "GOMODCACHE", "GOFLAGS", "GOPROXY", "TMPDIR"} {
		if v := os.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	for k, v := range ports {
		env = append(env, k+"="+v)
	}
	cmd := exec.Command("bash", "scripts/run.sh")
	cmd.Dir, cmd.Env = root, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
		}
		// Azurite runs in a session of its own (setsid): stop it by its PID
		// file whatever happened to the script.
		stop := exec.Command("bash", "scripts/azurite.sh", "stop")
		stop.Dir, stop.Env = root, env
		_ = stop.Run()
	})

	transcript := &lockedBuffer{}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		closed := false
		for sc.Scan() {
			transcript.WriteString(sc.Text() + "\n")
			if !closed && strings.Contains(sc.Text(), "Press Ctrl-C to stop.") && strings.Contains(transcript.String(), "filedrop is running") {
				close(ready)
				closed = true
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(4 * time.Minute):
		t.Fatalf("scripts/run.sh did not come up within 4 minutes:\n%s", transcript.String())
	}
	require.Contains(t, transcript.String(), "demo mode")

	webhook := "http://127.0.0.1:" + ports["PORT"] + "/api/CheckoutComplete"
	sim := exec.Command(filepath.Join(run, "handler"), "simulate", "checkout", "--session", "cs_test_demo_harbour", "--url", webhook)
	sim.Dir, sim.Env = root, env
	simOut, err := sim.CombinedOutput()
	require.NoError(t, err, string(simOut))
	require.Contains(t, string(simOut), "200 OK")

	mails := func() []string {
		files, _ := filepath.Glob(filepath.Join(run, "outbox", "*.eml"))
		return files
	}
	// Not require: on a timeout, the Len below prints the transcript.
	assert.Eventually(t, func() bool { return len(mails()) > 0 }, 20*time.Second, 100*time.Millisecond, "a mail in the outbox")
	files := mails()
	require.Len(t, files, 1, "one mail in the outbox; transcript:\n%s", transcript.String())

	link := downloadLink(t, files[0])
	resp, err := http.Get(link)
	require.NoError(t, err)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	want, err := os.ReadFile(filepath.Join(root, "demo", "originals", "harbour-at-dawn.jpg"))
	require.NoError(t, err)
	require.Equal(t, want, got, "the link downloads the demo original")
	require.Contains(t, resp.Header.Get("Content-Disposition"), `attachment; filename="harbour-at-dawn.jpg"`)

	// Ctrl-C: the terminal sends SIGINT to the foreground process group.
	require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGINT))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		stopped = true
	case <-time.After(30 * time.Second):
		t.Fatalf("scripts/run.sh did not stop within 30 s of Ctrl-C:\n%s", transcript.String())
	}
	for name, p := range ports {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+p, time.Second)
		if err == nil {
			c.Close()
			t.Errorf("%s %s still answers after Ctrl-C: something was left running", name, p)
		}
	}
	_, err = os.Stat(filepath.Join(run, "azurite.pid"))
	require.True(t, os.IsNotExist(err), "the Azurite PID file is removed")
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

var linkRE = regexp.MustCompile(`https?://127\.0\.0\.1:\d+/devstoreaccount1/originals/[^\s"<>]+`)

// downloadLink returns the first download link of the mail's plain-text part.
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
