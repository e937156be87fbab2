package cli

import (
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
// whether it did.
func tuneGC(getenv func(string) string) bool {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return false
	}
	debug.SetGCPercent(gcPercent)
	debug.SetMemoryLimit(gcMemoryLimit)
	return true
}
