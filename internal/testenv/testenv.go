// Package testenv starts the real services the tests and scripts/bench run
// against: Azurite (the Azure Storage emulator) and stripe-mock, each on
// 127.0.0.1 with ports the OS chooses, in a folder of its own; in a test,
// a temporary one, and stopped when the test ends. Process starts and stops
// any other program the same way (the bench's handlers).
//
// The binaries come from the project's .tools folder, which scripts/tools.sh
// fills (scripts/test.sh runs it first). A test that needs a service and
// cannot find it fails with a message that says so; it does not skip, unless
// go test runs with -short.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filedrop/filedrop/internal/secret"
	"github.com/filedrop/filedrop/internal/storage"
)

// DevAccountKey is Azurite's well-known development account key.
const DevAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// DevAccountName is Azurite's development account name.
const DevAccountName = "devstoreaccount1"

// Root returns the repository root: the first folder holding go.mod at or
// above the working directory.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for range 20 {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		dir = filepath.Dir(dir)
	}
	return "", errors.New("testenv: go.mod not found above the working directory")
}

// RepoRoot returns Root, or fails the test.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	root, err := Root()
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

// ToolPath returns the path of a tool installed by scripts/tools.sh into
// the repository's .tools folder, or an error that says how to install it.
func ToolPath(rel string) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, ".tools", rel)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("testenv: %s not installed: run scripts/tools.sh (scripts/test.sh does)", rel)
	}
	return p, nil
}

// Tool returns ToolPath, or fails the test (skips it under -short).
func Tool(tb testing.TB, rel string) string {
	tb.Helper()
	p, err := ToolPath(rel)
	if err != nil {
		if testing.Short() {
			tb.Skipf("%v; skipped under -short", err)
		}
		tb.Fatal(err)
	}
	return p
}

// Azurite is a running Azurite.
type Azurite struct {
	BlobURL, QueueURL, TableURL string
	// ConnectionString is the explicit development-storage connection string.
	ConnectionString string
	// Dir holds Azurite's data and its output (azurite.log).
	Dir string

	args []string
	mu   sync.Mutex
	proc *Process
}

const azuriteTool = "node_modules/.bin/azurite"

var listenRE = regexp.MustCompile(`Azurite (Blob|Queue|Table) service is successfully listening at (http://\S+)`)

// StartAzurite starts Azurite for the test and stops it at cleanup.
func StartAzurite(tb testing.TB) *Azurite {
	tb.Helper()
	Tool(tb, azuriteTool)
	a, err := RunAzurite(context.Background(), tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(a.Stop)
	return a
}

// RunAzurite starts Azurite on 127.0.0.1, on ports the OS chooses, with its
// data and output in dir, and returns once it listens. extra are more of
// Azurite's options ("--debug", file: a line per request it serves). The
// caller stops it.
func RunAzurite(ctx context.Context, dir string, extra ...string) (*Azurite, error) {
	bin, err := ToolPath(azuriteTool)
	if err != nil {
		return nil, err
	}
	a := &Azurite{Dir: dir}
	a.args = append([]string{bin, "--silent", "--skipApiVersionCheck", "--disableTelemetry", "--location", dir,
		"--blobHost", "127.0.0.1", "--blobPort", "0",
		"--queueHost", "127.0.0.1", "--queuePort", "0",
		"--tableHost", "127.0.0.1", "--tablePort", "0"}, extra...)
	if err := a.start(ctx, a.args); err != nil {
		return nil, fmt.Errorf("testenv: start azurite: %w", err)
	}
	return a, nil
}

func (a *Azurite) start(ctx context.Context, args []string) error {
	p, err := StartProcess("azurite", a.Dir, filepath.Join(a.Dir, "azurite.log"), nil, args[0], args[1:]...)
	if err != nil {
		return err
	}
	found, err := p.WaitOutput(ctx, listenRE, 3, 60*time.Second)
	if err != nil {
		p.Stop()
		return err
	}
	urls := map[string]string{}
	for _, m := range found {
		urls[m[1]] = m[2] + "/" + DevAccountName
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.proc = p
	a.BlobURL, a.QueueURL, a.TableURL = urls["Blob"], urls["Queue"], urls["Table"]
	a.ConnectionString = fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;QueueEndpoint=%s;TableEndpoint=%s;",
		DevAccountName, DevAccountKey, a.BlobURL, a.QueueURL, a.TableURL)
	return nil
}

// PID is the process id of the running Azurite (0 once stopped).
func (a *Azurite) PID() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.proc == nil {
		return 0
	}
	return a.proc.PID()
}

// Stop stops Azurite (its whole process group). Safe to call twice.
func (a *Azurite) Stop() {
	a.mu.Lock()
	p := a.proc
	a.proc = nil
	a.mu.Unlock()
	if p != nil {
		p.Stop()
	}
}

// Restart stops Azurite and starts it again on the same ports and data
// folder, as an outage would. Data on disk survives.
func (a *Azurite) Restart(tb testing.TB) {
	tb.Helper()
	a.Stop()
	args := append([]string(nil), a.args...)
	for i, v := range args {
		switch v {
		case "--blobPort":
			args[i+1] = portOf(a.BlobURL)
		case "--queuePort":
			args[i+1] = portOf(a.QueueURL)
		case "--tablePort":
			args[i+1] = portOf(a.TableURL)
		}
	}
	var err error
	for range 50 { // the old ports may take a moment to free
		if err = a.start(context.Background(), args); err == nil {
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
	URL  string
	proc *Process
}

var mockListenRE = regexp.MustCompile(`(?m)^Listening for HTTP at address: (127\.0\.0\.1:\d+)$`)

// StartStripeMock starts stripe-mock for the test (see RunStripeMock) and
// stops it at cleanup.
func StartStripeMock(tb testing.TB, fixtures string) *StripeMock {
	tb.Helper()
	Tool(tb, "bin/stripe-mock")
	m, err := RunStripeMock(context.Background(), tb.TempDir(), fixtures)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(m.Stop)
	return m
}

// RunStripeMock starts stripe-mock on loopback, HTTP and HTTPS both on
// ports the system chooses (read back from its output), so that nothing
// started at the same time can take them first, with its output in
// dir/stripe-mock.log. fixtures, when not empty, is a fixtures file that
// replaces stripe-mock's bundled set. The caller stops it.
func RunStripeMock(ctx context.Context, dir, fixtures string) (*StripeMock, error) {
	bin, err := ToolPath("bin/stripe-mock")
	if err != nil {
		return nil, err
	}
	args := []string{"-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0"}
	if fixtures != "" {
		args = append(args, "-fixtures", fixtures)
	}
	p, err := StartProcess("stripe-mock", dir, filepath.Join(dir, "stripe-mock.log"), nil, bin, args...)
	if err != nil {
		return nil, err
	}
	m, err := p.WaitOutput(ctx, mockListenRE, 1, 30*time.Second)
	if err != nil {
		p.Stop()
		return nil, fmt.Errorf("testenv: %w", err)
	}
	return &StripeMock{URL: "http://" + m[0][1], proc: p}, nil
}

// PID is stripe-mock's process id.
func (m *StripeMock) PID() int { return m.proc.PID() }

// Stop stops stripe-mock. Safe to call twice.
func (m *StripeMock) Stop() { m.proc.Stop() }

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
