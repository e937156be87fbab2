package cli

import (
	"log/slog"
	"runtime"
	"runtime/debug"
)

// The handler's garbage collector, while it serves invocations (serve and
// handler local), unless the operator sets GOGC or GOMEMLIMIT.
//
// Go's default (GOGC=100) collects whenever the heap doubles. The
// handler's live heap is a few MB, so under webhook load it collected
// every hundred or so webhooks, and the collector was about a tenth of
// the webhook's CPU (docs/benchmarks.md). A Functions instance has 2 or
// 4 GB of memory and bills CPU time: letting the heap grow to five times
// the live heap costs a few MB more and collects a fifth as often, and
// the soft limit makes the collector work harder again long before the
// instance's memory is in reach.
const (
	gcPercent     = 400
	gcMemoryLimit = 512 << 20
)

// tuneGC applies gcPercent and gcMemoryLimit unless GOGC or GOMEMLIMIT is
// set (the runtime has then applied the operator's choice), and reports
// whether it did, to the caller and in a debug line of log.
func tuneGC(getenv func(string) string, log *slog.Logger) bool {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return false
	}
	debug.SetGCPercent(gcPercent)
	debug.SetMemoryLimit(gcMemoryLimit)
	log.Debug("garbage collector tuned for a long-running handler (GOGC or GOMEMLIMIT overrides it)", "GOGC", gcPercent, "GOMEMLIMIT_bytes", gcMemoryLimit)
	return true
}

// servingProcs is the handler's GOMAXPROCS in serve mode, unless the
// operator sets GOMAXPROCS.
//
// The handler waits far more than it computes: a webhook costs about
// 0.3 ms of CPU and an order a few ms, around storage, Stripe and mail
// calls that take milliseconds to seconds. With one P, a single core runs
// some 3,000 webhooks a second, more than one instance is ever sent (the
// host forwards 16 HTTP requests at a time per instance by default). With
// more Ps, every request that wakes the idle process also wakes spare
// threads that spin looking for work, on cores the Functions host (which
// forwards every invocation) needs too: on the bench (docs/benchmarks.md)
// that was a third of the webhook's CPU. handler local keeps the default,
// as its host emulator runs in the same process.
const servingProcs = 1

// tuneProcs sets GOMAXPROCS to servingProcs unless GOMAXPROCS is set, and
// reports whether it did, to the caller and in a debug line of log.
func tuneProcs(getenv func(string) string, log *slog.Logger) bool {
	if getenv("GOMAXPROCS") != "" {
		return false
	}
	runtime.GOMAXPROCS(servingProcs)
	log.Debug("GOMAXPROCS set for serving (the GOMAXPROCS setting overrides it)", "GOMAXPROCS", servingProcs)
	return true
}
