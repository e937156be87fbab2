package deliveryreport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop"
	"github.com/filedrop/filedrop/internal/deliveryreport"
	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/functions/hostemu"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
)

const session = "cs_test_report"

var sentAt = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

func mailJob(gen int) order.MailJob {
	return order.MailJob{Version: 1, Kind: order.MailDownloadLinks, SessionID: session, Generation: gen,
		Customer: order.Customer{Email: "ada@customer.example"}}
}

// queue records what the route puts on a queue.
type queue struct {
	mu   sync.Mutex
	msgs [][]byte
}

func (q *queue) Send(_ context.Context, data []byte, _ time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs = append(q.msgs, data)
	return nil
}

func (q *queue) sent() [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.msgs
}

// shop is the DeliveryReport function as the host invokes it: the real
// route of the function.json, the stage, and a ledger holding one order
// whose two mails were sent and indexed.
type shop struct {
	recs           *ordertest.Ledger
	route          http.Handler
	fn             functions.Function
	poison, requeu *queue
	logs           *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newShop(t *testing.T) *shop {
	t.Helper()
	o := order.Restore(order.Snapshot{SessionID: session, State: order.StateMailSent, CustomerEmail: "ada@customer.example"})
	for gen := 1; gen <= 2; gen++ {
		o.RecordSend(mailJob(gen), order.StatusSent, "", sentAt)
	}
	recs := ordertest.NewLedger(o)
	for gen := 1; gen <= 2; gen++ {
		require.NoError(t, recs.IndexMail(t.Context(), mailJob(gen).Key(), session))
	}
	app, err := functions.LoadApp(filedrop.AppFiles, func(string) string { return "" })
	require.NoError(t, err)
	fn, ok := app.Functions["DeliveryReport"]
	require.True(t, ok, "DeliveryReport/function.json is embedded")
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	st, err := deliveryreport.New(deliveryreport.Deps{Records: recs, Mails: recs, Now: func() time.Time { return sentAt.Add(time.Hour) }, Log: log})
	require.NoError(t, err)
	s := &shop{recs: recs, fn: fn, poison: &queue{}, requeu: &queue{}, logs: logs}
	s.route = functions.QueueRoute{Function: fn, Handle: functions.Decoded(deliveryreport.Decode, st.Handle),
		Requeue: s.requeu, Poison: s.poison, Timeout: time.Minute, Log: log, Stderr: io.Discard}
	return s
}

// deliver invokes the function with data as the host does and returns the
// answer's status.
func (s *shop) deliver(t *testing.T, data []byte) int {
	t.Helper()
	body := hostemu.InvocationBody(s.fn, data, 1, "msg-1", "pop-1", sentAt, sentAt.Add(time.Hour), sentAt)
	req := httptest.NewRequest(http.MethodPost, "/DeliveryReport", bytes.NewReader(body))
	req.Header.Set("X-Azure-Functions-InvocationId", "inv-1")
	w := httptest.NewRecorder()
	s.route.ServeHTTP(w, req)
	return w.Code
}

func (s *shop) mail(t *testing.T, gen int) order.MailRecord {
	t.Helper()
	o := s.recs.Record(t, session)
	m, ok := o.MailOf(mailJob(gen).Key())
	require.True(t, ok)
	return m
}

func event(t *testing.T, r deliveryreport.Simulated) []byte {
	t.Helper()
	data, err := deliveryreport.Event(r)
	require.NoError(t, err)
	return data
}

func TestEachStatus(t *testing.T) {
	for _, st := range []order.DeliveryStatus{order.MailDelivered, order.MailBounced, order.MailSuppressed, order.MailFailed,
		order.MailQuarantined, order.MailFilteredSpam, "Expanded"} {
		t.Run(string(st), func(t *testing.T) {
			s := newShop(t)
			require.Equal(t, http.StatusOK, s.deliver(t, event(t, deliveryreport.Simulated{EventID: "ev-1", OperationID: mailJob(2).Key(),
				Recipient: "ada@customer.example", Status: st, Message: "550 5.1.1 <ada@customer.example>: mailbox unavailable", At: sentAt.Add(time.Minute)})))
			m := s.mail(t, 2)
			require.Equal(t, &order.MailReport{Status: st, Message: "550 5.1.1 <ada@customer.example>: mailbox unavailable",
				At: sentAt.Add(time.Minute), EventID: "ev-1"}, m.Report)
			require.Nil(t, s.mail(t, 1).Report, "the other mail is untouched")
			warnings := strings.Count(s.logs.String(), "level=WARN")
			if st == order.MailDelivered {
				require.Equal(t, order.StatusDelivered, m.Status())
				require.Zero(t, warnings)
			} else {
				require.Equal(t, order.StatusNotDelivered, m.Status())
				require.Equal(t, 1, warnings, "one warning line for a non-delivery")
			}
			require.NotContains(t, s.logs.String(), "ada@customer.example", "the address is not logged")
			require.Empty(t, s.poison.sent())
		})
	}
}

func TestRedeliveredAndOutOfOrderReports(t *testing.T) {
	s := newShop(t)
	op := mailJob(1).Key()
	bounced := event(t, deliveryreport.Simulated{EventID: "ev-late", OperationID: op, Status: order.MailBounced, At: sentAt.Add(2 * time.Minute)})
	delivered := event(t, deliveryreport.Simulated{EventID: "ev-early", OperationID: strings.ToUpper(op), Status: order.MailDelivered, At: sentAt.Add(time.Minute)})

	require.Equal(t, http.StatusOK, s.deliver(t, bounced))
	require.Equal(t, http.StatusOK, s.deliver(t, bounced), "Event Grid delivers at least once")
	require.Equal(t, http.StatusOK, s.deliver(t, delivered), "an earlier attempt's report, arriving late")
	m := s.mail(t, 1)
	require.Equal(t, order.StatusNotDelivered, m.Status(), "the latest attempt is kept")
	require.Equal(t, "ev-late", m.Report.EventID)
	require.Equal(t, 1, strings.Count(s.logs.String(), "level=WARN"), "one warning, not one per delivery")

	retried := event(t, deliveryreport.Simulated{EventID: "ev-retry", OperationID: op, Status: order.MailDelivered, At: sentAt.Add(time.Hour)})
	require.Equal(t, http.StatusOK, s.deliver(t, retried))
	require.Equal(t, order.StatusDelivered, s.mail(t, 1).Status(), "a later attempt delivered it")
}

func TestUnknownAndOtherReportsAreAcknowledged(t *testing.T) {
	engagement, err := json.Marshal(map[string]any{"id": "ev-9", "eventType": "Microsoft.Communication.EmailEngagementTrackingReportReceived",
		"eventTime": sentAt.Format(time.RFC3339), "data": map[string]any{"messageId": mailJob(1).Key(), "engagementType": "view"}})
	require.NoError(t, err)
	tests := []struct {
		name string
		data []byte
		log  string
	}{
		{"an operation id the index does not know", event(t, deliveryreport.Simulated{OperationID: order.MailKey("cs_test_other", "download_links", 1),
			Status: order.MailBounced, At: sentAt}), "does not know"},
		{"a mail its order no longer lists", event(t, deliveryreport.Simulated{OperationID: mailJob(3).Key(), Status: order.MailBounced, At: sentAt}),
			"no longer lists"},
		{"another event type", engagement, "not an email delivery report"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newShop(t)
			if strings.Contains(tc.name, "no longer lists") {
				require.NoError(t, s.recs.IndexMail(t.Context(), mailJob(3).Key(), session))
			}
			before := s.recs.Record(t, session)
			require.Equal(t, http.StatusOK, s.deliver(t, tc.data))
			require.Equal(t, before, s.recs.Record(t, session), "nothing recorded")
			require.Empty(t, s.poison.sent(), "acknowledged, not poisoned")
			require.Contains(t, s.logs.String(), tc.log)
		})
	}
}

func TestUndecodableReportsArePoisonedUnread(t *testing.T) {
	oversized := event(t, deliveryreport.Simulated{OperationID: mailJob(1).Key(), Status: order.MailBounced, At: sentAt,
		Message: strings.Repeat("x", order.MaxDeliveryReportBytes)})
	tests := map[string][]byte{
		"not JSON":          []byte("not json"),
		"no messageId":      []byte(`{"id":"ev-1","eventType":"Microsoft.Communication.EmailDeliveryReportReceived","data":{"status":"Bounced"}}`),
		"a forged id":       []byte(`{"id":"ev-1","eventType":"Microsoft.Communication.EmailDeliveryReportReceived","data":{"messageId":"../x","status":"Bounced"}}`),
		"two events":        []byte(`[{"id":"a"},{"id":"b"}]`),
		"oversized":         oversized,
		"no status":         []byte(`{"id":"ev-1","eventType":"Microsoft.Communication.EmailDeliveryReportReceived","data":{"messageId":"` + mailJob(1).Key() + `"}}`),
		"CloudEvents 0.3":   []byte(`{"id":"ev-1","specversion":"0.3","type":"Microsoft.Communication.EmailDeliveryReportReceived","data":{}}`),
		"empty data object": []byte(`{"id":"ev-1","eventType":"Microsoft.Communication.EmailDeliveryReportReceived","data":null}`),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			s := newShop(t)
			before := s.recs.Record(t, session)
			require.Equal(t, http.StatusOK, s.deliver(t, data))
			require.Equal(t, [][]byte{data}, s.poison.sent(), "moved to the poison queue as it came")
			require.Equal(t, before, s.recs.Record(t, session))
			require.Zero(t, s.recs.Gets(), "the ledger was not read")
		})
	}
}

func TestLedgerFailureIsRetried(t *testing.T) {
	s := newShop(t)
	s.recs.BeforeGet = func(int) error { return order.Transient(io.ErrUnexpectedEOF) }
	data := event(t, deliveryreport.Simulated{OperationID: mailJob(1).Key(), Status: order.MailBounced, At: sentAt})
	require.Equal(t, http.StatusOK, s.deliver(t, data), "a transient fault is re-scheduled with back-off")
	require.Len(t, s.requeu.sent(), 1)
	r, err := order.DecodeDeliveryReport(s.requeu.sent()[0])
	require.NoError(t, err, "the re-scheduled copy still decodes")
	require.Equal(t, mailJob(1).Key(), r.OperationID)
	require.Empty(t, s.poison.sent())
}

// TestNewNamesWhatIsMissing: a stage built without a dependency it needs is
// refused when it is built, naming each.
func TestNewNamesWhatIsMissing(t *testing.T) {
	_, err := deliveryreport.New(deliveryreport.Deps{})
	require.ErrorContains(t, err, "no Records")
	require.ErrorContains(t, err, "no Mails")
}
