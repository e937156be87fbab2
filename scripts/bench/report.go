package main

import (
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// machine describes where the run happened.
type machine struct {
	cpu, kernel, memory string
	cores               int
	azurite, node, mock string
	loadStart, loadEnd  string
}

func readMachine(o options) machine {
	m := machine{cores: runtime.NumCPU(), cpu: "unknown CPU", loadStart: loadAverage()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			}
		}
		m.memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
	}
	var pkg struct{ Version string }
	if b, err := os.ReadFile(o.abs(".tools", "node_modules", "azurite", "package.json")); err == nil && json.Unmarshal(b, &pkg) == nil {
		m.azurite = pkg.Version
	}
	if out, err := exec.Command("node", "--version").Output(); err == nil {
		m.node = strings.TrimSpace(string(out))
	}
	// scripts/tools.sh leaves a stamp named for the version it installed.
	if stamps, _ := filepath.Glob(o.abs(".tools", "bin", ".stripe-mock-*")); len(stamps) == 1 {
		m.mock = strings.TrimPrefix(filepath.Base(stamps[0]), ".stripe-mock-")
	}
	return m
}

// loadAverage is the 1-, 5- and 15-minute load average.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// binary describes the measured handler.
type binary struct {
	size  int64
	build string
}

func readBinary(path string) (binary, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return binary{}, fmt.Errorf("-handler: %w", err)
	}
	b := binary{size: fi.Size()}
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return binary{}, fmt.Errorf("-handler %s is not a Go binary: %w", path, err)
	}
	var flags []string
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	for _, k := range []string{"GOOS", "GOARCH", "CGO_ENABLED", "-trimpath", "-ldflags"} {
		if v, ok := settings[k]; ok {
			flags = append(flags, k+"="+v)
		}
	}
	b.build = info.GoVersion + ", " + strings.Join(flags, " ")
	return b, nil
}

// markdown renders the report.
func (r *report) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m := r.machine
	p("## Load, latency and start-up (`scripts/bench.sh`)\n\n")
	p("- Run: %s, %s; command: `%s`\n", r.started.UTC().Format("2006-01-02 15:04 MST"), r.elapsed.Round(time.Second),
		strings.TrimSpace("scripts/bench.sh "+strings.Join(r.opts.args, " ")))
	p("- Machine: %s, %d cores, %s, Linux %s; load average (1, 5, 15 min) %s at the start, %s at the end\n",
		m.cpu, m.cores, m.memory, m.kernel, m.loadStart, m.loadEnd)
	p("- Handler: %s, %.1f MB; Azurite %s on Node %s (on disk, `--silent`); stripe-mock %s\n",
		r.binary.build, float64(r.binary.size)/1e6, orQ(m.azurite), orQ(m.node), orQ(m.mock))
	p("- Everything on 127.0.0.1, client and servers on the same %d cores.\n\n", m.cores)

	p("### 1. Enqueue ceiling: storage SDK to Azurite\n\n")
	p("`storage.Queue.Send` (azqueue, base64) of the webhook's own order message, %d per level in each of %d rounds"+
		" interleaved with the serve-mode webhook's (2), after a warm-up; the rounds are pooled here."+
		" CPU in cores (of %d); *others* is the rest of the machine meanwhile.\n\n", r.opts.enqueue, r.opts.rounds, m.cores)
	p("| concurrency | msg/s | p50 | p99 | max | errors | Azurite CPU | bench CPU | others |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, l := range r.enqueue {
		p("| %d | %.0f | %s | %s | %s | %d | %s | %s | %s |\n", l.Concurrency, l.Rate(), ms(l.Pct(50)), ms(l.Pct(99)), ms(l.Max()),
			l.Errors, cores(l.CPU, "azurite"), cores(l.CPU, "bench"), cores(l.CPU, "others"))
	}
	p("\n### 2. Webhook: signed checkout.session.completed\n\n")
	p("%d events of %.1f KB per level (serve mode: in each of %d rounds, pooled), each unique and signed just before the level starts (so that signing does not compete with the handler), POSTed with keep-alive;"+
		" the handler verifies, enqueues (as in 1) and answers 200. *of ceiling* compares req/s with 1 at the same concurrency.\n",
		r.opts.requests, float64(r.eventBytes)/1000, r.opts.rounds)
	for _, run := range r.webhook {
		p("\n%s:\n\n", run.Name)
		p("| concurrency | req/s | p50 | p99 | max | errors | of ceiling | handler CPU | Azurite CPU | bench CPU | others | handler peak RSS |\n")
		p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, l := range run.Levels {
			ratio := "-"
			for _, e := range r.enqueue {
				if e.Concurrency == l.Concurrency && e.Rate() > 0 {
					ratio = fmt.Sprintf("%.0f %%", 100*l.Rate()/e.Rate())
				}
			}
			p("| %d | %.0f | %s | %s | %s | %d | %s | %s | %s | %s | %s | %s |\n", l.Concurrency, l.Rate(), ms(l.Pct(50)), ms(l.Pct(99)), ms(l.Max()),
				l.Errors, ratio, cores(l.CPU, "handler"), cores(l.CPU, "azurite"), cores(l.CPU, "bench"), cores(l.CPU, "others"), mb(l.PeakRSS))
		}
	}
	p("\n### 3. End to end: webhook to mail in the outbox (paid orders)\n\n")
	p("From the webhook's POST to the `.eml` file's modification time, through ProcessOrder (stripe-mock, ledger, blob check, SAS links)" +
		" and SendLink (render, outbox). The host emulator polls each queue with host.json's back-off (maxPollingInterval 2 s).\n\n")
	p("| run | orders | p50 | p99 | max | missing | mails/s | handler CPU | Azurite CPU | stripe-mock CPU | others | handler peak RSS |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, e := range r.e2e {
		rate, cpuH, cpuA, cpuS, cpuO, rss := "-", "-", "-", "-", "-", "-"
		if e.OrdersPerSecond > 0 {
			rate = fmt.Sprintf("%.1f", e.Rate())
			cpuH, cpuA, cpuS, cpuO, rss = cores(e.CPU, "handler"), cores(e.CPU, "azurite"), cores(e.CPU, "stripe-mock"), cores(e.CPU, "others"), mb(e.PeakRSS)
		}
		p("| %s | %d | %s | %s | %s | %d | %s | %s | %s | %s | %s | %s |\n", e.Name, e.Requests, ms(e.Pct(50)), ms(e.Pct(99)), ms(e.Max()),
			e.Errors, rate, cpuH, cpuA, cpuS, cpuO, rss)
	}
	p("\n### 4. Start-up and memory\n\n| measure | value |\n|---|---|\n")
	c := r.cold
	p("| cold start: exec to first 200 on `GET /`, serve mode (%d runs) | p50 %s, min %s, max %s |\n",
		c.Requests, ms(c.Pct(50)), ms(c.min()), ms(c.Max()))
	p("| resident memory idle, serve mode (median) | %s |\n", mb(c.IdleRSS))
	p("| resident memory idle, handler local (with the host emulator) | %s |\n", mb(r.localIdleRSS))
	for _, run := range r.webhook {
		var peak int64
		var at int
		for _, l := range run.Levels {
			if l.PeakRSS > peak {
				peak, at = l.PeakRSS, l.Concurrency
			}
		}
		p("| resident memory peak, webhook load at concurrency %d: %s | %s |\n", at, run.Name, mb(peak))
	}
	for _, e := range r.e2e {
		if e.PeakRSS > 0 {
			p("| resident memory peak, end to end (%s) | %s |\n", e.Name, mb(e.PeakRSS))
		}
	}
	p("| binary size (%s) | %.1f MB |\n", r.binary.build, float64(r.binary.size)/1e6)
	if t := r.transactions; t != nil && t.Orders > 0 {
		p("\n### 5. Storage transactions per paid order\n\n")
		p("%d paid orders, each sent after the last one's mail, through handler local (the host emulator polls the queues as the host does)"+
			" against an Azurite of their own that logs every request (`--debug`); %d mails in %s. Every operation Azurite served meanwhile,"+
			" the emulator's polls of the queues included; the handler's CPU meanwhile %s, %s per order (polling included).\n\n",
			t.Orders, t.Mails, t.Elapsed.Round(time.Millisecond), t.CPU.Round(time.Millisecond), ms(t.CPU/time.Duration(t.Orders)))
		p("| operation | count | per order |\n|---|---:|---:|\n")
		total := 0
		for _, op := range t.sortedOps() {
			p("| %s | %d | %.2f |\n", op, t.Ops[op], float64(t.Ops[op])/float64(t.Orders))
			total += t.Ops[op]
		}
		p("| **all** | %d | %.2f |\n", total, float64(total)/float64(t.Orders))
	}
	if r.stages != nil {
		r.stages.markdown(p, r.medianWebhookCPU())
	}
	r.pagesMarkdown(p)
	r.targets(p)
	if pr := r.profile; pr != nil {
		p("\n### Profile (-pprof)\n\n")
		p("The handler in serve mode under its own webhook load at concurrency %d, %d webhooks in %d s, after the measured levels:\n\n",
			pr.Concurrency, pr.Webhooks, pr.Seconds)
		p("- CPU: `%s` (`go tool pprof -top %s`)\n", pr.CPU, pr.CPU)
		p("- allocations meanwhile: `go tool pprof -sample_index=alloc_space -top -base %s %s`\n", pr.AllocsBefore, pr.AllocsAfter)
		if pr.Webhooks > 0 {
			p("- the handler's CPU time meanwhile (/proc): %s, %s per webhook\n", pr.ProcessCPU.Round(time.Millisecond), ms(pr.ProcessCPU/time.Duration(pr.Webhooks)))
		}
		if pr.BreakdownErr != "" {
			p("- no breakdown: %s\n", pr.BreakdownErr)
		}
		if n := len(pr.Shares); n > 0 && pr.Shares[n-1].Value > 0 && pr.Webhooks > 0 {
			total := pr.Shares[n-1].Value
			p("\nCPU samples by category (each sample counted once, in the first category in this order that any frame of its stack falls in):\n\n")
			p("| category | share | per webhook |\n|---|---:|---:|\n")
			for _, s := range pr.Shares {
				p("| %s | %.1f %% | %.0f µs |\n", s.Name, 100*float64(s.Value)/float64(total), float64(s.Value)/float64(pr.Webhooks)/1e3)
			}
		}
	}
	var errs []string
	for _, l := range r.enqueue {
		if l.FirstError != "" {
			errs = append(errs, fmt.Sprintf("enqueue, concurrency %d: %s", l.Concurrency, l.FirstError))
		}
	}
	for _, run := range r.webhook {
		for _, l := range run.Levels {
			if l.FirstError != "" {
				errs = append(errs, fmt.Sprintf("%s, concurrency %d: %s", run.Name, l.Concurrency, l.FirstError))
			}
		}
	}
	for _, e := range r.e2e {
		if e.FirstError != "" {
			errs = append(errs, e.Name+": "+e.FirstError)
		}
	}
	for _, run := range r.pages {
		for _, l := range run.Levels {
			if l.FirstError != "" {
				errs = append(errs, fmt.Sprintf("order page %s, concurrency %d: %s", run.Method, l.Concurrency, l.FirstError))
			}
		}
	}
	if t := r.transactions; t != nil && t.Err != "" {
		errs = append(errs, "storage transactions: "+t.Err)
	}
	if s := r.stages; s != nil && s.Err != "" {
		errs = append(errs, "CPU per stage: "+s.Err)
	}
	if len(errs) > 0 {
		p("\nFirst errors:\n")
		for _, e := range errs {
			p("- %s\n", e)
		}
	}
	return b.String()
}

// failures counts the failed requests and missing mails of every phase.
func (r *report) failures() int {
	n := 0
	for _, l := range r.enqueue {
		n += l.Errors
	}
	for _, run := range r.webhook {
		for _, l := range run.Levels {
			n += l.Errors
		}
	}
	for _, e := range r.e2e {
		n += e.Errors
	}
	if t := r.transactions; t != nil {
		n += t.Orders - t.Mails
	}
	if s := r.stages; s != nil {
		n += s.Orders - s.Mails
	}
	for _, run := range r.pages {
		for _, l := range run.Levels {
			n += l.Errors
		}
	}
	return n
}

func (r result) min() time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[0]
}

// ms writes a latency in milliseconds, with a precision that suits it.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case d == 0:
		return "-"
	case v < 10:
		return fmt.Sprintf("%.2f ms", v)
	case v < 1000:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.0f ms", v)
	}
}

// cores writes the CPU a process used, in cores.
func cores(u usage, name string) string {
	c, ok := u[name]
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.2f", c)
}

func mb(kb int64) string {
	if kb == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MB", float64(kb)*1024/1e6)
}

func orQ(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

// perOp is a process's CPU time per successful request of l, or 0.
func perOp(l level, name string) time.Duration {
	ok := l.Requests - l.Errors
	if ok <= 0 {
		return 0
	}
	return time.Duration(l.CPU[name] * float64(l.Elapsed) / float64(ok))
}

// Issue 16's targets, printed beside what this run measured (never
// checked: a timing on a shared machine is not a failure).
const (
	targetCPUPerWebhook = 450 * time.Microsecond
	targetCPUOverSDK    = 100 * time.Microsecond
	targetThroughput    = 0.90
	targetP99           = 1.25
	targetIdleRSS       = 20_000_000 / 1024 // kB: 20 MB
	targetReady         = 20 * time.Millisecond
)

// targets prints each webhook level against the enqueue ceiling at the same
// concurrency, and start-up and memory, against issue 16's targets.
func (r *report) targets(p func(format string, args ...any)) {
	p("\n### Against the targets (issue 16)\n\n")
	p("CPU per webhook is the handler's CPU time (user+sys) over the level divided by the webhooks answered;"+
		" the SDK's own is the bench process's CPU per message in the enqueue ceiling at the same concurrency (client side only; the bench ran with GOMAXPROCS=%d, the handler in serve mode with its own default of 1 unless -handler-env set it)."+
		" Targets: CPU per webhook ≤ %s and ≤ the SDK's + %s; throughput ≥ %.0f %% of the ceiling; p99 ≤ %.2f × the ceiling's."+
		" ✓ or ✗ against the target; a timing never fails the run.\n",
		runtime.GOMAXPROCS(0), ms(targetCPUPerWebhook), ms(targetCPUOverSDK), 100*targetThroughput, targetP99)
	mark := func(ok bool) string {
		if ok {
			return "✓"
		}
		return "✗"
	}
	for ri, run := range r.webhook {
		p("\n%s:\n\n", run.Name)
		rounds := ri == 0 && len(r.rounds) == len(run.Levels)
		if rounds {
			p("Every request of the %d interleaved rounds: throughput is all of a level's requests over all its time, p99 is over all of them;"+
				" the last column lists each round's own throughput and p99 ratios, to show the spread.\n\n", len(r.rounds[0]))
			p("| concurrency | CPU per webhook | SDK enqueue CPU | webhook − SDK | throughput of ceiling | p99 / ceiling's p99 | rounds: throughput, p99 ratio |\n")
			p("|---:|---:|---:|---:|---:|---:|---|\n")
		} else {
			p("| concurrency | CPU per webhook | SDK enqueue CPU | webhook − SDK | throughput of ceiling | p99 / ceiling's p99 |\n")
			p("|---:|---:|---:|---:|---:|---:|\n")
		}
		for i, l := range run.Levels {
			var e *level
			for j := range r.enqueue {
				if r.enqueue[j].Concurrency == l.Concurrency {
					e = &r.enqueue[j]
				}
			}
			cells := targetCells(l, e, mark)
			if rounds {
				cells += " " + roundRatios(r.rounds[i]) + " |"
			}
			p("| %d | %s\n", l.Concurrency, cells)
		}
	}
	c := r.cold
	p("\nIdle RSS (serve mode, median) %s %s (target ≤ %s); ready (exec to first 200, p50) %s %s (target ≤ %s).\n",
		mb(c.IdleRSS), mark(c.IdleRSS > 0 && c.IdleRSS <= targetIdleRSS), mb(targetIdleRSS),
		ms(c.Pct(50)), mark(c.Pct(50) > 0 && c.Pct(50) <= targetReady), ms(targetReady))
}

// targetCells are the target columns of webhook level l against the
// enqueue ceiling e at the same concurrency (nil: not measured), each
// cell followed by its " |".
func targetCells(l level, e *level, mark func(bool) string) string {
	cpu := perOp(l, "handler")
	if e == nil || e.Rate() <= 0 || e.Pct(99) <= 0 {
		return fmt.Sprintf("%s %s | - | - | - | - |", ms(cpu), mark(cpu <= targetCPUPerWebhook))
	}
	sdk := perOp(*e, "bench")
	tput, p99 := l.Rate()/e.Rate(), float64(l.Pct(99))/float64(e.Pct(99))
	return fmt.Sprintf("%s %s | %s | %s %s | %.0f %% %s | %.2f %s |",
		ms(cpu), mark(cpu <= targetCPUPerWebhook), ms(sdk), ms(cpu-sdk), mark(cpu-sdk <= targetCPUOverSDK),
		100*tput, mark(tput >= targetThroughput), p99, mark(p99 <= targetP99))
}

// roundRatios lists each round's throughput and p99 ratio, the ceiling
// and the webhook measured back to back within it.
func roundRatios(rounds []pair) string {
	var each []string
	for _, pr := range rounds {
		w, e := pr.webhook, pr.ceiling
		if e.Rate() <= 0 || e.Pct(99) <= 0 {
			each = append(each, "-")
			continue
		}
		each = append(each, fmt.Sprintf("%.0f %%, %.2f", 100*w.Rate()/e.Rate(), float64(w.Pct(99))/float64(e.Pct(99))))
	}
	return strings.Join(each, "; ")
}

// median is the middle value of xs (the mean of the middle two for an even
// count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// medianWebhookCPU is the median over the serve-mode webhook's levels of
// its CPU per webhook; 0 without them.
func (r *report) medianWebhookCPU() time.Duration {
	if len(r.webhook) == 0 {
		return 0
	}
	var cpu []float64
	for _, l := range r.webhook[0].Levels {
		if c := perOp(l, "handler"); c > 0 {
			cpu = append(cpu, float64(c))
		}
	}
	return time.Duration(median(cpu))
}
