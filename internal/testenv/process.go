package testenv

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is a program started by StartProcess. It runs in a process group
// of its own, so that Stop also ends whatever it started, and gets SIGTERM
// if the process that started it dies first. Its output goes to a log file.
type Process struct {
	// Name names it in errors; Log is the file its output is appended to.
	Name, Log string

	cmd *exec.Cmd
	// offset is where its own output starts in Log (a restarted program
	// appends to the same file).
	offset int64
	done   chan struct{}
	err    error // from Wait, once done is closed
	stop   sync.Once
}

// StartProcess starts bin with args in dir (this process's folder when
// empty) and environment env (this process's when nil), its output
// appended to logPath.
func StartProcess(name, dir, logPath string, env []string, bin string, args ...string) (*Process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	p := &Process{Name: name, Log: logPath, done: make(chan struct{})}
	if fi, err := logf.Stat(); err == nil {
		p.offset = fi.Size()
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir, p.cmd.Env = dir, env
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// PID is the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Done is closed once the process has ended.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is how the process ended (exec.Cmd.Wait's error); nil while it runs.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Output is what the process has written so far (at most its first MiB).
func (p *Process) Output() string {
	f, err := os.Open(p.Log)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(p.offset, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	return string(b)
}

// Tail is the last n lines of Output, for an error message.
func (p *Process) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.Output(), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// WaitOutput waits, at most limit, until the process's output holds n
// matches of re, and returns them.
func (p *Process) WaitOutput(ctx context.Context, re *regexp.Regexp, n int, limit time.Duration) ([][]string, error) {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if m := re.FindAllStringSubmatch(p.Output(), -1); len(m) >= n {
			return m, nil
		}
		select {
		case <-p.done:
			if m := re.FindAllStringSubmatch(p.Output(), -1); len(m) >= n {
				return m, nil
			}
			return nil, fmt.Errorf("%s exited (%v): %s", p.Name, p.err, p.Tail(20))
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			return nil, fmt.Errorf("%s did not print %q within %s: %s", p.Name, re, limit, p.Tail(20))
		case <-tick.C:
		}
	}
}

// Stop ends the process's group, SIGTERM and then SIGKILL after 5 s, and
// waits for the process. Safe to call more than once.
func (p *Process) Stop() {
	p.stop.Do(func() {
		if p.Exited() {
			return
		}
		_ = syscall.Kill(-p.PID(), syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-p.PID(), syscall.SIGKILL)
			<-p.done
		}
	})
}
