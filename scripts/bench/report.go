package main

import (
	"debug/buildinfo"
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report is everything one run measured.
type report struct {
	opts         options
	started      time.Time
	elapsed      time.Duration
	machine      machine
	webhook      webhookRounds
	starts       []startUp
	mail         *mailRuns
	transactions *transactions
	stages       *stages
}

// The guard's targets, marked beside what a run measured (never checked:
// a timing on a shared machine is not a failure).
const (
	targetCPUPerWebhook = 450 * time.Microsecond
	targetIdleRSS       = 30_000_000 // bytes
	targetReady         = 50 * time.Millisecond
)

// machine describes where the run happened.
type machine struct {
	cpu                string
	cores              int
	loadStart, loadEnd string
}

func readMachine() machine {
	m := machine{cores: runtime.NumCPU(), cpu: "unknown CPU", loadStart: loadAverage()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// loadAverage is the 1-, 5- and 15-minute load average.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

// describe is a handler binary's Go version and size.
func describe(bin string) string {
	s := "?"
	if info, err := buildinfo.ReadFile(bin); err == nil {
		s = info.GoVersion
	}
	if fi, err := os.Stat(bin); err == nil {
		s += fmt.Sprintf(", %.1f MB", float64(fi.Size())/1e6)
	}
	return s
}

// markdown renders the report.
func (r *report) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	o, m := r.opts, r.machine
	p("## `scripts/bench.sh`, %s\n\n", r.started.UTC().Format("2006-01-02 15:04 MST"))
	p("- Command: `%s` (%s)\n", strings.TrimSpace(o.command), r.elapsed.Round(time.Second))
	p("- Machine: %s, %d cores; load average %s at the start, %s at the end\n", m.cpu, m.cores, m.loadStart, m.loadEnd)
	for _, v := range o.variants {
		p("- %s: %s%s\n", v.label, describe(v.bin), envNote(v.env))
	}
	p("\n")
	r.guard(p)
	r.ceiling(p)
	r.pipeline(p)
	if errs := r.errors(); len(errs) > 0 {
		p("\n### Failures\n\n")
		for _, e := range errs {
			p("- %s\n", e)
		}
	}
	return b.String()
}

func envNote(env map[string]string) string {
	if len(env) == 0 {
		return ""
	}
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		kv = append(kv, k+"="+env[k])
	}
	return "; environment " + strings.Join(kv, " ")
}

// levelMedians are the medians over the rounds of one level's loads.
func levelMedians(rounds []level) (rate float64, p50, p99, cpu time.Duration) {
	var rates []float64
	var p50s, p99s, cpus []time.Duration
	for _, l := range rounds {
		rates = append(rates, l.Rate())
		p50s, p99s = append(p50s, l.Pct(50)), append(p99s, l.Pct(99))
		cpus = append(cpus, l.perRequest("handler"))
	}
	return median(rates), median(p50s), median(p99s), median(cpus)
}

// guard prints the webhook and start-up figures of every variant side by
// side, marked against the targets.
func (r *report) guard(p func(string, ...any)) {
	o := r.opts
	p("### Webhook and start-up, serve mode\n\n")
	p("Medians of %d interleaved rounds of %d signed webhooks per level (the webhook's p50 and p99 are each round's, then the median);"+
		" start-up: the median of %d execs. ✓ or ✗ against the target.\n\n", o.rounds, o.requests, o.coldStarts)
	head, rule := "| measure |", "|---|"
	for _, v := range o.variants {
		head, rule = head+" "+v.label+" |", rule+"---:|"
	}
	p("%s target |\n%s---|\n", head, rule)
	mark := func(ok bool) string {
		if ok {
			return " ✓"
		}
		return " ✗"
	}
	row := func(name, target string, cell func(v int) string) {
		p("| %s |", name)
		for v := range o.variants {
			p(" %s |", cell(v))
		}
		p(" %s |\n", target)
	}
	for i, c := range o.concurrency {
		row(fmt.Sprintf("CPU per webhook at %d", c), "≤ 0.45 ms", func(v int) string {
			_, _, _, cpu := levelMedians(r.webhook.webhook[v][i])
			return ms(cpu) + mark(cpu <= targetCPUPerWebhook)
		})
	}
	perLevel := func(name string, f func(rate float64, p50, p99, cpu time.Duration) string) {
		row(name+" at "+joinInts(o.concurrency), "", func(v int) string {
			var cells []string
			for i := range o.concurrency {
				cells = append(cells, f(levelMedians(r.webhook.webhook[v][i])))
			}
			return strings.Join(cells, " / ")
		})
	}
	perLevel("req/s", func(rate float64, _, _, _ time.Duration) string { return fmt.Sprintf("%.0f", rate) })
	perLevel("p50 (ms)", func(_ float64, p50, _, _ time.Duration) string { return msShort(p50) })
	perLevel("p99 (ms)", func(_ float64, _, p99, _ time.Duration) string { return msShort(p99) })
	row("peak RSS under the webhook's load", "", func(v int) string { return mb(r.webhook.peakRSS[v]) })
	row("idle RSS after start", "< 30 MB", func(v int) string {
		idle := median(r.starts[v].rss)
		return mb(idle) + mark(idle < targetIdleRSS)
	})
	row("ready after exec", "< 50 ms", func(v int) string {
		ready := median(r.starts[v].ready)
		return ms(ready) + mark(ready < targetReady)
	})
}

// ceiling prints the enqueue ceiling and how close each variant's webhook
// came to it.
func (r *report) ceiling(p func(string, ...any)) {
	p("\n### Enqueue ceiling: the storage adapter alone to Azurite\n\n")
	p("`storage.Queue.Send` of the webhook's order message from the bench, in the same rounds as the webhook; medians of the rounds." +
		" *Azurite CPU* is in cores; *others* is the CPU of everything else on the machine meanwhile (a busy neighbour shows there).\n\n")
	p("| concurrency | msg/s | p50 | p99 | Azurite CPU | others |")
	for _, v := range r.opts.variants {
		p(" webhook of ceiling: %s |", v.label)
	}
	p("\n|---:|---:|---:|---:|---:|---:|%s\n", strings.Repeat("---:|", len(r.opts.variants)))
	for i, c := range r.opts.concurrency {
		rounds := r.webhook.ceiling[i]
		rate, p50, p99, _ := levelMedians(rounds)
		var az, others []float64
		for _, l := range rounds {
			az, others = append(az, l.CPU.cores("azurite")), append(others, l.CPU.cores("others"))
		}
		p("| %d | %.0f | %s | %s | %.2f | %.2f |", c, rate, ms(p50), ms(p99), median(az), median(others))
		for v := range r.opts.variants {
			wrate, _, _, _ := levelMedians(r.webhook.webhook[v][i])
			p(" %.0f %% |", 100*wrate/max(rate, 1))
		}
		p("\n")
	}
}

// pipeline prints the phases that run the current handler's pipeline.
func (r *report) pipeline(p func(string, ...any)) {
	if mr := r.mail; mr != nil {
		p("\n### Webhook to mail (handler local)\n\n")
		p("From the webhook's POST to the mail's file in the outbox, through ProcessOrder (stripe-mock, ledger, blob check, links)" +
			" and SendLink (render, outbox); the host emulator polls the queues with host.json's back-off.\n\n")
		p("| orders | count | p50 | p99 | failed |\n|---|---:|---:|---:|---:|\n")
		p("| one at a time, %s apart | %d | %s | %s | %d |\n", r.opts.gap, mr.isolated.Requests, ms(mr.isolated.Pct(50)), ms(mr.isolated.Pct(99)), mr.isolated.Errors)
		p("| a stream of %.0f a second | %d | %s | %s | %d |\n", r.opts.rate, mr.stream.Requests, ms(mr.stream.Pct(50)), ms(mr.stream.Pct(99)), mr.stream.Errors)
	}
	if t := r.transactions; t != nil && t.orders.Requests > 0 {
		n := float64(t.orders.Requests)
		p("\n### Storage transactions per paid order (handler local)\n\n")
		p("%d paid orders, each sent once the last one's mail was written, against an Azurite of their own that logs every request it serves;"+
			" the host emulator's queue polls included.\n\n| operation | per order |\n|---|---:|\n", t.orders.Requests)
		total := 0
		ops := slices.SortedFunc(maps.Keys(t.ops), func(a, b string) int { return t.ops[b] - t.ops[a] })
		for _, op := range ops {
			p("| %s | %.2f |\n", op, float64(t.ops[op])/n)
			total += t.ops[op]
		}
		p("| **all** | **%.2f** |\n", float64(total)/n)
	}
	if s := r.stages; s != nil && s.orders > 0 {
		n := float64(s.orders)
		cur := len(r.opts.variants) - 1
		p("\n### Per order, by stage\n\n")
		p("CheckoutComplete: the webhook phase above (%s; duration: its p50 at %d). ProcessOrder and SendLink: %d orders put on ProcessOrder's queue at once,"+
			" each stage alone in a handler local of its own (host emulator included); %d mails in %s."+
			" Duration is the handler's own time per execution; memory is the process's peak resident set.\n\n",
			r.opts.variants[cur].label, r.opts.concurrency[0], s.orders, s.mails, s.elapsed.Round(time.Millisecond))
		p("| stage | executions per order | duration per execution | CPU per order | memory |\n|---|---:|---:|---:|---:|\n")
		var cpus []time.Duration
		for i := range r.opts.concurrency {
			_, _, _, cpu := levelMedians(r.webhook.webhook[cur][i])
			cpus = append(cpus, cpu)
		}
		_, p50, _, _ := levelMedians(r.webhook.webhook[cur][0])
		webhookCPU := median(cpus)
		p("| CheckoutComplete | 1.00 | %s | %s | %s |\n", ms(p50), ms(webhookCPU), mb(r.webhook.peakRSS[cur]))
		executions, cpu := 1.0, webhookCPU
		for _, st := range s.list {
			per := "-"
			if st.executions > 0 {
				per = ms(st.busy / time.Duration(st.executions))
			}
			stageCPU := time.Duration(float64(st.cpu) / n)
			p("| %s | %.2f | %s | %s | %s |\n", st.name, float64(st.executions)/n, per, ms(stageCPU), mb(st.peakRSS))
			executions, cpu = executions+float64(st.executions)/n, cpu+stageCPU
		}
		p("| **all three** | **%.2f** | | **%s** | |\n", executions, ms(cpu))
	}
}

// errors lists the first failure of each load that had one.
func (r *report) errors() []string {
	var errs []string
	add := func(what string, res result) {
		if res.Errors > 0 {
			errs = append(errs, fmt.Sprintf("%s: %d failed, the first: %s", what, res.Errors, res.FirstError))
		}
	}
	for i, c := range r.opts.concurrency {
		for _, l := range r.webhook.ceiling[i] {
			add(fmt.Sprintf("enqueue ceiling at %d", c), l.result)
		}
		for v, variant := range r.opts.variants {
			for _, l := range r.webhook.webhook[v][i] {
				add(fmt.Sprintf("%s webhook at %d", variant.label, c), l.result)
			}
		}
	}
	if mr := r.mail; mr != nil {
		add("webhook to mail, one at a time", mr.isolated)
		add("webhook to mail, stream", mr.stream)
	}
	if t := r.transactions; t != nil {
		add("storage transactions", t.orders)
	}
	if s := r.stages; s != nil && s.err != "" {
		errs = append(errs, "per stage: "+s.err)
	}
	return errs
}

// failures counts the failed requests and missing mails of every phase.
func (r *report) failures() int {
	n := 0
	for i := range r.opts.concurrency {
		for _, l := range r.webhook.ceiling[i] {
			n += l.Errors
		}
		for v := range r.opts.variants {
			for _, l := range r.webhook.webhook[v][i] {
				n += l.Errors
			}
		}
	}
	if mr := r.mail; mr != nil {
		n += mr.isolated.Errors + mr.stream.Errors
	}
	if t := r.transactions; t != nil {
		n += t.orders.Errors
	}
	if s := r.stages; s != nil {
		n += s.orders - s.mails
	}
	return n
}

// ms writes a duration in milliseconds, with a precision that suits it.
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
		return fmt.Sprintf("%.2f s", v/1000)
	}
}

// msShort is ms without the unit, for a list of them.
func msShort(d time.Duration) string { return strings.TrimSuffix(ms(d), " ms") }

func mb(bytes int64) string {
	if bytes == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MB", float64(bytes)/1e6)
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, " / ")
}
