package faulttest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeHandlerEnv makes this test binary act as handler local (see
// TestMain): it binds --port on 127.0.0.1, says where, and accepts
// connections until it is killed.
const fakeHandlerEnv = "FAULTTEST_FAKE_HANDLER"

func TestMain(m *testing.M) {
	if os.Getenv(fakeHandlerEnv) == "1" {
		os.Exit(fakeHandler(os.Args[1:]))
	}
	if until := os.Getenv(busyEnv); until != "" {
		os.Exit(spin(until))
	}
	os.Exit(m.Run())
}

// fakeHandler takes handler local's arguments ("local --port P --hold H").
func fakeHandler(args []string) int {
	port := ""
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--port" {
			port = args[i+1]
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "handler:", err)
		return 1
	}
	fmt.Printf("CheckoutComplete: [POST] http://%s/api/CheckoutComplete\n", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			return 1
		}
		_ = c.Close()
	}
}

// TestRestartWaitsForItsPort: the first start takes the port the OS
// chooses; a restart binds the same port, and while another process holds
// it, tries again instead of failing the run, without counting the failed
// tries as crashes.
func TestRestartWaitsForItsPort(t *testing.T) {
	bin, err := os.Executable()
	require.NoError(t, err)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "handler.log")
	h := newHandlerProc(t, bin, dir, []string{fakeHandlerEnv + "=1"}, time.Second, logPath)
	require.NoError(t, h.start())
	addr := h.addr
	require.NotEmpty(t, addr)
	require.NotContains(t, addr, ":0")

	require.NoError(t, h.kill())
	squatter, err := net.Listen("tcp", addr)
	require.NoError(t, err, "the killed handler's port is free again")
	started := make(chan error, 1)
	go func() { started <- h.start() }()
	for deadline := time.Now().Add(20 * time.Second); strings.Count(h.output(0), "address already in use") < 2; {
		select {
		case err := <-started:
			t.Fatalf("the restart ended while its port was taken: %v\n%s", err, h.output(0))
		case <-time.After(20 * time.Millisecond):
		}
		require.True(t, time.Now().Before(deadline), "the restart did not try the taken port twice:\n%s", h.output(0))
	}
	require.NoError(t, squatter.Close())
	select {
	case err := <-started:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("the restart did not take its port once it was free")
	}
	require.Equal(t, addr, h.addr, "a restart keeps the address")
	c, err := net.DialTimeout("tcp", addr, time.Second)
	require.NoError(t, err)
	require.NoError(t, c.Close())
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Empty(t, h.unexpected, "tries on a taken port are not crashes")
}
