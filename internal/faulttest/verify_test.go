package faulttest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/order"
)

// verify checks the outcome of a phase and returns its report.
func (r *rig) verify(ctx context.Context, tr *traffic, faults faultLog, settled settleResult, took time.Duration) *report {
	p := r.plan
	rep := &report{title: fmt.Sprintf("fault test, phase %s: %d paid, %d unpaid, %d failed sessions; took %s",
		r.ph.name, p.count(kindPaid), p.count(kindUnpaid), p.count(kindFailed), took.Round(time.Second))}

	rep.expect("webhook deliveries accepted", p.deliveries(), int(tr.accepted.Load()))
	tr.mu.Lock()
	rep.expect("webhook deliveries refused or given up", 0, len(tr.failures))
	for i, f := range tr.failures {
		if i == 10 {
			rep.note("... and %d more refused deliveries", len(tr.failures)-i)
			break
		}
		rep.note("webhook: %s", f)
	}
	tr.mu.Unlock()
	rep.info("webhook attempts (connection failed / 5xx)", "%d (%d/%d)", tr.attempts.Load(), tr.refused.Load(), tr.unavailable.Load())
	gets, injected := r.stripe.counts()
	rep.info("Stripe: session fetches (500 or 429 on purpose)", "%d (%d)", gets, injected)
	rep.expect("handler SIGKILLs", r.ph.kills, faults.kills)
	rep.expect("Azurite restarts", r.ph.restarts, faults.restarts)
	for _, e := range faults.events {
		rep.note("fault: %s", e)
	}
	exits := r.handler.unexpectedExits()
	rep.expect("handler exits nobody asked for", 0, len(exits))
	for _, e := range exits {
		rep.note("%s", e)
	}
	settledGot := "no"
	if settled.ok {
		settledGot = "yes"
	}
	rep.expectThat("settled (records final, queues empty)", "yes", settledGot, settled.ok)
	if settled.ok {
		rep.info("settled after the last fault", "%s", (settled.after - faults.last).Round(time.Second))
	} else if settled.err != nil {
		rep.note("settle: %v", settled.err)
	}

	snap, err := r.snapshot(ctx)
	if err != nil {
		rep.expectThat("ledger and queues readable", "yes", "no", false)
		rep.note("final snapshot: %v", err)
		return rep
	}
	unmailed := r.refundedBeforeLinks(snap)
	r.checkLedger(rep, snap, unmailed)
	r.checkRefunds(rep, snap, unmailed)
	r.checkMails(ctx, rep, unmailed)
	for _, q := range append(append([]string(nil), r.work...), r.poison...) {
		rep.expect("messages left on "+q, 0, snap.counts[q])
	}
	r.checkEvents(rep, snap)
	r.notePoison(ctx, rep, snap)
	r.checkLog(rep)
	if r.ph.outage != nil {
		r.checkOutage(ctx, rep, snap)
	}
	return rep
}

// checkLedger checks every planned session's record.
func (r *rig) checkLedger(rep *report, snap snapshot, unmailed map[*session]bool) {
	var paidOK, failedOK, unpaidOK, notFinal, attention, missing, lagging int
	var problems []string
	for _, s := range r.plan.sessions {
		o, ok := snap.orders[s.id]
		if !ok {
			missing++
			problems = append(problems, s.id+": no record")
			continue
		}
		if !o.Final() {
			notFinal++
		}
		if o.State() == order.StateNeedsAttention {
			attention++
		}
		if o.MailGeneration() < o.SentGeneration() {
			lagging++
			problems = append(problems, describeOrder(s, o)+" (sent a generation not recorded as queued)")
		}
		good := false
		switch s.kind {
		case kindPaid:
			good = o.State() == order.StateMailSent && o.SentGeneration() == 1 && o.MailKind == order.MailDownloadLinks &&
				o.OperationID == order.MailKey(s.id, order.MailDownloadLinks, 1) || unmailed[s]
			paidOK += b2i(good)
		case kindFailed:
			good = o.State() == order.StatePaymentFailed && o.SentGeneration() >= 1 && o.Final() && o.MailKind == order.MailPaymentFailed
			failedOK += b2i(good)
		case kindUnpaid:
			good = o.State() == order.StateAwaitingPayment && o.SentGeneration() == 0
			unpaidOK += b2i(good)
		}
		if !good {
			problems = append(problems, describeOrder(s, o))
		}
	}
	planned := 0
	for id := range snap.orders {
		if r.plan.byID[id] == nil {
			planned++
			problems = append(problems, id+": a record nobody planned")
		}
	}
	rep.expect("ledger: paid -> mail_sent, generation 1 sent (or refunded before its links)", r.plan.count(kindPaid), paidOK)
	rep.expect("ledger: failed -> payment_failed, notice sent", r.plan.count(kindFailed), failedOK)
	rep.expect("ledger: unpaid -> awaiting_payment", r.plan.count(kindUnpaid), unpaidOK)
	rep.expect("ledger: records not final", 0, notFinal)
	rep.expect("ledger: records needing attention (refunded before their links: no mail)", len(unmailed), attention)
	rep.expect("ledger: sessions without a record", 0, missing)
	rep.expect("ledger: records nobody planned", 0, planned)
	rep.expect("ledger: records whose sent mail is not recorded as queued", 0, lagging)
	r.checkMailRecords(rep, snap, unmailed)
	for i, pr := range problems {
		if i == 15 {
			rep.note("... and %d more ledger problems", len(problems)-i)
			break
		}
		rep.note("ledger: %s", pr)
	}
}

// checkMailRecords checks that each paid order lists its download mail
// with how far the transport took it: the outbox never reports, so its
// mails are accepted; ACS's are sent once the operation Succeeded, or
// accepted when it was still running when SendLink stopped following it.
func (r *rig) checkMailRecords(rep *report, snap snapshot, unmailed map[*session]bool) {
	listed, sent, accepted := 0, 0, 0
	for _, s := range r.plan.sessions {
		o, ok := snap.orders[s.id]
		if s.kind != kindPaid || unmailed[s] || !ok {
			continue
		}
		m, ok := o.MailOf(order.MailKey(s.id, order.MailDownloadLinks, 1))
		switch {
		case !ok:
		case m.Status() == order.StatusSent && r.ph.transport == "acs":
			sent++
			listed++
		case m.Status() == order.StatusAccepted:
			accepted++
			listed++
		}
	}
	rep.expect("ledger: paid orders listing their mail as accepted or sent", r.plan.count(kindPaid)-len(unmailed), listed)
	rep.info("ledger: mails sent (ACS Succeeded) / accepted", "%d / %d", sent, accepted)
}

func describeOrder(s *session, o order.Order) string {
	d := fmt.Sprintf("%s (%s): state %s, mail %s generation %d sent %d, operation %s, attempts %d",
		s.id, s.kind, o.State(), o.MailKind, o.MailGeneration(), o.SentGeneration(), o.OperationID, o.Attempts)
	if o.LeaseOwner != "" {
		d += fmt.Sprintf(", leased to %s until %s", o.LeaseOwner, o.LeaseUntil.Format(time.TimeOnly))
	}
	if o.Reason != "" {
		d += ", reason: " + shortErr(o.Reason)
	}
	if o.LastError != "" {
		d += ", last error: " + shortErr(o.LastError)
	}
	return d
}

// checkMails checks that every session got exactly the mail it is owed
// and nobody got any other.
func (r *rig) checkMails(ctx context.Context, rep *report, unmailed map[*session]bool) {
	var mails []mailSeen
	if r.acs != nil {
		st := r.acs.stats()
		mails = acsMails(st)
		r.checkACS(rep, st)
	} else {
		var leftovers []string
		var err error
		mails, leftovers, err = readOutbox(r.outbox)
		if err != nil {
			rep.expectThat("outbox readable", "yes", "no", false)
			rep.note("outbox: %v", err)
			return
		}
		rep.info("outbox: temporary files a kill left behind", "%d", len(leftovers))
	}
	idx := keyIndex(r.plan)
	owed := map[*session]int{}   // the owed mail, with the right recipient
	others := map[*session]int{} // any other mail attributed to the session
	var unexpected []string
	var linksOK, fetched, fetchOK int
	for _, m := range mails {
		ref, known := idx[m.key]
		s := ref.session
		if s == nil {
			s = r.plan.byEmail[m.to]
		}
		switch {
		case !known || s == nil:
			unexpected = append(unexpected, fmt.Sprintf("%s to %q: a key no planned mail has", m.where, m.to))
			if s != nil {
				others[s]++
			}
			continue
		case ref.kind != s.mailKind() || ref.generation != 1 || m.to != s.email:
			others[s]++
			unexpected = append(unexpected, fmt.Sprintf("%s: %s generation %d to %q for %s (%s)", m.where, ref.kind, ref.generation, m.to, s.id, s.kind))
			continue
		}
		owed[s]++
		if s.kind != kindPaid {
			continue
		}
		ls := links(m.text)
		if linksMatch(s, ls) {
			linksOK++
		} else {
			unexpected = append(unexpected, fmt.Sprintf("%s: links %d for a cart of %d files", m.where, len(ls), s.distinctProducts()))
		}
		if fetched < 5 {
			for _, l := range ls {
				fetched++
				if err := fetchOriginal(ctx, l); err != nil {
					rep.note("link: %v", err)
				} else {
					fetchOK++
				}
			}
		}
	}
	var paidOne, paidMails, failedOne, failedMails, unpaidMails int
	for _, s := range r.plan.sessions {
		n := owed[s] + others[s]
		switch s.kind {
		case kindPaid:
			paidMails += n
			if unmailed[s] {
				paidOne += b2i(n == 0) // refunded before its links: no mail at all
				continue
			}
			paidOne += b2i(owed[s] == 1 && others[s] == 0)
		case kindFailed:
			failedMails += n
			failedOne += b2i(owed[s] == 1 && others[s] == 0)
		case kindUnpaid:
			unpaidMails += n
		}
	}
	paid, failed := r.plan.count(kindPaid), r.plan.count(kindFailed)
	rep.expect("mail: paid sessions with exactly one download mail (none if refunded before its links)", paid, paidOne)
	rep.expect("mail: mails to paid sessions", paid-len(unmailed), paidMails)
	rep.expect("mail: failed sessions with exactly one notice", failed, failedOne)
	rep.expect("mail: mails to failed sessions", failed, failedMails)
	rep.expect("mail: mails to unpaid sessions", 0, unpaidMails)
	rep.expect("mail: mails nobody was owed", 0, len(unexpected))
	rep.expect("mail: download mails linking exactly the cart", paid-len(unmailed), linksOK)
	rep.expect("mail: sampled links that serve the original", fetched, fetchOK)
	sort.Strings(unexpected)
	for i, u := range unexpected {
		if i == 15 {
			rep.note("... and %d more unexpected mails", len(unexpected)-i)
			break
		}
		rep.note("mail: %s", u)
	}
}

// checkACS reports what the fake ACS saw and checks the drain rate against
// its limit.
func (r *rig) checkACS(rep *report, st acsStats) {
	rep.expect("ACS: requests failing the HMAC check", 0, st.authFailures)
	rep.expect("ACS: malformed requests", 0, st.bad)
	rep.info("ACS: sends / accepted / 409 repeats", "%d/%d/%d", st.posts, len(st.ops), st.conflicts)
	rep.info("ACS: 500 / accepted-then-500 / random 429", "%d/%d/%d", st.injected500, st.accepted500, st.random429)
	rep.info("ACS: lookups (GET operation) / at an Operation-Location", "%d/%d", st.gets, st.located)
	f := r.ph.acs
	if f.limit <= 0 {
		return
	}
	rep.info("ACS: answers 429 over the rate limit", "%d", st.limited429)
	if len(st.ops) > 0 {
		perMail := float64(st.posts) / float64(len(st.ops))
		if r.ph.burst {
			// SendLink paces its sends to the quota instead of discovering
			// it by refusals: about one request per mail.
			rep.expectThat("ACS: send requests per mail", "<= 1.5", fmt.Sprintf("%.2f", perMail), perMail <= 1.5)
		} else {
			rep.info("ACS: send requests per mail", "%.2f", perMail)
		}
	}
	most := maxInWindow(st.accepted, f.window)
	rep.expectThat(fmt.Sprintf("ACS: most sends in any %s", f.window), fmt.Sprintf("<= %d", f.limit), fmt.Sprint(most), most <= f.limit)
	if len(st.accepted) < 2 {
		return
	}
	span := st.accepted[len(st.accepted)-1].Sub(st.accepted[0])
	perMinute := float64(f.limit) * float64(time.Minute) / float64(f.window)
	// n sends through a limit of L per window need ceil(n/L)-1 windows
	// after the first send: that is the drain time at the full rate.
	ideal := time.Duration((len(st.accepted)+f.limit-1)/f.limit-1) * f.window
	drain := 0.0 // sends a minute after the first, to the last
	if span > 0 {
		drain = float64(len(st.accepted)-1) / span.Minutes()
	}
	rep.info("ACS: drain (first to last send)", "%s", span.Round(time.Second))
	rep.info("ACS: drain rate, sends per minute (limit)", "%.1f (%.0f)", drain, perMinute)
	if len(st.accepted) > 2*f.limit {
		// SendLink paces to the quota it learns: a burst of mails drains
		// at about the limit, whatever the refusals at random.
		rep.expectThat("ACS: drain rate against the limit", ">= 80%", fmt.Sprintf("%.0f%%", 100*drain/perMinute), drain >= 0.8*perMinute)
	}
	if r.ph.burst && ideal >= 2*f.window {
		ok := span <= ideal+ideal/4+f.window
		rep.expectThat("ACS: drained at about the limit's rate", fmt.Sprintf("<= %s", (ideal+ideal/4+f.window).Round(time.Second)),
			span.Round(time.Second).String(), ok)
	}
}

// notePoison describes the messages in the poison queues.
func (r *rig) notePoison(ctx context.Context, rep *report, snap snapshot) {
	for _, q := range r.poison {
		if snap.counts[q] == 0 {
			continue
		}
		msgs, err := r.queues.Queue(q).Peek(ctx, 32)
		if err != nil {
			rep.note("%s: %v", q, err)
			continue
		}
		for _, m := range msgs {
			var ids struct {
				SessionID string `json:"session_id"`
				EventType string `json:"event_type"`
				Kind      string `json:"kind"`
			}
			_ = json.Unmarshal(m.Data, &ids)
			rep.note("%s: message %s for %s %s%s", q, m.ID, ids.SessionID, ids.EventType, ids.Kind)
		}
	}
}

// logStats are counts of the handler log's JSON lines by message.
type logStats struct {
	lines, other int
	byMsg        map[string]int
	retryErrs    map[string]int // "failed; the host will retry": the causes
}

func readLog(file string) (logStats, error) {
	st := logStats{byMsg: map[string]int{}, retryErrs: map[string]int{}}
	f, err := os.Open(file)
	if err != nil {
		return st, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		st.lines++
		var line struct {
			Msg string `json:"msg"`
			Err string `json:"err"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Msg == "" {
			st.other++
			continue
		}
		st.byMsg[line.Msg]++
		if line.Msg == "failed; the host will retry" {
			st.retryErrs[retryCause(line.Err)]++
		}
	}
	return st, sc.Err()
}

// retryCause shortens an error to what it says, without the ids.
func retryCause(err string) string {
	err = shortErr(err)
	if i := strings.Index(err, ": "); i > 0 && strings.HasPrefix(err, "order cs_") {
		err = err[i+2:]
	}
	if len(err) > 100 {
		err = err[:100] + "…"
	}
	return err
}

// count sums the lines whose message contains any of subs.
func (st logStats) count(subs ...string) int {
	n := 0
	for msg, c := range st.byMsg {
		for _, s := range subs {
			if strings.Contains(msg, s) {
				n += c
				break
			}
		}
	}
	return n
}

// checkLog counts what the handler logged: poisonings are failures, the
// rest is information about how hard the faults hit.
func (r *rig) checkLog(rep *report) {
	st, err := readLog(r.handler.log.Name())
	if err != nil {
		rep.note("handler log: %v", err)
		return
	}
	rep.expect("log: messages moved to a poison queue", 0, st.count("poison queue"))
	rep.info("log: lines (JSON / other)", "%d/%d", st.lines-st.other, st.other)
	rep.info("log: mails sent (incl. repeats of a mail)", "%d", st.count("mail sent"))
	rep.info("log: invocations the host retries", "%d", st.count("failed; the host will retry"))
	rep.info("log: throttled and re-scheduled", "%d", st.count("throttled; re-scheduled"))
	rep.info("log: storage unreadable (emulator)", "%d", st.count("cannot read the queue"))
	type cause struct {
		err string
		n   int
	}
	var causes []cause
	for e, n := range st.retryErrs {
		causes = append(causes, cause{e, n})
	}
	sort.Slice(causes, func(i, j int) bool {
		return causes[i].n > causes[j].n || causes[i].n == causes[j].n && causes[i].err < causes[j].err
	})
	for i, c := range causes {
		if i == 6 {
			break
		}
		rep.note("retried %dx: %s", c.n, c.err)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
