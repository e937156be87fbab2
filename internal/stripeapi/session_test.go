package stripeapi_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/stripeapi"
	"github.com/filedrop/filedrop/internal/stripeapi/stripetest"
)

func newClient(url string) *stripeapi.Client {
	return stripeapi.New(stripetest.Key, stripeapi.Options{APIURL: url}, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func TestSessionPagesThroughLineItems(t *testing.T) {
	srv := stripetest.NewServer(t)
	s, err := newClient(srv.URL).Session(context.Background(), stripetest.SessionID)
	require.NoError(t, err)

	require.Equal(t, stripetest.SessionID, s.ID)
	require.False(t, s.Livemode)
	require.Equal(t, stripeapi.PaymentPaid, s.PaymentStatus)
	require.Equal(t, "jane.doe@example.com", s.CustomerEmail)
	require.Equal(t, "Jane Doe", s.CustomerName)
	require.Equal(t, "de", s.Locale)
	require.Equal(t, time.Unix(1706011200, 0).UTC(), s.Created)
	require.Equal(t, s.Created.Add(stripetest.PaidDelay), s.PaidAt, "when the payment intent's latest charge was created")
	require.Equal(t, "eur", s.Currency)
	require.Equal(t, int64(10800), s.AmountTotal)
	require.Equal(t, []stripeapi.LineItem{
		{ID: "li_1OmA1aB2cD3eF4gH", ProductID: "prod_PmSunset01", ProductName: "Sunset over the harbour", Description: "Sunset over the harbour", Quantity: 1, AmountTotal: 1500, Original: "landscapes/sunset-harbour.jpg"},
		{ID: "li_1OmA2aB2cD3eF4gH", ProductID: "prod_PmZurich02", ProductName: "Zürich bei Nacht", Description: "Zürich bei Nacht", Quantity: 1, AmountTotal: 1200, Original: "städte/Zürich – Nacht.jpg"},
		{ID: "li_1OmA3aB2cD3eF4gH", ProductID: "prod_PmFern0003", ProductName: "Fern", Description: "Fern", Quantity: 2, AmountTotal: 1800},
		{ID: "li_1OmA4aB2cD3eF4gH", ProductID: "prod_PmDunes004", ProductName: "Dunes", Description: "Dunes", Quantity: 1, AmountTotal: 1800, Original: "landscapes/dunes.jpg"},
		{ID: "li_1OmA5aB2cD3eF4gH", ProductID: "prod_PmSunset01", ProductName: "Sunset over the harbour", Description: "Sunset over the harbour (large licence)", Quantity: 1, AmountTotal: 4500, Original: "landscapes/sunset-harbour.jpg"},
	}, s.Items)

	// One session fetch (2 items embedded, has_more), then two pages of at
	// most 2 line items, each after the last item seen.
	reqs := srv.Requests()
	require.Len(t, reqs, 3, "%q", reqs)
	require.Contains(t, reqs[0], "/v1/checkout/sessions/"+stripetest.SessionID+"?")
	require.Contains(t, reqs[1], "/line_items?")
	require.Contains(t, reqs[1], "starting_after=li_1OmA2aB2cD3eF4gH")
	require.Contains(t, reqs[1], "limit=100")
	require.Contains(t, reqs[2], "starting_after=li_1OmA4aB2cD3eF4gH")

	require.Empty(t, stripe.Key, "the client must not set stripe-go's package-level key")
}

func TestSessionFields(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(map[string]any)
		check func(*testing.T, stripeapi.Session)
	}{
		{"customer_email when customer_details has none",
			func(s map[string]any) {
				s["customer_details"].(map[string]any)["email"] = nil
				s["customer_email"] = "prefilled@example.com"
			},
			func(t *testing.T, s stripeapi.Session) { require.Equal(t, "prefilled@example.com", s.CustomerEmail) }},
		{"no email at all",
			func(s map[string]any) { s["customer_details"] = nil },
			func(t *testing.T, s stripeapi.Session) {
				require.Empty(t, s.CustomerEmail)
				require.Empty(t, s.CustomerName)
			}},
		{"locale auto is unknown",
			func(s map[string]any) { s["locale"] = "auto" },
			func(t *testing.T, s stripeapi.Session) { require.Empty(t, s.Locale) }},
		{"unpaid, live",
			func(s map[string]any) { s["payment_status"] = "unpaid"; s["livemode"] = true },
			func(t *testing.T, s stripeapi.Session) {
				require.Equal(t, stripeapi.PaymentUnpaid, s.PaymentStatus)
				require.True(t, s.Livemode)
			}},
		{"one page only",
			func(s map[string]any) {
				li := s["line_items"].(map[string]any)
				li["data"] = li["data"].([]any)[:1]
			},
			func(t *testing.T, s stripeapi.Session) { require.Len(t, s.Items, 1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := stripetest.NewServer(t)
			srv.Edit(tt.edit)
			s, err := newClient(srv.URL).Session(context.Background(), stripetest.SessionID)
			require.NoError(t, err)
			tt.check(t, s)
		})
	}
}

func TestSessionErrors(t *testing.T) {
	tests := []struct {
		name      string
		id        string
		key       string
		status    int
		code      string
		header    http.Header
		permanent bool
		setting   string        // the refused setting of an order.Misconfigured error
		throttle  time.Duration // 0: not throttled
		transient bool          // order.Transient: retried with back-off
		requests  int
	}{
		{name: "missing session", id: "cs_test_doesnotexist", permanent: true, requests: 1},
		{name: "429 with Retry-After", status: 429, code: "rate_limit", header: http.Header{"Retry-After": {"7"}}, throttle: 7 * time.Second, requests: 1},
		{name: "429 without Retry-After", status: 429, code: "rate_limit", throttle: stripeapi.DefaultRetryAfter, requests: 1},
		{name: "500 is retried once, then transient", status: 500, transient: true, requests: 2},
		{name: "503 is retried once, then transient", status: 503, transient: true, requests: 2},
		{name: "wrong key: the deployment's fault, not the order's", key: "sk_test_wrong", setting: "STRIPE_API_KEY", requests: 1},
		{name: "403 missing permission: the deployment's fault", status: 403, code: "secret_key_required", setting: "STRIPE_API_KEY", requests: 1},
		{name: "400 invalid request", status: 400, code: "parameter_unknown", permanent: true, requests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := stripetest.NewServer(t)
			if tt.status != 0 {
				srv.Fail(tt.status, tt.code, tt.header)
			}
			key := stripetest.Key
			if tt.key != "" {
				key = tt.key
			}
			id := stripetest.SessionID
			if tt.id != "" {
				id = tt.id
			}
			c := stripeapi.New(key, stripeapi.Options{APIURL: srv.URL}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			_, err := c.Session(context.Background(), id)
			require.Error(t, err)
			require.Equal(t, tt.permanent, order.IsPermanent(err), "permanent? %v", err)
			setting, _ := order.MisconfiguredSetting(err)
			require.Equal(t, tt.setting, setting, "misconfigured? %v", err)
			if tt.setting != "" {
				require.Equal(t, order.ClassMisconfigured, order.Classify(err))
			}
			after, throttled := order.RetryAfter(err)
			require.Equal(t, tt.throttle != 0, throttled, "throttled? %v", err)
			require.Equal(t, tt.throttle, after)
			require.Equal(t, tt.transient, order.Classify(err) == order.ClassTransient, "transient? %v", err)
			require.Len(t, srv.Requests(), tt.requests)
			require.NotContains(t, err.Error(), stripetest.Key)
			require.Contains(t, err.Error(), "get checkout session "+id)
			if tt.id != "" {
				require.ErrorIs(t, err, order.ErrNotFound)
			}
		})
	}
}

func TestSessionNetworkFaultIsTransient(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj, ok := w.(http.Hijacker)
		require.True(t, ok)
		conn, _, err := hj.Hijack()
		require.NoError(t, err)
		_ = conn.Close() // the connection drops without an answer
	}))
	defer ts.Close()
	_, err := newClient(ts.URL).Session(context.Background(), stripetest.SessionID)
	require.Error(t, err)
	require.Equal(t, order.ClassTransient, order.Classify(err), "%v", err)
}

func TestSessionHonoursContext(t *testing.T) {
	srv := stripetest.NewServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newClient(srv.URL).Session(ctx, stripetest.SessionID)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, order.ClassTransient, order.Classify(err))
	require.Empty(t, srv.Requests())
}

func TestTranslateKeepsStripeOut(t *testing.T) {
	srv := stripetest.NewServer(t)
	_, err := newClient(srv.URL).Session(context.Background(), "cs_test_gone")
	var se *stripe.Error
	require.False(t, errors.As(err, &se), "stripe-go's error type must not leak out of the adapter")
	require.Contains(t, err.Error(), "stripe answered 404 resource_missing: No such checkout.session: 'cs_test_gone' (request req_fixture0001)")
}
