package stripeapi_test

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/stripeapi"
	"github.com/filedrop/filedrop/internal/stripeapi/stripetest"
	"github.com/filedrop/filedrop/internal/testenv"
)

func TestListSessionsPagesThroughTheWindow(t *testing.T) {
	srv := stripetest.NewServer(t)
	srv.ListPageSize = 2
	now := time.Now().Truncate(time.Second)
	since := now.Add(-72 * time.Hour)
	srv.AddSessions(
		stripetest.Listed("cs_test_new", now.Add(-time.Minute), stripeapi.StatusComplete, stripeapi.PaymentPaid),
		stripetest.Listed("cs_test_mid", now.Add(-time.Hour), stripeapi.StatusExpired, stripeapi.PaymentUnpaid),
		stripetest.Listed("cs_test_old", now.Add(-71*time.Hour), stripeapi.StatusOpen, stripeapi.PaymentUnpaid),
		stripetest.Listed("cs_test_gone", now.Add(-73*time.Hour), stripeapi.StatusComplete, stripeapi.PaymentPaid),
	)

	var got []stripeapi.ListedSession
	err := newClient(srv.URL).ListSessions(context.Background(), since, func(s stripeapi.ListedSession) error {
		got = append(got, s)
		return nil
	})
	require.NoError(t, err)

	require.Len(t, got, 3, "the session created before the window is not listed")
	require.Equal(t, stripeapi.ListedSession{
		Session: stripeapi.Session{ID: "cs_test_new", PaymentStatus: stripeapi.PaymentPaid,
			CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe", Locale: "de", PaymentIntent: "pi_3OmA0aB2cD3eF4gH0xYz1234",
			Created: now.Add(-time.Minute).UTC(), Currency: "eur", AmountTotal: 10800},
		Status:  stripeapi.StatusComplete,
		Created: now.Add(-time.Minute).UTC(),
	}, got[0])
	require.Equal(t, []string{"cs_test_mid", "cs_test_old"}, []string{got[1].ID, got[2].ID})
	require.Equal(t, stripeapi.StatusExpired, got[1].Status)
	require.Equal(t, stripeapi.PaymentUnpaid, got[2].PaymentStatus)

	reqs := srv.Requests()
	require.Len(t, reqs, 2, "two pages of at most two: %q", reqs)
	first, second := query(t, reqs[0]), query(t, reqs[1])
	require.Equal(t, strconv.FormatInt(since.Unix(), 10), first.Get("created[gte]"))
	require.Equal(t, "100", first.Get("limit"))
	require.Empty(t, first.Get("starting_after"))
	require.Equal(t, first.Get("created[gte]"), second.Get("created[gte]"), "every page keeps the window")
	require.Equal(t, "cs_test_mid", second.Get("starting_after"))
}

func query(t *testing.T, requestURI string) url.Values {
	t.Helper()
	u, err := url.ParseRequestURI(requestURI)
	require.NoError(t, err)
	require.Equal(t, "/v1/checkout/sessions", u.Path)
	return u.Query()
}

func TestListSessionsErrors(t *testing.T) {
	errStop := errors.New("stop")
	closed := "http://127.0.0.1:" + testenv.FreePort(t) // nothing listens there
	tests := []struct {
		name        string
		url         func(*stripetest.Server) string
		fn          func(stripeapi.ListedSession) error
		unreachable bool
		permanent   bool
		setting     string
		want        string
	}{
		{name: "unreachable", url: func(*stripetest.Server) string { return closed }, unreachable: true, want: "stripe could not be reached"},
		{name: "refused key", url: func(s *stripetest.Server) string { s.Fail(401, "", nil); return s.URL }, setting: "STRIPE_API_KEY", want: "Stripe refused STRIPE_API_KEY"},
		{name: "server error", url: func(s *stripetest.Server) string { s.Fail(500, "", nil); return s.URL }, want: "stripe answered 500"},
		{name: "fn stops it", fn: func(stripeapi.ListedSession) error { return errStop }, want: "stop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := stripetest.NewServer(t)
			srv.AddSessions(stripetest.Listed("cs_test_a", time.Now(), stripeapi.StatusComplete, stripeapi.PaymentPaid))
			u := srv.URL
			if tt.url != nil {
				u = tt.url(srv)
			}
			fn := tt.fn
			if fn == nil {
				fn = func(stripeapi.ListedSession) error { return nil }
			}
			err := newClient(u).ListSessions(context.Background(), time.Now().Add(-time.Hour), fn)
			require.ErrorContains(t, err, tt.want)
			require.Equal(t, tt.unreachable, errors.Is(err, stripeapi.ErrUnreachable), "%v", err)
			require.Equal(t, tt.permanent, order.IsPermanent(err), "%v", err)
			setting, _ := order.MisconfiguredSetting(err)
			require.Equal(t, tt.setting, setting, "%v", err)
			require.NotContains(t, err.Error(), stripetest.Key)
			if tt.fn != nil {
				require.ErrorIs(t, err, errStop, "fn's error comes back as it is")
			}
		})
	}
}

// TestListSessionsAgainstStripeMock proves that stripe-mock, which validates
// parameters against Stripe's OpenAPI spec, accepts the list request.
func TestListSessionsAgainstStripeMock(t *testing.T) {
	m := testenv.StartStripeMock(t, "")
	n := 0
	err := newClient(m.URL).ListSessions(context.Background(), time.Now().Add(-72*time.Hour), func(s stripeapi.ListedSession) error {
		n++
		require.NotEmpty(t, s.ID)
		require.NotEmpty(t, s.Status)
		return nil
	})
	require.NoError(t, err)
	require.Positive(t, n)
}
