package faulttest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/orderlink"
	"github.com/filedrop/filedrop/internal/storage/ledger"
)

// The order page beside DOWNLOAD_LINKS=direct: the mails keep their raw
// links, which the fault run checks, and the Download function serves the
// refunded orders' page, whose download button the probe presses.
const (
	orderLinkSecret = "filedrop-fault-test-order-link-secret-0123456789"
	publicBaseURL   = "http://127.0.0.1"
)

// orderPageEnv are the settings that serve the order page. DOWNLOAD_LIMIT=0
// (unlimited) keeps the probe's downloads from running into the limit.
func orderPageEnv() []string {
	return []string{"PUBLIC_BASE_URL=" + publicBaseURL, "ORDER_LINK_SECRET=" + orderLinkSecret, "DOWNLOAD_LIMIT=0"}
}

const (
	// probeGap is the least time between two download POSTs for one
	// order: the Download function gives an order 60 units a minute and a
	// POST costs 5, so ten a minute leave room for the POST right after
	// the revoke is seen and the one after settling.
	probeGap = 6 * time.Second
	// probePoll is how often the probe reads an order's record.
	probePoll = 250 * time.Millisecond
	// probeAfterRevoke is how many POSTs the probe makes once it has seen
	// the revoke in the ledger.
	probeAfterRevoke = 2
	// maxProbePolls bounds one order's probe loop.
	maxProbePolls = int(2 * maxTraffic / probePoll)
	// probeControls is how many paid orders without a refund the probe
	// downloads after settling, to show that its links and POSTs work.
	probeControls = 5
)

// tally counts download POSTs by answer.
type tally struct{ posts, downloaded, refused, other int }

func (t *tally) add(status int) {
	t.posts++
	switch status {
	case http.StatusSeeOther:
		t.downloaded++
	case http.StatusForbidden:
		t.refused++
	default:
		t.other++
	}
}

func (t tally) String() string { return fmt.Sprintf("%d/%d/%d", t.downloaded, t.refused, t.other) }

// downloadProbe presses the download button of every refunded order
// through handler local's Download function while the refunds run: while
// the ledger shows access open (a download may succeed), and right after
// the ledger shows the revoke (no download may). After the pipeline
// settles it presses each once more.
type downloadProbe struct {
	base   string // http://127.0.0.1:<port>, handler local
	links  *orderlink.Signer
	ledger *ledger.Ledger
	client *http.Client
	stop   context.CancelFunc
	wg     sync.WaitGroup

	mu sync.Mutex
	// open counts POSTs sent while the record read just before showed
	// access open, revoked those sent after it showed the revoke.
	open, revoked tally
	violations    []string
	final         map[string]int // refunded session -> the POST's status after settling
	control       map[string]int // paid session, not refunded -> the same
}

// startRefunds lets the traffic wait for each refund's moment and starts
// the download probe of the refunded orders.
func (r *rig) startRefunds(t *testing.T, tr *traffic) {
	tr.awaitRefund = func(ctx context.Context, s *session) { r.stripe.refunds.due(ctx, s, r.fulfilled) }
	links, err := orderlink.New(publicBaseURL, []string{orderLinkSecret})
	if err != nil {
		t.Fatal(err)
	}
	p := &downloadProbe{base: "http://" + r.handler.addr, links: links, ledger: r.ledger,
		client: &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // the 303 is the answer; the link is not followed
		}},
		final: map[string]int{}, control: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	refunded, _ := r.plan.refunded()
	for _, s := range refunded {
		p.wg.Go(func() { p.watch(ctx, s.id) })
	}
	t.Cleanup(func() { cancel(); p.wg.Wait() })
	r.probe = p
}

// fulfilled reports whether the ledger lists the order's files.
func (r *rig) fulfilled(ctx context.Context, sessionID string) bool {
	o, err := r.ledger.Get(ctx, sessionID)
	return err == nil && len(o.Files) > 0
}

// watch probes one refunded order until ctx ends or it has made its POSTs
// after the revoke.
func (p *downloadProbe) watch(ctx context.Context, sessionID string) {
	var last time.Time
	after := 0
	for range maxProbePolls {
		if !sleepUntil(ctx, time.Now().Add(probePoll)) {
			return
		}
		o, err := p.ledger.Get(ctx, sessionID)
		if err != nil {
			continue // not there yet, or Azurite is restarting
		}
		revoked := o.Revoked()
		switch {
		case !revoked && len(o.Files) == 0:
			continue // nothing to download yet
		case revoked && after >= probeAfterRevoke:
			return
		case (!revoked || after > 0) && time.Since(last) < probeGap:
			continue
		}
		// The record just read decides: a POST sent after the revoke was
		// in the ledger must not download.
		status, _ := p.post(ctx, sessionID) // no answer (a kill) counts as other
		last = time.Now()
		if ctx.Err() != nil {
			return
		}
		p.mu.Lock()
		if revoked {
			after++
			p.revoked.add(status)
			if status == http.StatusSeeOther {
				p.violations = append(p.violations, fmt.Sprintf("%s: a download (303) after the ledger showed it closed by %s",
					sessionID, order.DescribeHolds(o.AccessHolds())))
			}
		} else {
			p.open.add(status)
		}
		p.mu.Unlock()
	}
}

// post presses the download button of the order's first file and returns
// the answer's status (0 when there was none).
func (p *downloadProbe) post(ctx context.Context, sessionID string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+orderlink.Path+p.links.Ref(sessionID), strings.NewReader("file=0"))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// finish stops the probe and, with the pipeline settled and the handler
// still up, presses the download button of every refunded order once more,
// and of a few paid orders without a refund.
func (r *rig) finishRefunds(ctx context.Context) {
	p := r.probe
	if p == nil {
		return
	}
	p.stop()
	p.wg.Wait()
	refunded, _ := r.plan.refunded()
	for _, s := range refunded {
		p.final[s.id] = p.settledPost(ctx, s.id)
	}
	for _, s := range r.plan.sessions {
		if len(p.control) == probeControls {
			break
		}
		if s.kind == kindPaid && s.refund == refundNone {
			p.control[s.id] = p.settledPost(ctx, s.id)
		}
	}
}

// settledPost is post, tried again a few times on no answer, a 5xx or a 429.
func (p *downloadProbe) settledPost(ctx context.Context, sessionID string) int {
	status := 0
	for attempt := range 5 {
		if attempt > 0 && !sleepUntil(ctx, time.Now().Add(time.Second)) {
			break
		}
		status, _ = p.post(ctx, sessionID)
		if status != 0 && status < 500 && status != http.StatusTooManyRequests {
			break
		}
	}
	return status
}
