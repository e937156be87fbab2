package stripeapi_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

const (
	whSecret    = "whsec_test_current"
	whOldSecret = "whsec_test_previous"
)

var whNow = time.Unix(1_700_000_000, 0)

func whEvent(id, objectID string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"object":"event","api_version":"2025-10-29.clover","created":1700000000,"livemode":false,"type":"checkout.session.completed","data":{"object":{"id":%q,"object":"checkout.session"}}}`,
		id, objectID)
}

// whSign returns stripe-go's Stripe-Signature header for body signed with
// secret at t: "t=<unix>,v1=<hex>".
func whSign(body []byte, secret string, t time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: t}).Header
}

// v1 returns the "v1=<hex>" part of a header whSign made.
func v1(header string) string {
	_, sig, _ := strings.Cut(header, ",")
	return sig
}

func ts(t time.Time) string { return "t=" + strconv.FormatInt(t.Unix(), 10) }

func TestVerifyEvent(t *testing.T) {
	body := whEvent("evt_1", "cs_test_a1")
	fresh := whNow.Add(-time.Minute)
	old := whNow.Add(-72 * time.Hour)
	yearOld := whNow.Add(-365 * 24 * time.Hour)
	sigFresh, sigOld, sigYearOld := v1(whSign(body, whSecret, fresh)), v1(whSign(body, whSecret, old)), v1(whSign(body, whSecret, yearOld))
	fixed := func(h string) func([]byte) string { return func([]byte) string { return h } }
	tests := []struct {
		name    string
		body    []byte
		header  func(body []byte) string // nil: body signed with whSecret a minute ago
		wantErr error
	}{
		{name: "valid", body: body, header: fixed(whSign(body, whSecret, fresh))},
		{name: "signed with the previous secret while it is rolled", body: body, header: fixed(whSign(body, whOldSecret, fresh))},
		{name: "v0 and unknown keys beside v1 are ignored", body: body, header: fixed(ts(fresh) + ",v0=abc,x=y," + sigFresh)},
		{name: "v1 that is not hex is ignored", body: body, header: fixed(ts(fresh) + ",v1=zz," + sigFresh)},
		{name: "just inside the window, in the past", body: body, header: fixed(whSign(body, whSecret, whNow.Add(-stripeapi.Tolerance)))},
		{name: "just inside the window, in the future", body: body, header: fixed(whSign(body, whSecret, whNow.Add(stripeapi.Tolerance)))},
		{name: "stale", body: body, header: fixed(whSign(body, whSecret, whNow.Add(-stripeapi.Tolerance-time.Second))), wantErr: stripeapi.ErrStale},
		{name: "future", body: body, header: fixed(whSign(body, whSecret, whNow.Add(stripeapi.Tolerance+time.Second))), wantErr: stripeapi.ErrStale},
		{name: "three days old", body: body, header: fixed(whSign(body, whSecret, old)), wantErr: stripeapi.ErrStale},

		// Replays: a fresh t= for the age check, an old one for the HMAC.
		{name: "replay: fresh t= before the old signed one", body: body, header: fixed(ts(fresh) + "," + ts(old) + "," + sigOld), wantErr: stripeapi.ErrBadHeader},
		{name: "replay: year-old signed t= after a fresh one", body: body, header: fixed(ts(whNow) + "," + ts(yearOld) + "," + sigYearOld), wantErr: stripeapi.ErrBadHeader},
		{name: "replay: old signed t= before a fresh one", body: body, header: fixed(ts(old) + "," + ts(fresh) + "," + sigOld), wantErr: stripeapi.ErrBadHeader},
		{name: "replay: fresh t= after the signature", body: body, header: fixed(ts(old) + "," + sigOld + "," + ts(fresh)), wantErr: stripeapi.ErrBadHeader},
		{name: "two t=, signature over the fresh one first", body: body, header: fixed(ts(fresh) + "," + ts(old) + "," + sigFresh), wantErr: stripeapi.ErrBadHeader},
		{name: "two t=, signature over the fresh one second", body: body, header: fixed(ts(old) + "," + ts(fresh) + "," + sigFresh), wantErr: stripeapi.ErrBadHeader},
		{name: "the same fresh t= twice", body: body, header: fixed(ts(fresh) + "," + ts(fresh) + "," + sigFresh), wantErr: stripeapi.ErrBadHeader},
		{name: "the same old t= twice", body: body, header: fixed(ts(old) + "," + ts(old) + "," + sigOld), wantErr: stripeapi.ErrBadHeader},
		{name: "a second t= hidden behind a space", body: body, header: fixed(ts(fresh) + ", " + ts(old) + "," + sigOld), wantErr: stripeapi.ErrBadHeader},
		{name: "the signature is over another timestamp", body: body, header: fixed(ts(fresh) + "," + sigOld), wantErr: stripeapi.ErrNoValidSig},
		{name: "the HMAC is over t= as sent: a leading zero changes it", body: body, header: fixed("t=0" + strconv.FormatInt(fresh.Unix(), 10) + "," + sigFresh), wantErr: stripeapi.ErrNoValidSig},
		{name: "t= with a sign", body: body, header: fixed("t=+" + strconv.FormatInt(fresh.Unix(), 10) + "," + sigFresh), wantErr: stripeapi.ErrBadHeader},
		{name: "no t=", body: body, header: fixed(sigFresh), wantErr: stripeapi.ErrBadHeader},
		{name: "no v1", body: body, header: fixed(ts(fresh) + ",v0=abc"), wantErr: stripeapi.ErrNoValidSig},
		{name: "wrong secret", body: body, header: fixed(whSign(body, "whsec_wrong", fresh)), wantErr: stripeapi.ErrNoValidSig},
		{name: "missing header", body: body, header: fixed(""), wantErr: stripeapi.ErrNotSigned},

		// Ids are bounded where they enter (signed fresh with whSecret).
		{name: "event id of 255 bytes", body: whEvent("evt_"+strings.Repeat("a", order.MaxIDBytes-4), "cs_test_a1")},
		{name: "event id of 256 bytes", body: whEvent("evt_"+strings.Repeat("a", order.MaxIDBytes-3), "cs_test_a1"), wantErr: stripeapi.ErrMalformedEvent},
		{name: "event id of 400 KB", body: whEvent("evt_"+strings.Repeat("a", 400<<10), "cs_test_a1"), wantErr: stripeapi.ErrMalformedEvent},
		{name: "event id with a quote", body: whEvent(`evt_1"x`, "cs_test_a1"), wantErr: stripeapi.ErrMalformedEvent},
		{name: "object id of 400 KB", body: whEvent("evt_1", "cs_test_"+strings.Repeat("a", 400<<10)), wantErr: stripeapi.ErrMalformedEvent},
		{name: "type of 400 KB", body: []byte(`{"id":"evt_1","object":"event","type":"` + strings.Repeat("x", 400<<10) + `","data":{"object":{}}}`), wantErr: stripeapi.ErrMalformedEvent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			header := whSign(tc.body, whSecret, fresh)
			if tc.header != nil {
				header = tc.header(tc.body)
			}
			ev, err := stripeapi.VerifyEvent(tc.body, header, []string{whSecret, whOldSecret}, whNow)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.Less(t, len(err.Error()), 200, "the reason is ours and short: it goes back in the answer")
				return
			}
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(ev.ID, "evt_"))
			require.Equal(t, "checkout.session.completed", ev.Type)
		})
	}
}

func TestVerifyPaymentEvent(t *testing.T) {
	refund := func(pi string) []byte {
		return fmt.Appendf(nil, `{"id":"evt_1","object":"event","type":"charge.refunded","data":{"object":{"id":"ch_1","object":"charge","payment_intent":%s}}}`, pi)
	}
	tests := []struct {
		name    string
		body    []byte
		want    string
		wantErr error
	}{
		{name: "payment intent", body: refund(`"pi_3Om"`), want: "pi_3Om"},
		{name: "no payment intent", body: refund(`null`)},
		{name: "payment intent of 255 bytes", body: refund(`"pi_` + strings.Repeat("a", order.MaxIDBytes-3) + `"`), want: "pi_" + strings.Repeat("a", order.MaxIDBytes-3)},
		{name: "payment intent of 256 bytes", body: refund(`"pi_` + strings.Repeat("a", order.MaxIDBytes-2) + `"`), wantErr: stripeapi.ErrMalformedEvent},
		{name: "payment intent as an object", body: refund(`{"id":"pi_3Om"}`), wantErr: stripeapi.ErrMalformedEvent},
		{name: "payment intent as a number", body: refund(`12`), wantErr: stripeapi.ErrMalformedEvent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := stripeapi.VerifyEvent(tc.body, whSign(tc.body, whSecret, whNow), []string{whSecret}, whNow)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, ev.PaymentIntent)
			require.Equal(t, "charge", ev.ObjectType)
			require.Equal(t, "ch_1", ev.ObjectID)
		})
	}
	body, header, err := stripeapi.SimulatedPaymentEvent("evt_2", order.EventDisputeClosed, "dp_1", "pi_3Om", false, whSecret, whNow)
	require.NoError(t, err)
	ev, err := stripeapi.VerifyEvent(body, header, []string{whSecret}, whNow)
	require.NoError(t, err)
	require.Equal(t, stripeapi.Event{ID: "evt_2", Type: order.EventDisputeClosed, Created: whNow.Unix(), ObjectID: "dp_1", ObjectType: "dispute",
		APIVersion: "2023-10-16", PaymentIntent: "pi_3Om"}, ev)
}
