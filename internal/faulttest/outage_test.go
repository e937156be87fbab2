package faulttest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filedrop/filedrop/internal/testenv"
)

// outage is mode outage's world: dependencies down for longer than the
// host's five attempts would last, and webhooks Stripe never delivers,
// all compressed in time by the back-off settings the handler gets.
type outage struct {
	// stripe and acs are down over [from, until) from the start of the
	// traffic: every request fails.
	stripeFrom, stripeUntil time.Duration
	acsFrom, acsUntil       time.Duration
	// eventsFrom and eventsUntil: the seller's receiver of the order
	// events answers 503.
	eventsFrom, eventsUntil time.Duration
	// Storage answers 503 ServerBusy for burst at the start of every
	// period, through a proxy in front of Azurite that only the handler
	// uses.
	burst, period time.Duration
	// settings compress the back-off and the Reconcile schedule.
	settings []string
}

// outagePhase is mode outage for n paid orders. A "15-minute" Stripe
// outage and an "hour" of ACS down, and of the order events' receiver, are
// scaled by the back-off: RETRY_MAX
// 4s stands for 15 minutes, so 15 s of Stripe down spans several capped
// back-offs, as 15 minutes do at 1 s doubling to 15 minutes.
func outagePhase(n, kills, restarts int) phase {
	sh := shape("outage", n, clamp(time.Duration(n)*200*time.Millisecond, 10*time.Second, time.Minute))
	sh.delayed, sh.unpaid, sh.failed, sh.refunds = 0, 0, 0, 0 // refunds race fulfilment in the other modes
	sh.lost = 0.10
	o := &outage{
		stripeFrom: 2 * time.Second, stripeUntil: 2*time.Second + 15*time.Second,
		acsFrom: 2 * time.Second, acsUntil: 2*time.Second + 60*time.Second,
		eventsFrom: 2 * time.Second, eventsUntil: 2*time.Second + 60*time.Second,
		burst: 1500 * time.Millisecond, period: 7 * time.Second, // out of step with the schedule, as real bursts are
		settings: []string{"RETRY_MIN=1s", "RETRY_MAX=4s", "RETRY_BUDGET=30m",
			"RECONCILE_SCHEDULE=*/10 * * * * *", "RECONCILE_WINDOW=1h", "RECONCILE_GRACE=20s"},
	}
	acs := acsFaults{downFrom: o.acsFrom, downUntil: o.acsUntil}
	return phase{name: "outage", shape: sh, transport: "acs", kills: kills, restarts: restarts, acs: acs, outage: o,
		settle: settleTimeout(3*time.Minute + o.acsUntil + time.Duration(n)*100*time.Millisecond)}
}

// storageProxy stands in front of Azurite's three services and answers
// 503 ServerBusy in bursts.
type storageProxy struct {
	burst, period time.Duration

	mu      sync.Mutex
	epoch   time.Time
	answers int // 503s answered
	total   int
}

// startStorageProxy starts the proxy for az and returns it with the
// connection string that goes through it.
func startStorageProxy(t *testing.T, az *testenv.Azurite, burst, period time.Duration) (*storageProxy, string) {
	p := &storageProxy{burst: burst, period: period}
	front := func(service, target string) string {
		u, err := url.Parse(target)
		if err != nil {
			t.Fatal(err)
		}
		origin := &url.URL{Scheme: u.Scheme, Host: u.Host}
		rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(origin) }}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if p.busy() {
				serverBusy(w, service)
				return
			}
			rp.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		return srv.URL + u.Path
	}
	blob, queue, table := front("blob", az.BlobURL), front("queue", az.QueueURL), front("table", az.TableURL)
	cs := az.ConnectionString
	for _, r := range [][2]string{{az.BlobURL, blob}, {az.QueueURL, queue}, {az.TableURL, table}} {
		cs = strings.Replace(cs, "="+r[0]+";", "="+r[1]+";", 1)
	}
	return p, cs
}

func (p *storageProxy) begin(epoch time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.epoch = epoch
}

// busy reports whether a burst is on now, and counts the request.
func (p *storageProxy) busy() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total++
	if p.epoch.IsZero() || p.period <= 0 {
		return false
	}
	if time.Since(p.epoch)%p.period < p.burst {
		p.answers++
		return true
	}
	return false
}

func (p *storageProxy) counts() (busy, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.answers, p.total
}

// serverBusy answers as a busy storage service does.
func serverBusy(w http.ResponseWriter, service string) {
	w.Header().Set("x-ms-error-code", "ServerBusy")
	if service == "table" {
		w.Header().Set("Content-Type", "application/json;odata=minimalmetadata")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"odata.error":{"code":"ServerBusy","message":{"lang":"en-US","value":"The server is busy (fault test)."}}}`)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprint(w, `<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>The server is busy (fault test).</Message></Error>`)
}

// checkOutage checks what mode outage promises: the scheduled Reconcile
// queued exactly the sessions whose webhooks never came (each shows a
// reconcile event in its record), no operator command ran, and the
// outages really happened.
func (r *rig) checkOutage(ctx context.Context, rep *report, snap snapshot) {
	o := r.ph.outage
	var reconciled []string
	for id, rec := range snap.orders {
		if slices.ContainsFunc(rec.EventIDs, func(e string) bool { return strings.HasPrefix(e, "evt_reconcile_") }) {
			reconciled = append(reconciled, id)
		}
	}
	lost := r.plan.lost()
	slices.Sort(reconciled)
	slices.Sort(lost)
	rep.expect("outage: sessions whose webhooks never came", len(lost), len(lost))
	rep.expectThat("outage: the scheduled Reconcile queued exactly those", strings.Join(lost, " "), strings.Join(reconciled, " "),
		slices.Equal(lost, reconciled))
	rep.expect("outage: operator commands run", 0, 0) // the test runs none: the pipeline healed itself
	r.stripe.mu.Lock()
	down, lists := r.stripe.down, r.stripe.lists
	r.stripe.mu.Unlock()
	rep.info("outage: Stripe down (requests failed / session lists)", "%s (%d / %d)", o.stripeUntil-o.stripeFrom, down, lists)
	rep.expectThat("outage: Stripe requests failed by the outage", "> 0", fmt.Sprint(down), down > 0)
	if r.acs != nil {
		st := r.acs.stats()
		rep.info("outage: ACS down (answers 503)", "%s (%d)", o.acsUntil-o.acsFrom, st.down)
		rep.expectThat("outage: ACS answers failed by the outage", "> 0", fmt.Sprint(st.down), st.down > 0)
	}
	if r.proxy != nil {
		busy, total := r.proxy.counts()
		rep.info("outage: storage 503 ServerBusy bursts (answers / requests)", "%s every %s (%d / %d)", o.burst, o.period, busy, total)
	}
	st, err := readLog(r.handler.log.Name())
	if err == nil {
		rep.info("log: transient failures re-scheduled with back-off", "%d", st.count("transient failure; re-scheduled"))
		incomplete := st.count("reconcile run incomplete")
		rep.info("log: scheduled Reconcile runs (complete / incomplete, e.g. Stripe down)", "%d / %d", st.count("reconcile run")-incomplete, incomplete)
		rep.expect("log: retry budgets spent", 0, st.count("outlasted the retry budget"))
	}
}
