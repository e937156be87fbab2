// Package testenv starts the real services the tests run against: Azurite
// (the Azure Storage emulator) and stripe-mock, each on 127.0.0.1 with ports
// the OS chooses, in a temporary directory, stopped when the test ends.
//
// The binaries come from the project's .tools folder, which scripts/tools.sh
// fills (scripts/test.sh runs it first). A test that needs a service and
// cannot find it fails with a message that says so; it does not skip, unless
// go test runs with -short.
package testenv

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/filedrop/filedrop/internal/secret"
	"github.com/filedrop/filedrop/internal/storage"
)

// DevAccountKey is Azurite's well-known development account key.
const DevAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// DevAccountName is Azurite's development account name.
const DevAccountName = "devstoreaccount1"

// RepoRoot returns the repository root (the folder holding go.mod).
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for range 20 {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		dir = filepath.Dir(dir)
	}
	tb.Fatal("testenv: go.mod not found above the working directory")
	return ""
}

// Tool returns the path of a tool installed by scripts/tools.sh, or fails the
// test (skips it under -short).
func Tool(tb testing.TB, rel string) string {
	tb.Helper()
	p := filepath.Join(RepoRoot(tb), ".tools", rel)
	if _, err := os.Stat(p); err != nil {
		if testing.Short() {
			tb.Skipf("testenv: %s not installed (run scripts/tools.sh); skipped under -short", rel)
		}
		tb.Fatalf("testenv: %s not installed: run scripts/tools.sh (scripts/test.sh does)", rel)
	}
	return p
}

// Azurite is a running Azurite.
type Azurite struct {
	BlobURL, QueueURL, TableURL string
	// ConnectionString is the explicit development-storage connection string.
	ConnectionString string
	Dir              string

	cmd  *exec.Cmd
	args []string
	mu   sync.Mutex
}

var listenRE = regexp.MustCompile(`Azurite (Blob|Queue|Table) service is successfully listening at (http://\S+)`)

// StartAzurite starts Azurite for the test and stops it at cleanup.
func StartAzurite(tb testing.TB) *Azurite {
	tb.Helper()
	bin := Tool(tb, "node_modules/.bin/azurite")
	a := &Azurite{Dir: tb.TempDir()}
	a.args = []string{bin, "--skipApiVersionCheck", "--disableTelemetry", "--location", a.Dir,
		"--blobHost", "127.0.0.1", "--blobPort", "0",
		"--queueHost", "127.0.0.1", "--queuePort", "0",
		"--tableHost", "127.0.0.1", "--tablePort", "0"}
	if err := a.start(a.args); err != nil {
		tb.Fatalf("testenv: start azurite: %v", err)
	}
	tb.Cleanup(a.Stop)
	return a
}

func (a *Azurite) start(args []string) error {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	urls := map[string]string{}
	found := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var seen []string
		for sc.Scan() {
			line := sc.Text()
			if len(seen) < 40 {
				seen = append(seen, line)
			}
			if m := listenRE.FindStringSubmatch(line); m != nil {
				urls[m[1]] = m[2]
				if len(urls) == 3 {
					found <- nil
					_, _ = io.Copy(io.Discard, out)
					return
				}
			}
		}
		found <- fmt.Errorf("azurite exited before listening: %s", strings.Join(seen, " | "))
	}()
	select {
	case err := <-found:
		if err != nil {
			_ = cmd.Wait()
			return err
		}
	case <-time.After(60 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		return fmt.Errorf("azurite did not listen within 60s")
	}
	a.mu.Lock()
	a.cmd = cmd
	if a.BlobURL == "" {
		a.BlobURL = urls["Blob"] + "/" + DevAccountName
		a.QueueURL = urls["Queue"] + "/" + DevAccountName
		a.TableURL = urls["Table"] + "/" + DevAccountName
		a.ConnectionString = fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;QueueEndpoint=%s;TableEndpoint=%s;",
			DevAccountName, DevAccountKey, a.BlobURL, a.QueueURL, a.TableURL)
	}
	a.mu.Unlock()
	return nil
}

// Stop stops Azurite (its whole process group). Safe to call twice.
func (a *Azurite) Stop() {
	a.mu.Lock()
	cmd := a.cmd
	a.cmd = nil
	a.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// Restart stops Azurite and starts it again on the same ports and data
// folder, as an outage would. Data on disk survives.
func (a *Azurite) Restart(tb testing.TB) {
	tb.Helper()
	a.Stop()
	args := append([]string(nil), a.args...)
	for i, v := range args {
		switch {
		case v == "--blobPort":
			args[i+1] = portOf(a.BlobURL)
		case v == "--queuePort":
			args[i+1] = portOf(a.QueueURL)
		case v == "--tablePort":
			args[i+1] = portOf(a.TableURL)
		}
	}
	var err error
	for range 50 { // the old ports may take a moment to free
		if err = a.start(args); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("testenv: restart azurite: %v", err)
}

func portOf(u string) string {
	s := strings.TrimPrefix(u, "http://")
	s = s[:strings.IndexByte(s, '/')]
	_, p, _ := net.SplitHostPort(s)
	return p
}

// StripeMock is a running stripe-mock.
type StripeMock struct {
	// URL is the API base, e.g. http://127.0.0.1:40123.
	URL string
}

var mockListenRE = regexp.MustCompile(`(?m)^Listening for HTTP at address: (127\.0\.0\.1:\d+)$`)

// StartStripeMock starts stripe-mock on loopback, HTTP and HTTPS both on
// ports the system chooses (read back from its output), so that nothing
// started at the same time can take them first. fixtures, when not empty,
// is a fixtures file that replaces stripe-mock's bundled set.
func StartStripeMock(tb testing.TB, fixtures string) *StripeMock {
	tb.Helper()
	bin := Tool(tb, "bin/stripe-mock")
	args := []string{"-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0"}
	if fixtures != "" {
		args = append(args, "-fixtures", fixtures)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	logf, err := os.Create(filepath.Join(tb.TempDir(), "stripe-mock.log"))
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		cancel()
		tb.Fatalf("testenv: start stripe-mock: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	tb.Cleanup(func() { cancel(); <-exited; _ = logf.Close() })
	// It prints the address once it listens; connections wait in the
	// backlog until it serves.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(logf.Name())
		if m := mockListenRE.FindSubmatch(b); m != nil {
			return &StripeMock{URL: "http://" + string(m[1])}
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(logf.Name())
			tb.Fatalf("testenv: stripe-mock exited before it listened: %s", b)
		case <-time.After(50 * time.Millisecond):
		}
	}
	b, _ := os.ReadFile(logf.Name())
	tb.Fatalf("testenv: stripe-mock did not listen within 30s: %s", b)
	return nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, for
// an address where nothing must listen. A child process told to bind it
// may find it taken by then: let the child choose (port 0) and read back
// what it bound instead, or retry on a collision.
func FreePort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}

// Account returns this Azurite's development account, signed with its key.
func (a *Azurite) Account(tb testing.TB) storage.Account {
	tb.Helper()
	acct, err := storage.NewAccount(storage.Options{AccountName: DevAccountName, AccountKey: secret.Value(DevAccountKey),
		BlobURL: a.BlobURL, QueueURL: a.QueueURL, TableURL: a.TableURL})
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	return acct
}

// Queues returns this Azurite's queue service.
func (a *Azurite) Queues(tb testing.TB) *storage.Queues {
	tb.Helper()
	qs, err := storage.NewQueues(a.Account(tb))
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	return qs
}

// Chromium returns the Chromium (or Chrome) binary the browser tests drive:
// FILEDROP_CHROMIUM when set, else the first of chromium, chromium-browser,
// google-chrome and google-chrome-stable on the PATH. Without one, or under
// -short, it skips the test saying how to get one.
func Chromium(tb testing.TB) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("starts a browser; run without -short")
	}
	if p := os.Getenv("FILEDROP_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	tb.Skip("no Chromium on the PATH: scripts/tools.sh installs it (apt-get install chromium) when run as root, " +
		"or set FILEDROP_CHROMIUM to a Chromium or Chrome binary")
	return ""
}
