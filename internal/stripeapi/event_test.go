package stripeapi

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

// nest returns the member "x" holding n arrays nested in each other.
func nest(n int) string { return `"x":` + strings.Repeat("[", n) + strings.Repeat("]", n) }

// refund is a charge.refunded event whose data.object.payment_intent is pi
// (raw JSON).
func refund(pi string) string {
	return `{"id":"evt_1","object":"event","type":"charge.refunded","data":{"object":{"id":"ch_1","object":"charge","payment_intent":` + pi + `}}}`
}

// withMember is a checkout.session.completed event with one more member
// (raw JSON) at the top level, after the others.
func withMember(member string) string {
	return `{"id":"evt_1","object":"event","type":"checkout.session.completed","data":{"object":{"id":"cs_test_1","object":"checkout.session"}},` + member + `}`
}

var (
	long      = strings.Repeat("a", order.MaxIDBytes-3) // with a 4-byte prefix: 256 bytes
	completed = Event{ID: "evt_1", Type: "checkout.session.completed", ObjectID: "cs_test_1", ObjectType: "checkout.session"}
	refunded  = Event{ID: "evt_1", Type: "charge.refunded", ObjectID: "ch_1", ObjectType: "charge"}
)

// parseCases are parseEvent's edge cases; FuzzEventDecode starts from them.
// A refused payload's leak, when set, is a part of it that the error must
// not quote.
var parseCases = []struct {
	name    string
	payload string
	want    Event
	wantErr bool
	leak    string
}{
	{name: "every member kept", payload: `{"id":"evt_1","object":"event","type":"charge.refunded","livemode":true,"created":1700000000,"api_version":"2023-10-16","data":{"object":{"id":"ch_1","object":"charge","payment_intent":"pi_1"}}}`,
		want: Event{ID: "evt_1", Type: "charge.refunded", Livemode: true, Created: 1700000000, APIVersion: "2023-10-16", ObjectID: "ch_1", ObjectType: "charge", PaymentIntent: "pi_1"}},
	{name: "payment intent null", payload: refund(`null`), want: refunded},
	{name: "payment intent escaped", payload: refund(`"pi_\u0031"`), want: Event{ID: "evt_1", Type: "charge.refunded", ObjectID: "ch_1", ObjectType: "charge", PaymentIntent: "pi_1"}},
	{name: "escaped id", payload: strings.Replace(withMember(`"x":1`), `"evt_1"`, `"evt_\u0031"`, 1), want: completed},
	{name: "duplicate keys: the last wins", payload: withMember(`"id":"evt_2"`), want: Event{ID: "evt_2", Type: completed.Type, ObjectID: completed.ObjectID, ObjectType: completed.ObjectType}},
	{name: "kept keys at other levels are not taken", payload: withMember(`"request":{"id":"req_1","type":"x"},"x":[{"id":"evt_9"}]`), want: completed},
	{name: "other members of every type", payload: withMember(`"a":[],"b":{},"c":[1,-2.5e+3,"s",true,false,null,{"k":[{}]}],"f":1e400`), want: completed},
	{name: "depth 10000", payload: withMember(nest(9999)), want: completed},
	{name: "ids of 255 bytes", payload: `{"id":"evt_` + long[1:] + `","object":"event","type":"typ` + long + `","data":{"object":{"id":"cs_t` + long[1:] + `","object":"checkout.session"}}}`,
		want: Event{ID: "evt_" + long[1:], Type: "typ" + long, ObjectID: "cs_t" + long[1:], ObjectType: "checkout.session"}},

	// Not JSON, or not an object of the event's shape.
	{name: "empty body", payload: ``, wantErr: true},
	{name: "trailing garbage", payload: withMember(`"x":1`) + ` LEAK`, wantErr: true, leak: "LEAK"},
	{name: "invalid character", payload: `{"id":"evt_1",LEAK}`, wantErr: true, leak: "LEAK"},
	{name: "depth 10001", payload: withMember(nest(10000)), wantErr: true},
	{name: "top-level array", payload: `[]`, wantErr: true},
	{name: "top-level string", payload: `"evt_LEAK"`, wantErr: true, leak: "LEAK"},
	{name: "id a number", payload: `{"id":5}`, wantErr: true},
	{name: "livemode a string", payload: `{"livemode":"LEAK"}`, wantErr: true, leak: "LEAK"},
	{name: "created a fraction", payload: `{"created":1234567.5}`, wantErr: true, leak: "1234567"},
	{name: "created over int64", payload: `{"created":92233720368547758070}`, wantErr: true, leak: "922337"},
	{name: "data.object a string", payload: `{"data":{"object":"LEAK"}}`, wantErr: true, leak: "LEAK"},
	{name: "payment intent a number", payload: refund(`123456789`), wantErr: true, leak: "123456789"},
	{name: "payment intent an object", payload: refund(`{"id":"pi_1"}`), wantErr: true},
	{name: "payment intent true", payload: refund(`true`), wantErr: true},

	// An event, but not one the pipeline takes.
	{name: "not an event", payload: strings.Replace(withMember(`"x":1`), `"object":"event"`, `"object":"charge"`, 1), wantErr: true},
	{name: "no type", payload: strings.Replace(withMember(`"x":1`), `"checkout.session.completed"`, `""`, 1), wantErr: true},
	{name: "id without evt_", payload: strings.Replace(withMember(`"x":1`), `"evt_1"`, `"ch_LEAK"`, 1), wantErr: true, leak: "LEAK"},
	{name: "id with a quote", payload: strings.Replace(withMember(`"x":1`), `"evt_1"`, `"evt_1\"LEAK"`, 1), wantErr: true, leak: "LEAK"},
	{name: "id with a space", payload: strings.Replace(withMember(`"x":1`), `"evt_1"`, `"evt_1 LEAK"`, 1), wantErr: true, leak: "LEAK"},
	{name: "id of 256 bytes", payload: strings.Replace(withMember(`"x":1`), `"evt_1"`, `"evt_`+long+`"`, 1), wantErr: true},
	{name: "type of 256 bytes", payload: strings.Replace(withMember(`"x":1`), `"checkout.session.completed"`, `"type`+long+`"`, 1), wantErr: true},
	{name: "api version of 256 bytes", payload: withMember(`"api_version":"2023` + long + `"`), wantErr: true},
	{name: "object id of 256 bytes", payload: strings.Replace(withMember(`"x":1`), `"cs_test_1"`, `"cs_t`+long+`"`, 1), wantErr: true},
	{name: "object type of 256 bytes", payload: strings.Replace(withMember(`"x":1`), `"checkout.session"`, `"chec`+long+`"`, 1), wantErr: true},
	{name: "payment intent of 256 bytes", payload: refund(`"pi_a` + long + `"`), wantErr: true},
}

func TestParseEvent(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseEvent([]byte(tc.payload))
			if tc.wantErr {
				require.ErrorIs(t, err, ErrMalformedEvent)
				require.Less(t, len(err.Error()), 120, "the reason is short: it goes back in the answer")
				if tc.leak != "" {
					require.NotContains(t, err.Error(), tc.leak, "the reason quotes none of the payload")
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestParseEventAsStripeSendsIt decodes a whole checkout.session.completed
// event as Stripe sends it (pretty-printed, about 3 KB).
func TestParseEventAsStripeSendsIt(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("..", "checkoutcomplete", "testdata", "checkout_session_completed.json"))
	require.NoError(t, err)
	ev, err := parseEvent(body)
	require.NoError(t, err)
	require.Equal(t, Event{ID: "evt_1QbN8eLkdIwHu7ixZ2m4pT9q", Type: "checkout.session.completed", Created: 1700000000, APIVersion: "2023-10-16",
		ObjectID: "cs_test_a1kQ9Zf3Lx8TtYp2Rr7WmN4vBc6Hd0Jg5Ks1Ue8Xo3Ai9Ey2Mb", ObjectType: "checkout.session", PaymentIntent: "pi_3QbN8bLkdIwHu7ix0Y1x2W3v"}, ev)
}

// FuzzEventDecode holds parseEvent to the bounds README's Security section
// promises, whatever the payload: it never panics; a refusal wraps
// ErrMalformedEvent with a short reason; an accepted payload is JSON whose
// event has an evt_ id of letters, digits and underscores and a type, every
// kept value at most order.MaxIDBytes, and its Event decodes the same again
// once written back as an event. The seeds are parseCases;
// testdata/fuzz/FuzzEventDecode has whole events.
func FuzzEventDecode(f *testing.F) {
	for _, tc := range parseCases {
		if len(tc.payload) < 4<<10 { // the fuzzer mutates large seeds slowly
			f.Add([]byte(tc.payload))
		}
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		ev, err := parseEvent(payload)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformedEvent)
			require.Less(t, len(err.Error()), 120)
			return
		}
		require.True(t, json.Valid(payload))
		require.True(t, order.ValidEventID(ev.ID), "%q", ev.ID)
		require.NotEmpty(t, ev.Type)
		for _, v := range []string{ev.Type, ev.APIVersion, ev.ObjectID, ev.ObjectType, ev.PaymentIntent} {
			require.LessOrEqual(t, len(v), order.MaxIDBytes)
		}
		var again eventJSON
		again.ID, again.Object, again.Type, again.Livemode, again.Created, again.APIVersion = ev.ID, "event", ev.Type, ev.Livemode, ev.Created, ev.APIVersion
		again.Data.Object.ID, again.Data.Object.Object, again.Data.Object.PaymentIntent = ev.ObjectID, ev.ObjectType, ev.PaymentIntent
		b, err := json.Marshal(again)
		require.NoError(t, err)
		got, err := parseEvent(b)
		require.NoError(t, err)
		require.Equal(t, ev, got)
	})
}
