package main

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"
)

// transactions is what the storage transactions phase counted: every call
// Azurite served while handler local (host emulator included) took paid
// orders from the webhook to the mail, one at a time.
type transactions struct {
	Orders, Mails int
	// Ops counts Azurite's operations by name over the run (start-up and
	// handler setup excluded; the emulator's queue polls included).
	Ops map[string]int
	// CPU is handler local's CPU time over the run (its polling included).
	CPU     time.Duration
	Elapsed time.Duration
	Err     string
}

// operationRE finds the operation in Azurite's debug log: its dispatch
// middleware writes one "Operation=<name>" line per request it serves.
var operationRE = regexp.MustCompile(`Operation=([A-Za-z_]+)`)

// countOperations counts the operations in Azurite's debug log at path.
func countOperations(path string) (map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		if m := operationRE.FindSubmatch(sc.Bytes()); m != nil {
			n[string(m[1])]++
		}
	}
	return n, sc.Err()
}

// transactionsPhase runs n paid orders, one after the other's mail,
// through handler local against an Azurite of its own that logs every
// request (--debug: too slow for the timed phases), and counts the storage
// operations and the handler's CPU.
func (b *bench) transactionsPhase(ctx context.Context, rep *report) error {
	n := b.o.transactions
	if n == 0 {
		return nil
	}
	b.step("then storage transactions: %d paid orders through handler local, against an Azurite with --debug", n)
	dir := filepath.Join(filepath.Dir(b.logs), "azurite-tx")
	outbox := filepath.Join(filepath.Dir(b.logs), "outbox-tx")
	for _, d := range []string{dir, outbox} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	debugLog := filepath.Join(b.logs, "azurite-tx-debug.log")
	az, err := b.cs.startAzurite(ctx, b.o.abs(".tools", "node_modules", ".bin", "azurite"), dir, filepath.Join(b.logs, "azurite-tx.log"),
		[3]int{}, "--debug", debugLog)
	if err != nil {
		return err
	}
	defer b.cs.stop(az.child, 10*time.Second)
	settings := maps.Clone(b.settings)
	settings["AzureWebJobsStorage"], settings["EMAIL_OUTBOX_DIR"] = az.connString, outbox
	if err := b.cs.runToEnd(ctx, "handler setup (transactions)", b.app, filepath.Join(b.logs, "setup-tx.log"), childEnv(settings), 60*time.Second,
		b.o.handler, "setup", "--originals", b.o.abs("demo", "originals")); err != nil {
		return err
	}
	local, url, err := startLocal(ctx, b.cs, b.o.handler, b.app, filepath.Join(b.logs, "local-tx.log"), settings, "")
	if err != nil {
		return err
	}
	before, err := countOperations(debugLog)
	if err != nil {
		b.cs.stop(local, 10*time.Second)
		return err
	}
	cpuBefore, _ := cpuTime(local.pid())
	run := isolated(ctx, url, outbox, fmt.Sprintf("tx%x", time.Now().Unix()), b.ev, n, 0, 30*time.Second)
	cpuAfter, _ := cpuTime(local.pid())
	after, err := countOperations(debugLog)
	b.cs.stop(local, 10*time.Second)
	if err != nil {
		return err
	}
	t := transactions{Orders: n, Mails: run.Requests - run.Errors, Ops: map[string]int{}, CPU: cpuAfter - cpuBefore, Elapsed: run.Elapsed, Err: run.FirstError}
	for op, c := range after {
		if d := c - before[op]; d > 0 {
			t.Ops[op] = d
		}
	}
	rep.transactions = &t
	return nil
}

// sortedOps returns the operation names, most frequent first.
func (t *transactions) sortedOps() []string {
	ops := slices.Collect(maps.Keys(t.Ops))
	slices.SortFunc(ops, func(a, b string) int {
		if t.Ops[a] != t.Ops[b] {
			return t.Ops[b] - t.Ops[a]
		}
		if a < b {
			return -1
		}
		return 1
	})
	return ops
}
