package cli

import (
	"log/slog"
	"runtime"
)

// servingProcs is the handler's GOMAXPROCS in serve mode, unless the
// operator sets GOMAXPROCS.
//
// The handler waits on storage, Stripe and mail far more than it computes,
// and one P runs webhooks far faster than the host forwards them to an
// instance. With spare Ps, every request that wakes the idle process also
// wakes threads that spin looking for work, on the cores the Functions
// host needs too: docs/benchmarks.md measures what that costs a webhook.
// handler local keeps Go's default, as its host emulator runs in the same
// process.
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
