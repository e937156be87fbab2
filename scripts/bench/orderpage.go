package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/filedrop/filedrop/internal/download"
	"github.com/filedrop/filedrop/internal/orderlink"
)

// The order page's settings for the page phase: the handler mails order
// links and serves the Download function. DOWNLOAD_LIMIT=0 (unlimited)
// keeps the POSTs from running into the per-file limit.
const (
	pageSecret  = "filedrop-bench-order-link-secret-0123456789abcdef"
	pagePublic  = "http://127.0.0.1"
	pageUnits   = download.DefaultRate - download.RateCost // per order and minute, with room to spare
	pageWarmUps = 20                                       // requests per method before the levels
)

// pageRun is the page phase's load of one method.
type pageRun struct {
	Method string
	Levels []level
}

// pagePhase fulfils enough paid orders with the order page on (through
// handler local, as the end-to-end phase does), then loads the order page
// (GET) and the download button (POST, answered 303 to a fresh SAS link,
// which is not followed) of the handler in serve mode, as the Functions
// host forwards them. The Download function allows an order
// download.DefaultRate units a minute (a POST costs download.RateCost), so
// the requests are spread round-robin over as many orders as that needs.
func (b *bench) pagePhase(ctx context.Context, rep *report) error {
	n := b.o.pageRequests
	if n == 0 {
		return nil
	}
	units := (len(b.o.concurrency)*n + pageWarmUps) * (1 + download.RateCost)
	orders := (units + pageUnits - 1) / pageUnits
	b.step("then the order page: %d paid orders with DOWNLOAD_LINKS=page, then %d GETs and %d download POSTs per level, concurrency %v",
		orders, n, n, b.o.concurrency)
	settings := maps.Clone(b.settings)
	settings["DOWNLOAD_LINKS"], settings["PUBLIC_BASE_URL"], settings["ORDER_LINK_SECRET"], settings["DOWNLOAD_LIMIT"] =
		"page", pagePublic, pageSecret, "0"
	outbox := filepath.Join(filepath.Dir(b.logs), "outbox-page")
	if err := os.MkdirAll(outbox, 0o755); err != nil {
		return err
	}
	settings["EMAIL_OUTBOX_DIR"] = outbox
	local, url, err := startLocal(ctx, b.cs, b.o.handler, b.app, filepath.Join(b.logs, "local-page.log"), settings, "")
	if err != nil {
		return err
	}
	tag := fmt.Sprintf("pg%x", time.Now().Unix())
	fulfilled := stream(ctx, url, outbox, tag, b.ev, orders, max(b.o.rate, 10), 30*time.Second)
	b.cs.stop(local, 10*time.Second)
	if fulfilled.Errors > 0 {
		return fmt.Errorf("order page phase: %d of %d orders not fulfilled: %s", fulfilled.Errors, orders, fulfilled.FirstError)
	}
	links, err := orderlink.New(pagePublic, []string{pageSecret})
	if err != nil {
		return err
	}
	serve, webhook, err := startServe(ctx, b.cs, b.o.handler, b.app, filepath.Join(b.logs, "serve-page.log"), settings)
	if err != nil {
		return err
	}
	defer b.cs.stop(serve, 10*time.Second)
	base := strings.TrimSuffix(webhook, "/api/CheckoutComplete") + orderlink.Path
	refs := make([]string, orders)
	for i := range refs {
		refs[i] = base + links.Ref(fmt.Sprintf("cs_test_bench%sstr%05d", tag, i)) // stream's session ids
	}
	pids := map[string]int{"handler": serve.pid(), "azurite": b.az.pid(), "bench": os.Getpid()}
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		rep.pages = append(rep.pages, pageRun{Method: method, Levels: pageLoad(ctx, method, refs, n, b.o.concurrency, pids)})
	}
	return nil
}

// pageLoad sends n requests of method per concurrency level, after a
// warm-up, each to the next order of refs in turn.
func pageLoad(ctx context.Context, method string, refs []string, n int, levels []int, pids map[string]int) []level {
	var next atomic.Int64
	var out []level
	for _, c := range append([]int{0}, levels...) {
		client := webhookClient(max(c, 1))
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		send := func(ctx context.Context, _ int) (time.Duration, error) {
			return pageRequest(ctx, client, method, refs[int(next.Add(1)-1)%len(refs)])
		}
		if c == 0 {
			closedLoop(ctx, pageWarmUps, 4, send)
			client.CloseIdleConnections()
			continue
		}
		rss := sampleRSS(pids["handler"])
		var r result
		cpu := measureCPU(pids, func() time.Duration { r = closedLoop(ctx, n, c, send); return r.Elapsed })
		out = append(out, level{Concurrency: c, result: r, CPU: cpu, PeakRSS: rss.end()})
		client.CloseIdleConnections()
	}
	return out
}

// pageRequest opens the order page (GET, 200) or presses the first file's
// download button (POST, 303), and reports the time to the end of the
// answer's body.
func pageRequest(ctx context.Context, client *http.Client, method, url string) (time.Duration, error) {
	var body io.Reader
	want := http.StatusOK
	if method == http.MethodPost {
		body, want = strings.NewReader("file=0"), http.StatusSeeOther
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != want {
		return 0, fmt.Errorf("%s order page: status %d, want %d", method, resp.StatusCode, want)
	}
	return d, nil
}

// pagesMarkdown writes the page phase's table.
func (r *report) pagesMarkdown(p func(format string, args ...any)) {
	if len(r.pages) == 0 {
		return
	}
	p("\n### 6. Order page: GET and the download POST\n\n")
	p("Paid orders fulfilled with `DOWNLOAD_LINKS=page` through handler local, then %d requests per method and level to the handler in serve mode,"+
		" as the Functions host forwards them, spread round-robin over the orders (the Download function allows one order %d units a minute, a POST %d)."+
		" GET reads the ledger record and renders the page (200); POST reads it, signs a SAS link, records the download with a conditional write"+
		" (`DOWNLOAD_LIMIT=0`) and answers 303 (not followed). *CPU per request* is the handler's CPU time over the level divided by the requests answered.\n\n",
		r.opts.pageRequests, download.DefaultRate, download.RateCost)
	p("| request | concurrency | req/s | p50 | p99 | max | errors | CPU per request | handler CPU | Azurite CPU | bench CPU | others | handler peak RSS |\n")
	p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, run := range r.pages {
		what := "GET (page)"
		if run.Method == http.MethodPost {
			what = "POST (download)"
		}
		for _, l := range run.Levels {
			p("| %s | %d | %.0f | %s | %s | %s | %d | %s | %s | %s | %s | %s | %s |\n", what, l.Concurrency, l.Rate(), ms(l.Pct(50)), ms(l.Pct(99)), ms(l.Max()),
				l.Errors, ms(perOp(l, "handler")), cores(l.CPU, "handler"), cores(l.CPU, "azurite"), cores(l.CPU, "bench"), cores(l.CPU, "others"), mb(l.PeakRSS))
		}
	}
}
