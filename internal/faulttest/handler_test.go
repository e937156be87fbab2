package faulttest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
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
	args     []string
	env      []string
	addr     string // 127.0.0.1:<port> of the webhook
	log      *os.File

	mu         sync.Mutex
	cmd        *exec.Cmd
	done       chan struct{}
	stopping   bool // the running process is being stopped on purpose
	starts     int
	unexpected []string // exits nobody asked for
}

func newHandlerProc(t testing.TB, bin, dir string, env []string, port string, hold time.Duration, logPath string) *handlerProc {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	h := &handlerProc{bin: bin, dir: dir, env: env, addr: "127.0.0.1:" + port, log: f,
		args: []string{"local", "--port", port, "--hold", hold.String()}}
	t.Cleanup(func() { h.stop(); _ = f.Close() })
	return h
}

// start starts the handler and waits until its webhook port accepts
// connections.
func (h *handlerProc) start() error {
	cmd := exec.Command(h.bin, h.args...)
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
			return fmt.Errorf("handler #%d exited during start-up (see its log)", n)
		default:
		}
		if c, err := net.DialTimeout("tcp", h.addr, 200*time.Millisecond); err == nil {
			_ = c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("handler #%d did not listen on %s within 30s", n, h.addr)
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
