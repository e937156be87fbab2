package faulttest

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// busyEnv makes this test binary the second process of -fault.busy (see
// TestMain): it spins on every core until the Unix time the variable holds.
const busyEnv = "FAULTTEST_BUSY_UNTIL"

// storageNice is Azurite's nice value in a busy run. Azurite stands in for
// Azure Storage, which runs on other machines: the busy process competes
// with the handler, the fakes and the test, not with the storage service.
const storageNice = -10

// spin keeps every core busy until the Unix time in until.
func spin(until string) int {
	sec, err := strconv.ParseInt(until, 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "busy:", err)
		return 2
	}
	deadline := time.Unix(sec, 0)
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Go(func() {
			x := uint64(1)
			for time.Now().Before(deadline) {
				for range 1 << 20 {
					x = x*6364136223846793005 + 1442695040888963407
				}
			}
			runtime.KeepAlive(x)
		})
	}
	wg.Wait()
	return 0
}

// startBusy starts the second process, which spins on every core until the
// test's deadline or its end, whichever comes first.
func startBusy(t *testing.T) {
	until := time.Now().Add(2 * time.Hour)
	if d, ok := t.Deadline(); ok {
		until = d
	}
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), busyEnv+"="+strconv.FormatInt(until.Unix(), 10))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("busy: %v", err)
	}
	start := time.Now()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if st := cmd.ProcessState; st != nil {
			cpu, wall := st.UserTime()+st.SystemTime(), time.Since(start)
			fmt.Printf("fault test: busy: the second process used %.1f cores over %s\n", cpu.Seconds()/wall.Seconds(), wall.Round(time.Second))
		}
	})
	fmt.Printf("fault test: busy: process %d spins on all %d cores until the end\n", cmd.Process.Pid, runtime.NumCPU())
}

// favourStorage gives the Azurite whose process group is pgid the storage
// service's priority (every thread of it); without the privilege to raise
// it, the run goes on and says so.
func favourStorage(pgid int) {
	if err := syscall.Setpriority(syscall.PRIO_PGRP, pgid, storageNice); err != nil {
		fmt.Printf("fault test: busy: Azurite keeps the busy process's priority (%v)\n", err)
	}
}

// TestSpinEndsAtItsDeadline: the busy process stops by itself at its
// deadline, and refuses a deadline it cannot read.
func TestSpinEndsAtItsDeadline(t *testing.T) {
	for _, tc := range []struct {
		until string
		want  int
	}{
		{strconv.FormatInt(time.Now().Add(-time.Second).Unix(), 10), 0},
		{strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10), 0},
		{"soon", 2},
	} {
		if got := spin(tc.until); got != tc.want {
			t.Errorf("spin(%q) = %d, want %d", tc.until, got, tc.want)
		}
	}
}
