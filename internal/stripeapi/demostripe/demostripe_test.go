package demostripe_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/stripeapi"
	"github.com/filedrop/filedrop/internal/stripeapi/demostripe"
	"github.com/filedrop/filedrop/internal/testenv"
)

const key = "sk_test_filedropdemo"

var charge = demostripe.Charge{ID: "ch_demo_harbour", PaymentIntent: "pi_demo_harbour", Amount: 1500, Currency: "eur",
	Created: time.Unix(1763900090, 0).UTC()}

// start runs the demo Stripe in front of stripe-mock with the project's
// demo fixtures, as handler local does in demo mode.
func start(t *testing.T) (*stripeapi.Client, string) {
	t.Helper()
	mock := testenv.StartStripeMock(t, filepath.Join(testenv.RepoRoot(t), "demo", "stripe-fixtures.json"))
	ds, err := demostripe.New(mock.URL, charge, time.Now)
	require.NoError(t, err)
	srv := httptest.NewServer(ds)
	t.Cleanup(srv.Close)
	return stripeapi.New(key, stripeapi.Options{APIURL: srv.URL}, slog.New(slog.NewTextHandler(io.Discard, nil))), srv.URL
}

// post sends a form to the demo Stripe and returns the status and body.
func post(t *testing.T, base, path string, form url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestDemoStripe: the demo order's session comes from stripe-mock and its
// fixtures, its charge and disputes from the demo Stripe, with state, read
// through the same client ProcessOrder uses.
func TestDemoStripe(t *testing.T) {
	c, base := start(t)
	ctx := context.Background()

	s, err := c.Session(ctx, "cs_test_demo_harbour")
	require.NoError(t, err)
	require.Equal(t, stripeapi.PaymentPaid, s.PaymentStatus)
	require.Equal(t, charge.PaymentIntent, s.PaymentIntent)
	require.Equal(t, charge.Created, s.PaidAt, "the fixtures' charge is the demo charge")
	id, err := c.SessionOfPayment(ctx, charge.PaymentIntent)
	require.NoError(t, err)
	require.Equal(t, "cs_test_demo_harbour", id)

	ch, err := c.Charge(ctx, charge.ID)
	require.NoError(t, err)
	require.Equal(t, stripeapi.Charge{ID: charge.ID, PaymentIntent: charge.PaymentIntent, Amount: 1500}, ch)

	status, body := post(t, base, "/v1/refunds", url.Values{"charge": {charge.ID}, "amount": {"500"}})
	require.Equal(t, http.StatusOK, status, body)
	ch, err = c.Charge(ctx, charge.ID)
	require.NoError(t, err)
	require.Equal(t, int64(500), ch.AmountRefunded)
	require.False(t, ch.Refunded)
	status, body = post(t, base, "/v1/refunds", url.Values{"charge": {charge.ID}})
	require.Equal(t, http.StatusOK, status, body)
	var refund struct {
		Object string
		Amount int64
	}
	require.NoError(t, json.Unmarshal([]byte(body), &refund))
	require.Equal(t, "refund", refund.Object)
	require.Equal(t, int64(1000), refund.Amount, "the rest of the charge")
	ch, err = c.Charge(ctx, charge.ID)
	require.NoError(t, err)
	require.True(t, ch.Refunded)
	require.Equal(t, int64(1500), ch.AmountRefunded)
	status, body = post(t, base, "/v1/refunds", url.Values{"charge": {charge.ID}})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, "charge_already_refunded")

	for _, want := range []string{"needs_response", "won"} {
		status, body := post(t, base, "/demo/disputes/dp_demo_harbour", url.Values{"charge": {charge.ID}, "status": {want}})
		require.Equal(t, http.StatusOK, status, body)
		dp, err := c.Dispute(ctx, "dp_demo_harbour")
		require.NoError(t, err)
		require.Equal(t, stripeapi.Dispute{ID: "dp_demo_harbour", PaymentIntent: charge.PaymentIntent, Status: want}, dp)
	}

	refused := []struct {
		path string
		form url.Values
		want int
		text string
	}{
		{"/v1/refunds", url.Values{"charge": {"ch_other"}}, http.StatusNotFound, "No such charge"},
		{"/demo/disputes/dp_demo_harbour", url.Values{"charge": {charge.ID}, "status": {"closed"}}, http.StatusBadRequest, "status must be one of"},
		{"/demo/disputes/dp_demo_harbour", url.Values{"charge": {"ch_other"}, "status": {"won"}}, http.StatusNotFound, "No such charge"},
		{"/demo/disputes/ch_demo_harbour", url.Values{"charge": {charge.ID}, "status": {"won"}}, http.StatusBadRequest, "a dispute id is dp_"},
	}
	for _, r := range refused {
		status, body := post(t, base, r.path, r.form)
		require.Equal(t, r.want, status, "%s %v: %s", r.path, r.form, body)
		require.Contains(t, body, r.text)
	}

	// Others' charges and disputes are stripe-mock's fixtures.
	other, err := c.Charge(ctx, "ch_other")
	require.NoError(t, err)
	require.Equal(t, "ch_other", other.ID)

	resp, err := http.Get(base + "/v1/charges/" + charge.ID)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a test-mode key is needed, as with stripe-mock")
}
