package faulttest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/filedrop/filedrop/internal/testenv"
)

// buildHandler builds cmd/handler into dir and returns its path.
func buildHandler(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "handler")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/handler")
	cmd.Dir = testenv.RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the handler: %v\n%s", err, out)
	}
	return bin
}

// runOnce runs the handler binary with args to completion (handler setup).
func runOnce(t testing.TB, bin, dir string, env []string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env = dir, env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("handler %v: %v\n%s", args, err, out)
	}
}

// handlerProc is the handler local process, which the test kills and
// restarts. It runs in its own process group, so a kill takes everything
// it started with it; its output is appended to one log file.
type handlerProc struct {
	bin, dir string
	hold     time.Duration
	env      []string
	// addr is 127.0.0.1:<port> of the webhook: chosen by the OS at the
	// first start (--port 0, read back from the handler's output) and kept
	// for every restart, since the traffic and the mailed links use it.
	addr    string
	log     *os.File
	logPath string

	mu         sync.Mutex
	cmd        *exec.Cmd
	done       chan struct{}
	stopping   bool // the running process is being stopped on purpose
	starts     int
	unexpected []string // exits nobody asked for
}

func newHandlerProc(t testing.TB, bin, dir string, env []string, hold time.Duration, logPath string) *handlerProc {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	h := &handlerProc{bin: bin, dir: dir, env: env, hold: hold, log: f, logPath: logPath}
	t.Cleanup(func() { h.stop(); _ = f.Close() })
	return h
}

// webhookLineRE finds the webhook's address in handler local's output.
var webhookLineRE = regexp.MustCompile(`CheckoutComplete: \[POST\] http://(127\.0\.0\.1:[0-9]+)/api/CheckoutComplete`)

// portTakenRetries bounds how often a restart tries the handler's port
// again while another process holds it: a killed handler's listener is
// gone at once, but an outgoing connection may have taken the port as its
// own local one meanwhile, until it closes.
const portTakenRetries = 100

// start starts the handler and waits until it says where it listens and
// that address accepts connections. The first start lets the OS choose the port; a restart
// binds the same one, and tries again (every 100 ms, bounded) while it is
// taken.
func (h *handlerProc) start() error {
	for try := 0; ; try++ {
		err := h.startOnce()
		if !errors.Is(err, errPortTaken) || try >= portTakenRetries {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// errPortTaken is a start that failed because the port was in use.
var errPortTaken = errors.New("the handler's port is taken")

// startOnce starts the handler once (see start).
func (h *handlerProc) startOnce() error {
	port := "0"
	if h.addr != "" {
		_, port, _ = net.SplitHostPort(h.addr)
	}
	var offset int64
	if fi, err := h.log.Stat(); err == nil {
		offset = fi.Size()
	}
	cmd := exec.Command(h.bin, "local", "--port", port, "--hold", h.hold.String())
	cmd.Dir, cmd.Env = h.dir, h.env
	cmd.Stdout, cmd.Stderr = h.log, h.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	h.mu.Lock()
	if h.cmd != nil {
		h.mu.Unlock()
		return errors.New("the handler is already running")
	}
	if err := cmd.Start(); err != nil {
		h.mu.Unlock()
		return fmt.Errorf("start the handler: %w", err)
	}
	done := make(chan struct{})
	h.cmd, h.done, h.stopping = cmd, done, false
	h.starts++
	n := h.starts
	h.mu.Unlock()
	fmt.Fprintf(h.log, "faulttest: started handler #%d (pid %d)\n", n, cmd.Process.Pid)
	go func() {
		err := cmd.Wait()
		h.mu.Lock()
		if !h.stopping {
			h.unexpected = append(h.unexpected, fmt.Sprintf("handler #%d exited by itself: %v", n, err))
			fmt.Fprintf(h.log, "faulttest: handler #%d exited by itself: %v\n", n, err)
		}
		if h.cmd == cmd {
			h.cmd = nil
		}
		h.mu.Unlock()
		close(done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			if strings.Contains(h.output(offset), "address already in use") {
				// Not a crash of the run's: the start is tried again.
				h.mu.Lock()
				h.unexpected = slices.DeleteFunc(h.unexpected, func(u string) bool { return strings.HasPrefix(u, fmt.Sprintf("handler #%d ", n)) })
				h.mu.Unlock()
				return fmt.Errorf("handler #%d: %w", n, errPortTaken)
			}
			return fmt.Errorf("handler #%d exited during start-up (see its log)", n)
		default:
		}
		// Ready once this start has said where it listens (it says so
		// after binding): a connection alone could reach whoever else
		// holds the port.
		m := webhookLineRE.FindStringSubmatch(h.output(offset))
		if m == nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if h.addr == "" {
			h.addr = m[1]
		}
		if m[1] != h.addr {
			return fmt.Errorf("handler #%d listens on %s, not on %s", n, m[1], h.addr)
		}
		if c, err := net.DialTimeout("tcp", h.addr, 200*time.Millisecond); err == nil {
			_ = c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("handler #%d did not listen within 30s (address %q)", n, h.addr)
}

// output is what the handler's log holds from offset on.
func (h *handlerProc) output(offset int64) string {
	f, err := os.Open(h.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	return string(b)
}

// kill sends SIGKILL to the handler's process group and waits for it to die.
func (h *handlerProc) kill() error { return h.signal(syscall.SIGKILL, 10*time.Second) }

// stop asks the handler to stop (SIGTERM: it lets started invocations
// finish) and kills it if it has not after 20s. It is safe to call when the
// handler is not running.
func (h *handlerProc) stop() {
	if err := h.signal(syscall.SIGTERM, 20*time.Second); err != nil {
		_ = h.kill()
	}
}

func (h *handlerProc) signal(sig syscall.Signal, wait time.Duration) error {
	h.mu.Lock()
	cmd, done := h.cmd, h.done
	h.stopping = true
	h.mu.Unlock()
	if cmd == nil {
		return nil
	}
	fmt.Fprintf(h.log, "faulttest: %v to handler (pid %d)\n", sig, cmd.Process.Pid)
	if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	select {
	case <-done:
		return nil
	case <-time.After(wait):
		return fmt.Errorf("handler (pid %d) still running %s after %v", cmd.Process.Pid, wait, sig)
	}
}

// unexpectedExits returns the exits nobody asked for.
func (h *handlerProc) unexpectedExits() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.unexpected...)
}

// running reports whether the handler process is alive.
func (h *handlerProc) running() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cmd != nil
}
