package faulttest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/webhooks"
)

// eventsSecret signs the order events of the fault run.
const eventsSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// eventFaults are how the seller's receiver misbehaves: down (503) over
// [downFrom, downUntil) from the start of the traffic, and otherwise a
// share of the deliveries answered 503 or 429 at random.
type eventFaults struct {
	downFrom, downUntil  time.Duration
	fail503, throttle429 float64
}

// eventSink is the seller's webhook receiver: it verifies each webhook as
// the Standard Webhooks libraries do (webhooks.Signer.Verify, tested
// against the specification's vectors) and keeps each event by its id.
type eventSink struct {
	URL    string
	t      testing.TB
	signer *webhooks.Signer
	faults eventFaults

	mu    sync.Mutex
	rng   *rand.Rand
	epoch time.Time
	// got holds each event received, by id, and deliveries how often
	// each came; changed counts ids that came with another body.
	got        map[string]order.Event
	body       map[string][]byte
	deliveries map[string]int
	changed    int
	// unverified counts webhooks that failed verification; down, failed
	// and throttled the answers of the faults.
	unverified, down, failed, throttled int
}

func startEventSink(t testing.TB, f eventFaults, seed uint64) *eventSink {
	signer, err := webhooks.NewSigner([]string{eventsSecret})
	if err != nil {
		t.Fatal(err)
	}
	s := &eventSink{t: t, signer: signer, faults: f, rng: rand.New(rand.NewPCG(seed, 26)),
		got: map[string]order.Event{}, body: map[string][]byte{}, deliveries: map[string]int{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/filedrop/events?code=receiver-credential"
	return s
}

func (s *eventSink) begin(epoch time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch = epoch
}

func (s *eventSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, order.MaxEventBytes+1))
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.epoch.IsZero() {
		if at := time.Since(s.epoch); at >= s.faults.downFrom && at < s.faults.downUntil {
			s.down++
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
	}
	switch p := s.rng.Float64(); {
	case p < s.faults.fail503:
		s.failed++
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	case p < s.faults.fail503+s.faults.throttle429:
		s.throttled++
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	id, err := s.signer.Verify(r.Header, body, time.Now())
	if err != nil {
		s.unverified++
		s.t.Errorf("order event webhook: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	e, err := order.DecodeEvent(body)
	if err != nil || e.ID != id {
		s.unverified++
		s.t.Errorf("order event webhook %s: not the event it names (%v)", id, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if old, ok := s.body[id]; ok && !sameEvent(old, body) {
		s.changed++
	}
	s.got[id], s.body[id] = e, body
	s.deliveries[id]++
	w.WriteHeader(http.StatusNoContent)
}

// sameEvent reports whether two deliveries of one id carry the same
// change: equal but for the order's state, which a receiver reads as of
// the delivery.
func sameEvent(a, b []byte) bool {
	return bytes.Equal(a, b) || func() bool {
		ea, err1 := order.DecodeEvent(a)
		eb, err2 := order.DecodeEvent(b)
		return err1 == nil && err2 == nil && ea.Type == eb.Type && ea.Time.Equal(eb.Time) && ea.Order.SessionID == eb.Order.SessionID
	}()
}

// eventSinkStats is what the sink saw.
type eventSinkStats struct {
	got                                         map[string]order.Event
	deliveries                                  map[string]int
	changed, unverified, down, failed, throttle int
}

func (s *eventSink) stats() eventSinkStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := eventSinkStats{got: map[string]order.Event{}, deliveries: map[string]int{}, changed: s.changed, unverified: s.unverified,
		down: s.down, failed: s.failed, throttle: s.throttled}
	for id, e := range s.got {
		st.got[id], st.deliveries[id] = e, s.deliveries[id]
	}
	return st
}

// expectedEvents derives from a final record, independently of how the
// handler produces them, the events the order's changes owe a seller,
// each by its id: the payment, each download mail generation queued, each
// mail the transport took, each delivery report's verdict, the failed
// payment, the refunded total, each hold standing, and each time the order
// entered needs_attention. (The fault run neither grants nor disputes, so
// no hold was lifted and no dispute moved.)
func expectedEvents(o order.Order) map[string]order.EventType {
	want := map[string]order.EventType{}
	add := func(t order.EventType, change string) { want[order.NewEventID(o.SessionID, t, change)] = t }
	if !o.PaidAt.IsZero() {
		add(order.TypePaid, "")
	}
	if o.MailKind == order.MailDownloadLinks {
		for g := 1; g <= o.MailGeneration(); g++ {
			add(order.TypeLinksReady, strconv.Itoa(g))
		}
	}
	for _, m := range o.Mails() {
		if m.Kind == order.MailOrderLinks {
			continue
		}
		if m.Send == order.StatusAccepted || m.Send == order.StatusSent {
			add(order.TypeMailAccepted, m.OperationID)
		}
		if r := m.Report; r != nil {
			t := order.TypeMailNotDelivered
			if r.Status == order.MailDelivered {
				t = order.TypeMailDelivered
			}
			add(t, m.OperationID+"/"+string(r.Status)+"/"+r.EventID)
		}
	}
	if !o.PaymentFailedAt.IsZero() {
		add(order.TypePaymentFailed, "")
	}
	if o.RefundedAmount > 0 {
		add(order.TypeRefunded, strconv.FormatInt(o.RefundedAmount, 10))
	}
	for _, h := range o.AccessHolds() {
		add(order.TypeAccessRevoked, string(h.Kind)+"/"+h.Ref+"/"+millis(h.At))
	}
	for n := 1; n <= o.Attentions; n++ {
		add(order.TypeNeedsAttention, strconv.Itoa(n))
	}
	return want
}

// millis writes a time as an event id names it: UTC, to the millisecond.
func millis(t time.Time) string {
	return t.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z")
}

// checkEvents checks the order events: every change the ledger shows
// reached the seller's receiver under the one id that names it, none came
// that no change owes, each id carried one change however often it came,
// and every record shows its events delivered.
func (r *rig) checkEvents(rep *report, snap snapshot) {
	st := r.events.stats()
	want := map[string]order.EventType{}
	byType := map[order.EventType]int{}
	var recorded, undelivered, dropped int
	for _, s := range r.plan.sessions {
		o, ok := snap.orders[s.id]
		if !ok {
			continue
		}
		for id, t := range expectedEvents(o) {
			want[id] = t
			byType[t]++
		}
		recorded += len(o.Outbox())
		u, _ := o.EventsUndelivered()
		undelivered += u
		dropped += o.EventsDropped()
	}
	var missing, unexpected []string
	for id, t := range want {
		if _, ok := st.got[id]; !ok {
			missing = append(missing, fmt.Sprintf("%s %s", t, id))
		}
	}
	deliveries := 0
	for id, e := range st.got {
		deliveries += st.deliveries[id]
		if t, ok := want[id]; !ok || t != e.Type {
			unexpected = append(unexpected, fmt.Sprintf("%s %s for %s (state %s)", e.Type, id, e.Order.SessionID, e.Order.State))
		}
	}
	var types []string
	for t, n := range byType {
		types = append(types, fmt.Sprintf("%s %d", t, n))
	}
	slices.Sort(types)
	rep.info("events: owed by the ledger's changes", "%d (%v)", len(want), types)
	rep.expect("events: owed and received (one id per change)", len(want), len(want)-len(missing))
	rep.expect("events: received that no change owes (a second id for a change)", 0, len(unexpected))
	rep.expect("events: ids received with another change", 0, st.changed)
	rep.expect("events: webhooks that did not verify", 0, st.unverified)
	rep.expect("events: recorded on the orders", len(want), recorded)
	rep.expect("events: recorded but not delivered", 0, undelivered)
	rep.expect("events: dropped from an outbox undelivered", 0, dropped)
	rep.info("events: deliveries / distinct (repeats after a crash, a lost answer, a redrive)", "%d / %d", deliveries, len(st.got))
	rep.info("events: answers 503 / 429 at random, 503 while down", "%d / %d / %d", st.failed, st.throttle, st.down)
	if f := r.events.faults; f.downUntil > f.downFrom {
		rep.expectThat("outage: the receiver's answers while down", "> 0", fmt.Sprint(st.down), st.down > 0)
	}
	slices.Sort(missing)
	slices.Sort(unexpected)
	for i, m := range append(missing, unexpected...) {
		if i == 15 {
			rep.note("... and %d more event problems", len(missing)+len(unexpected)-i)
			break
		}
		rep.note("events: %s", m)
	}
}

// TestExpectedEventsAgreeWithTheHandler: what the fault run derives from a
// final record is what the handler records, for an order that is paid,
// mailed, refunded and revoked, and one refunded before its links.
func TestExpectedEventsAgreeWithTheHandler(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 10, 0, 0, 123_456_789, time.UTC)
	pub := &order.Publisher{Records: ordertest.NewLedger(), Queue: &ordertest.EventQueue{}, Sinks: []string{"dataverse"}}
	msg := order.MailJob{Version: order.MailJobVersion, Kind: order.MailDownloadLinks, SessionID: "cs_test_paid", Generation: 1,
		Customer: order.Customer{Email: "a@customers.example"}}
	steps := []func(o *order.Order){
		func(o *order.Order) { o.Receive() },
		func(o *order.Order) {
			o.MailKind = order.MailDownloadLinks
			o.MailQueued(1, "evt_1", []byte(`{}`))
			o.LinksReady(1, at)
		},
		func(o *order.Order) { o.StartMail(msg, at) },
		func(o *order.Order) { o.RecordSend(msg, order.StatusSent, "", at); o.MailSent(msg, msg.Key(), at) },
		func(o *order.Order) { _, _ = o.ApplyRefund("evt_r", "ch_1", 1500, 1500, at.Add(time.Second)) },
	}
	for _, step := range steps {
		_, err := order.Mutate(ctx, pub, "cs_test_paid", at, func(o *order.Order) error { step(o); return nil })
		require.NoError(t, err)
	}
	_, err := order.Mutate(ctx, pub, "cs_test_early", at, func(o *order.Order) error {
		_, err := o.ApplyRefund("evt_r", "ch_2", 1500, 1500, at)
		return err
	})
	require.NoError(t, err)
	_, err = order.Mutate(ctx, pub, "cs_test_early", at, func(o *order.Order) error {
		o.Receive()
		o.NeedAttention("refunded before its links", at.Add(time.Millisecond))
		return nil
	})
	require.NoError(t, err)
	for _, id := range []string{"cs_test_paid", "cs_test_early"} {
		o, err := pub.Get(ctx, id)
		require.NoError(t, err)
		got := map[string]order.EventType{}
		for _, e := range o.Outbox() {
			got[e.ID] = e.Type
		}
		require.Equal(t, got, expectedEvents(o), id)
	}
}
