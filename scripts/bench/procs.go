package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a process the benchmark started. Each runs in its own process
// group, so stopping it stops anything it spawned, and gets SIGTERM if the
// benchmark itself dies (Pdeathsig).
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  string // its output, for a failure message
	// offset is where its own output starts in log (children may share
	// one).
	offset int64
	err    error // from Wait, once done is closed
}

// children are every process the benchmark started and has not stopped yet.
type children struct {
	mu   sync.Mutex
	list []*child
}

// start starts name with args in dir, its output appended to logPath.
func (cs *children) start(name, dir, logPath string, env []string, bin string, args ...string) (*child, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	var offset int64
	if fi, err := logf.Stat(); err == nil {
		offset = fi.Size()
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{}), log: logPath, offset: offset}
	go func() {
		c.err = cmd.Wait()
		logf.Close()
		close(c.done)
	}()
	cs.mu.Lock()
	cs.list = append(cs.list, c)
	cs.mu.Unlock()
	return c, nil
}

// pid is the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// exited reports whether the child has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// tail returns the last lines of the child's output.
func (c *child) tail(n int) string {
	b, _ := os.ReadFile(c.log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// stop ends the child's process group by its PID: SIGTERM, then SIGKILL
// after grace.
func (cs *children) stop(c *child, grace time.Duration) {
	if !c.exited() {
		_ = syscall.Kill(-c.pid(), syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(grace):
			_ = syscall.Kill(-c.pid(), syscall.SIGKILL)
			<-c.done
		}
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for i, o := range cs.list {
		if o == c {
			cs.list = append(cs.list[:i], cs.list[i+1:]...)
			break
		}
	}
}

// stopAll stops every child still running, the last started first.
func (cs *children) stopAll() {
	cs.mu.Lock()
	list := append([]*child(nil), cs.list...)
	cs.mu.Unlock()
	for i := len(list) - 1; i >= 0; i-- {
		cs.stop(list[i], 5*time.Second)
	}
}

// azurite is a running Azurite and its connection string.
type azurite struct {
	*child
	connString string
	queueURL   string
}

var listenRE = regexp.MustCompile(`Azurite (Blob|Queue|Table) service is successfully listening at (http://\S+)`)

// startAzurite starts Azurite on 127.0.0.1 with its data in dataDir. A port
// of 0 lets the OS choose; the chosen ports are read from its output.
func (cs *children) startAzurite(ctx context.Context, bin, dataDir, logPath string, ports [3]int, extra ...string) (*azurite, error) {
	args := []string{"--silent", "--skipApiVersionCheck", "--disableTelemetry", "--location", dataDir,
		"--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(ports[0]),
		"--queueHost", "127.0.0.1", "--queuePort", fmt.Sprint(ports[1]),
		"--tableHost", "127.0.0.1", "--tablePort", fmt.Sprint(ports[2])}
	args = append(args, extra...)
	c, err := cs.start("azurite", dataDir, logPath, childEnv(nil), bin, args...)
	if err != nil {
		return nil, err
	}
	urls := map[string]string{}
	deadline := time.Now().Add(60 * time.Second)
	for len(urls) < 3 {
		if c.exited() {
			return nil, fmt.Errorf("azurite exited: %s", c.tail(20))
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("azurite did not listen within 60s: %s", c.tail(20))
		}
		time.Sleep(50 * time.Millisecond)
		f, err := os.Open(logPath)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				urls[m[1]] = m[2] + "/" + devAccount
			}
		}
		f.Close()
	}
	return &azurite{child: c, queueURL: urls["Queue"],
		connString: fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;QueueEndpoint=%s;TableEndpoint=%s;",
			devAccount, devKey, urls["Blob"], urls["Queue"], urls["Table"])}, nil
}

// Azurite's well-known development account.
const (
	devAccount = "devstoreaccount1"
	devKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

var mockListenRE = regexp.MustCompile(`(?m)^Listening for HTTP at address: (127\.0\.0\.1:\d+)$`)

// startStripeMock starts stripe-mock with fixtures on loopback ports the
// system chooses (HTTPS too: nothing can take them first) and returns its
// API base URL, read back from its output.
func (cs *children) startStripeMock(ctx context.Context, bin, fixtures, dir, logPath string) (string, *child, error) {
	c, err := cs.start("stripe-mock", dir, logPath, childEnv(nil), bin,
		"-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0", "-fixtures", fixtures)
	if err != nil {
		return "", nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		b, _ := os.ReadFile(logPath)
		if m := mockListenRE.FindSubmatch(b); m != nil {
			return "http://" + string(m[1]), c, nil
		}
		if c.exited() {
			return "", nil, fmt.Errorf("stripe-mock exited: %s", c.tail(20))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "", nil, fmt.Errorf("stripe-mock did not listen within 30s: %s", c.tail(20))
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// Another process may take it before a child binds it: whoever uses it
// must start again on another port when the child says so (portTaken).
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// portTaken reports whether the child ended because its port was taken.
func (c *child) portTaken() bool {
	return c.exited() && strings.Contains(c.output(), "address already in use")
}

// output is what the child has written so far.
func (c *child) output() string {
	f, err := os.Open(c.log)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(c.offset, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	return string(b)
}

// listening waits until the child's own output matches re, whose first
// group is the address it listens on, and returns that address. Children
// that serve are started on port 0 and say where the OS put them, so that
// no port is picked here and released for a child to bind later.
func (c *child) listening(ctx context.Context, re *regexp.Regexp, limit time.Duration) (string, error) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if m := re.FindStringSubmatch(c.output()); m != nil {
			return m[1], nil
		}
		if c.exited() {
			return "", fmt.Errorf("%s exited: %s", c.name, c.tail(20))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s did not say where it listens within %s: %s", c.name, limit, c.tail(20))
}

// Where the handler says it listens: serve mode's log line (text or JSON
// logs), the profiler's, and handler local's webhook URL.
var (
	serveListenRE = regexp.MustCompile(`custom handler listening.*addr"?[=:]"?(127\.0\.0\.1:[0-9]+)`)
	pprofListenRE = regexp.MustCompile(`pprof listening.*addr"?[=:]"?(127\.0\.0\.1:[0-9]+)`)
	localListenRE = regexp.MustCompile(`CheckoutComplete: \[POST\] http://(127\.0\.0\.1:[0-9]+)/`)
)

// waitHTTP waits until GET url answers at all (any status), as the
// Functions host's readiness check does.
func waitHTTP(ctx context.Context, c *child, url string, limit time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if c.exited() {
			return fmt.Errorf("%s exited: %s", c.name, c.tail(20))
		}
		if resp, err := client.Get(url); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return fmt.Errorf("%s did not answer %s within %s: %s", c.name, url, limit, c.tail(20))
}

// childEnv is the environment of a child: PATH and HOME from ours, then
// settings. Nothing else leaks in, so a developer's own Stripe key or
// storage connection can never reach the benchmark's processes.
func childEnv(settings map[string]string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range settings {
		env = append(env, k+"="+v)
	}
	return env
}

// procStatus reads a field of /proc/<pid>/status in kB (VmRSS, VmHWM).
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", fmt.Sprint(pid), "status"))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			var kb int64
			if _, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb); err != nil {
				return 0, err
			}
			return kb, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}

// cpuTime is the user+system CPU time a process has used so far, from
// /proc/<pid>/stat (in clock ticks of 10 ms, as on every Linux/amd64).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join("/proc", fmt.Sprint(pid), "stat"))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; the fields after it do not.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc stat format")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("unexpected /proc stat format")
	}
	var utime, stime int64
	if _, err := fmt.Sscan(f[11], &utime); err != nil {
		return 0, err
	}
	if _, err := fmt.Sscan(f[12], &stime); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// machineBusy is the CPU time all processors have spent not idle since
// boot, from /proc/stat.
func machineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, errors.New("unexpected /proc/stat format")
	}
	var busy int64
	for i, v := range f[1:8] { // user nice system idle iowait irq softirq
		var n int64
		if _, err := fmt.Sscan(v, &n); err != nil {
			return 0, err
		}
		if i != 3 && i != 4 {
			busy += n
		}
	}
	return time.Duration(busy) * 10 * time.Millisecond, nil
}
