package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// pprofSetting names the setting that exposes net/http/pprof, for profiling
// the handler under load (docs/benchmarks.md says how). It is off unless set,
// and only a loopback address is accepted: a profile shows the program's
// internals and costs CPU, so it is for a developer's own machine.
const pprofSetting = "FILEDROP_PPROF"

// pprofListener validates addr (FILEDROP_PPROF: host:port with a loopback
// IP, port 0 for any) and listens on it; nil, nil when addr is empty.
func pprofListener(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, usageErr("%s=%q: want a loopback address and port, such as 127.0.0.1:6060 (%v)", pprofSetting, addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, usageErr("%s=%q: the profiler listens on a loopback IP only, such as 127.0.0.1:6060", pprofSetting, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s %s: %w", pprofSetting, addr, err)
	}
	return ln, nil
}

// pprofHandler serves net/http/pprof's pages under /debug/pprof/, on a mux
// of its own (never the function port's).
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// startPprof serves the profiler on the address in FILEDROP_PPROF until ctx
// is done; it does nothing when the setting is empty.
func startPprof(ctx context.Context, addr string, log *slog.Logger) error {
	ln, err := pprofListener(addr)
	if err != nil || ln == nil {
		return err
	}
	srv := &http.Server{Handler: pprofHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	log.Info("pprof listening; do not set "+pprofSetting+" in production", "addr", ln.Addr().String())
	return nil
}
