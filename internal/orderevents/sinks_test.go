package orderevents_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/dataverse"
	"github.com/filedrop/filedrop/internal/dataverse/dataversetest"
	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/orderevents"
	"github.com/filedrop/filedrop/internal/webhooks"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// receiver is a seller's webhook receiver that verifies each webhook as
// the Standard Webhooks libraries do and answers status (200 when zero).
type receiver struct {
	t      *testing.T
	signer *webhooks.Signer
	mu     sync.Mutex
	status int
	got    []order.Event
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, err := rc.signer.Verify(r.Header, body, time.Now())
	if err != nil {
		rc.t.Errorf("webhook: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	e, err := order.DecodeEvent(body)
	require.NoError(rc.t, err)
	require.Equal(rc.t, id, e.ID, "webhook-id is the event's id")
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.got = append(rc.got, e)
	if rc.status != 0 {
		w.WriteHeader(rc.status)
	}
}

func (rc *receiver) answer(status int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.status = status
}

func (rc *receiver) events() []order.Event {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]order.Event(nil), rc.got...)
}

type token struct{}

func (token) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: dataversetest.Token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TestHandleWithTheSinks: the stage delivers through the real adapters,
// a signed webhook to a receiver that verifies it and a contact and an
// order row into the fake Dataverse, and records each on the order; a
// receiver that fails, then recovers, gets the same event under the same
// id.
func TestHandleWithTheSinks(t *testing.T) {
	signer, err := webhooks.NewSigner([]string{secret})
	require.NoError(t, err)
	rc := &receiver{t: t, signer: signer}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	hookURL := srv.URL + "/filedrop?code=x"
	sender, err := webhooks.New(hookURL, []string{secret}, nil)
	require.NoError(t, err)
	dv := dataversetest.New(t, dataversetest.Contacts(true), dataversetest.OrderTable("cr1a2_orders", true))
	client, err := dataverse.New(dv.URL, token{}, &dataverse.Options{HTTPClient: dv.Client(), OrderTable: "cr1a2_orders"})
	require.NoError(t, err)

	hook := orderevents.WebhookSink(hookURL)
	rec := order.Restore(order.Snapshot{SessionID: session, State: order.StateLinksReady, CustomerEmail: "ada@example.com", PaidAt: t0,
		CreatedAt: t0, Outbox: []order.OutboxEvent{{ID: paidID, Type: order.TypePaid, At: t0, State: order.StateLinksReady,
			Sinks: []order.SinkDelivery{{Sink: hook, QueuedAt: t0}, {Sink: orderevents.DataverseSink, QueuedAt: t0}}}}})
	l := ordertest.NewLedger(rec)
	st, err := orderevents.New(orderevents.Deps{Sinks: map[string]orderevents.Sink{hook: sender, orderevents.DataverseSink: client},
		Records: l, Budget: budget, Log: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	jobOf := func(sink string) order.EventJob {
		return order.EventJob{Version: order.EventJobVersion, Sink: sink, Event: rec.EventOf(rec.Outbox()[0])}
	}

	rc.answer(http.StatusServiceUnavailable)
	err = st.Handle(t.Context(), delivery.Attempt{}, jobOf(hook))
	require.Equal(t, order.ClassTransient, order.Classify(err), "%v", err)
	require.True(t, delivered(t, l, hook).Failing())
	rc.answer(0)
	require.NoError(t, st.Handle(t.Context(), delivery.Attempt{}, jobOf(hook)))
	require.NoError(t, st.Handle(t.Context(), delivery.Attempt{}, jobOf(orderevents.DataverseSink)))

	got := rc.events()
	require.Len(t, got, 2)
	require.Equal(t, got[0], got[1], "the same event each time")
	require.Equal(t, paidID, got[0].ID)
	require.True(t, delivered(t, l, hook).Delivered())
	require.True(t, delivered(t, l, orderevents.DataverseSink).Delivered())
	contacts := dv.Rows("contacts")
	require.Len(t, contacts, 1)
	require.Equal(t, "ada@example.com", contacts[0]["emailaddress1"])
	rows := dv.Rows("cr1a2_orders")
	require.Len(t, rows, 1)
	b, _ := json.Marshal(rows[0])
	require.Contains(t, string(b), `"cr1a2_sessionid":"`+session+`"`)

	dv.Fail(1, dataversetest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "7"})
	err = st.Handle(t.Context(), delivery.Attempt{}, jobOf(orderevents.DataverseSink))
	after, throttled := order.RetryAfter(err)
	require.True(t, throttled, "%v", err)
	require.Equal(t, 7*time.Second, after, "Dataverse's Retry-After is honoured")
}
