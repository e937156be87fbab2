package order_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sampleEvent is a valid event of type t, with the part that type carries.
func sampleEvent(t order.EventType) order.Event {
	e := order.Event{
		Version: order.EventVersion,
		ID:      order.NewEventID("cs_test_a1b2c3", t, "evt_1QbXyz"),
		Type:    t,
		Time:    time.Date(2026, 5, 1, 10, 0, 0, 123456789, time.UTC),
		Order: order.EventOrder{
			SessionID:   "cs_test_a1b2c3",
			State:       order.StateMailSent,
			AmountTotal: 1999,
			Currency:    "eur",
			Items:       []order.EventItem{{Title: "Night sky, print-ready", Quantity: 1}, {Title: "Presets", Quantity: 2}},
			PaidAt:      time.Date(2026, 5, 1, 9, 59, 58, 0, time.UTC),
		},
		Customer: order.EventCustomer{Email: "ada@example.com", Name: "Ada Lovelace", Language: "en"},
	}
	switch t {
	case order.TypeMailAccepted, order.TypeMailDelivered:
		e.Mail = &order.EventMail{Kind: order.MailDownloadLinks, Generation: 1}
	case order.TypeMailNotDelivered:
		e.Mail = &order.EventMail{Kind: order.MailDownloadLinks, Generation: 1, Status: "Bounced"}
	case order.TypeRefunded:
		e.Refund = &order.EventRefund{AmountRefunded: 500}
	case order.TypeDisputeOpened, order.TypeDisputeClosed:
		e.Dispute = &order.EventDispute{Status: "needs_response"}
	case order.TypeAccessRevoked, order.TypeAccessRestored:
		e.Access = &order.EventAccess{By: string(order.HoldOperator), Reason: "asked by the customer"}
	case order.TypeNeedsAttention:
		e.Attention = &order.EventAttention{Reason: "the session has no customer email"}
	}
	return e
}

// TestEventTypes pins the wire values: receivers match on them.
func TestEventTypes(t *testing.T) {
	var got []string
	for _, typ := range order.EventTypes() {
		got = append(got, string(typ))
	}
	require.Equal(t, []string{"order.paid", "order.links_ready", "order.mail_accepted", "order.mail_delivered",
		"order.mail_not_delivered", "order.payment_failed", "order.refunded", "order.dispute_opened",
		"order.dispute_closed", "order.access_revoked", "order.access_restored", "order.needs_attention"}, got)
}

// TestEventRoundTrip: every type's sample encodes, decodes to itself, and
// is what it was.
func TestEventRoundTrip(t *testing.T) {
	for _, typ := range order.EventTypes() {
		t.Run(string(typ), func(t *testing.T) {
			e := sampleEvent(typ)
			data, err := order.EncodeEvent(e)
			require.NoError(t, err)
			got, err := order.DecodeEvent(data)
			require.NoError(t, err)
			require.Equal(t, e, got)
		})
	}
}

// TestEventGolden pins the JSON of an event, the contract receivers parse
// (docs/order-events.md shows the same file).
func TestEventGolden(t *testing.T) {
	e := sampleEvent(order.TypeRefunded)
	e.Refund = &order.EventRefund{AmountRefunded: 1999, Full: true}
	e.Order.PageURL = "https://shop.example/api/download/cs_test_a1b2c3.token"
	data, err := order.EncodeEvent(e)
	require.NoError(t, err)
	var pretty bytes.Buffer
	require.NoError(t, json.Indent(&pretty, data, "", "  "))
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", "event.json")
	if *update {
		require.NoError(t, os.WriteFile(path, pretty.Bytes(), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), pretty.String(), "run go test -update to accept a deliberate change")
	got, err := order.DecodeEvent(want)
	require.NoError(t, err, "the golden file decodes")
	require.Equal(t, e, got)
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "order-events.md"))
	require.NoError(t, err)
	require.Contains(t, string(doc), "```json\n"+string(want)+"```", "docs/order-events.md shows testdata/event.json")
}

// TestNewEventID: the same change gets the same id on every run; another
// change another one; every id is a valid webhook-id (no full stop).
func TestNewEventID(t *testing.T) {
	id := order.NewEventID("cs_test_a1b2c3", order.TypePaid, "evt_1")
	require.Equal(t, "oevt_f9018ecc2c4e596884b456c769ffd1d7", id, "pinned (Python uuid.uuid5 agrees): a changed derivation would publish a change twice under two ids")
	require.Equal(t, id, order.NewEventID("cs_test_a1b2c3", order.TypePaid, "evt_1"))
	require.NotEqual(t, id, order.NewEventID("cs_test_a1b2c3", order.TypePaid, "evt_2"))
	require.NotEqual(t, id, order.NewEventID("cs_test_a1b2c3", order.TypeLinksReady, "evt_1"))
	require.NotEqual(t, id, order.NewEventID("cs_test_a1b2c4", order.TypePaid, "evt_1"))
	require.True(t, order.ValidOrderEventID(id))
	require.NotContains(t, id, ".")
	require.False(t, order.ValidOrderEventID("evt_1QbXyz"), "a Stripe event id is not an order event id")
}

func TestEventValidate(t *testing.T) {
	tests := []struct {
		name     string
		typ      order.EventType
		edit     func(e *order.Event)
		problems []string // substrings of the error; none: valid
	}{
		{name: "paid", typ: order.TypePaid},
		{name: "no amount and no currency", typ: order.TypeNeedsAttention, edit: func(e *order.Event) {
			e.Order.AmountTotal, e.Order.Currency, e.Order.Items, e.Order.PaidAt = 0, "", nil, time.Time{}
			e.Customer = order.EventCustomer{}
		}},
		{name: "a page link on a loopback host", typ: order.TypePaid, edit: func(e *order.Event) {
			e.Order.PageURL = "http://127.0.0.1:7071/api/download/cs_test_a1b2c3.token"
		}},
		{name: "a regional language", typ: order.TypePaid, edit: func(e *order.Event) { e.Customer.Language = "fr-CA" }},
		{name: "a partial refund of zero", typ: order.TypeRefunded, edit: func(e *order.Event) { e.Refund.AmountRefunded = 0 }},

		{name: "another version", typ: order.TypePaid, edit: func(e *order.Event) { e.Version = 2 }, problems: []string{"unsupported version 2"}},
		{name: "a Stripe event id", typ: order.TypePaid, edit: func(e *order.Event) { e.ID = "evt_1" }, problems: []string{`id "evt_1" is not an order event id`}},
		{name: "an id with a full stop", typ: order.TypePaid, edit: func(e *order.Event) { e.ID = "oevt_a.b" }, problems: []string{"is not an order event id"}},
		{name: "an id too long", typ: order.TypePaid, edit: func(e *order.Event) { e.ID = "oevt_" + strings.Repeat("a", 251) }, problems: []string{"is not an order event id"}},
		{name: "an unknown type", typ: order.TypePaid, edit: func(e *order.Event) { e.Type = "order.shipped" }, problems: []string{`type "order.shipped" is unknown`}},
		{name: "no time", typ: order.TypePaid, edit: func(e *order.Event) { e.Time = time.Time{} }, problems: []string{"timestamp is missing"}},
		{name: "a time out of range", typ: order.TypePaid, edit: func(e *order.Event) { e.Time = time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC) }, problems: []string{"timestamp 1999-01-01T00:00:00Z is out of range"}},
		{name: "a bad session id", typ: order.TypePaid, edit: func(e *order.Event) { e.Order.SessionID = "pi_1" }, problems: []string{"order session_id"}},
		{name: "an unknown state", typ: order.TypePaid, edit: func(e *order.Event) { e.Order.State = "shipped" }, problems: []string{`order state "shipped" is unknown`}},
		{name: "a negative amount", typ: order.TypePaid, edit: func(e *order.Event) { e.Order.AmountTotal = -1 }, problems: []string{"amount_total -1 is out of range"}},
		{name: "an amount past 2^53", typ: order.TypePaid, edit: func(e *order.Event) { e.Order.AmountTotal = 1 << 53 }, problems: []string{"out of range"}},
		{name: "an amount without currency", typ: order.TypePaid, edit: func(e *order.Event) { e.Order.Currency = "" }, problems: []string{"has no currency"}},
		{name: "an uppercase currency", typ: order.TypePaid, edit: func(e *order.Event) { e.Order.Currency = "EUR" }, problems: []string{"not a lowercase ISO 4217 code"}},
		{name: "too many items", typ: order.TypePaid, edit: func(e *order.Event) {
			e.Order.Items = make([]order.EventItem, order.MaxEventItems+1)
			for i := range e.Order.Items {
				e.Order.Items[i] = order.EventItem{Title: "x", Quantity: 1}
			}
		}, problems: []string{"order has 101 items, more than 100"}},
		{name: "an empty title", typ: order.TypePaid, edit: func(e *order.Event) { e.Order.Items[0].Title = "" }, problems: []string{"order item 1: title"}},
		{name: "a title with a line break", typ: order.TypePaid, edit: func(e *order.Event) { e.Order.Items[1].Title = "a\nb" }, problems: []string{"order item 2: title"}},
		{name: "a title too long", typ: order.TypePaid, edit: func(e *order.Event) { e.Order.Items[0].Title = strings.Repeat("é", 201) }, problems: []string{"order item 1: title"}},
		{name: "a negative quantity", typ: order.TypePaid, edit: func(e *order.Event) { e.Order.Items[0].Quantity = -2 }, problems: []string{"quantity -2 is out of range"}},
		{name: "a page link over http", typ: order.TypePaid, edit: func(e *order.Event) { e.Order.PageURL = "http://shop.example/x" }, problems: []string{"page_url is not an https URL"}},
		{name: "a page link with a user", typ: order.TypePaid, edit: func(e *order.Event) { e.Order.PageURL = "https://u:p@shop.example/x" }, problems: []string{"page_url"}},
		{name: "a page link too long", typ: order.TypePaid, edit: func(e *order.Event) { e.Order.PageURL = "https://shop.example/" + strings.Repeat("a", 2048) }, problems: []string{"page_url"}},
		{name: "a paid time out of range", typ: order.TypePaid, edit: func(e *order.Event) { e.Order.PaidAt = time.Date(1970, 1, 1, 0, 0, 1, 0, time.UTC) }, problems: []string{"order paid_at"}},
		{name: "an email with a name", typ: order.TypePaid, edit: func(e *order.Event) { e.Customer.Email = "Ada <ada@example.com>" }, problems: []string{"is not a bare email address"}},
		{name: "an email that is none", typ: order.TypePaid, edit: func(e *order.Event) { e.Customer.Email = "ada" }, problems: []string{"customer email"}},
		{name: "an email too long", typ: order.TypePaid, edit: func(e *order.Event) { e.Customer.Email = strings.Repeat("a", 250) + "@example.com" }, problems: []string{"customer email"}},
		{name: "a name with a control character", typ: order.TypePaid, edit: func(e *order.Event) { e.Customer.Name = "Ada\u202eLovelace" }, problems: []string{"customer name"}},
		{name: "a name with two spaces", typ: order.TypePaid, edit: func(e *order.Event) { e.Customer.Name = "Ada  Lovelace" }, problems: []string{"customer name"}},
		{name: "a language that is none", typ: order.TypePaid, edit: func(e *order.Event) { e.Customer.Language = "en_US" }, problems: []string{"customer language"}},
		{name: "a language too long", typ: order.TypePaid, edit: func(e *order.Event) { e.Customer.Language = "en-" + strings.Repeat("abcdefgh-", 4) + "x" }, problems: []string{"customer language"}},

		{name: "a refund without its part", typ: order.TypeRefunded, edit: func(e *order.Event) { e.Refund = nil }, problems: []string{"type order.refunded needs its refund"}},
		{name: "a paid event with a refund", typ: order.TypePaid, edit: func(e *order.Event) { e.Refund = &order.EventRefund{} }, problems: []string{`type "order.paid" carries no refund`}},
		{name: "a negative refund", typ: order.TypeRefunded, edit: func(e *order.Event) { e.Refund.AmountRefunded = -1 }, problems: []string{"refund: amount_refunded -1 is out of range"}},
		{name: "a mail of no kind", typ: order.TypeMailAccepted, edit: func(e *order.Event) { e.Mail.Kind = "receipt" }, problems: []string{`mail: kind "receipt" is unknown`}},
		{name: "a mail of generation 0", typ: order.TypeMailDelivered, edit: func(e *order.Event) { e.Mail.Generation = 0 }, problems: []string{"mail: generation 0 is not positive"}},
		{name: "a mail status with a space", typ: order.TypeMailNotDelivered, edit: func(e *order.Event) { e.Mail.Status = "Not delivered" }, problems: []string{"mail: status"}},
		{name: "a dispute without status", typ: order.TypeDisputeClosed, edit: func(e *order.Event) { e.Dispute.Status = "" }, problems: []string{"dispute: status"}},
		{name: "an access by nobody", typ: order.TypeAccessRevoked, edit: func(e *order.Event) { e.Access.By = "" }, problems: []string{`access: by "" is unknown`}},
		{name: "an access reason too long", typ: order.TypeAccessRestored, edit: func(e *order.Event) { e.Access.Reason = strings.Repeat("a", 501) }, problems: []string{"access: reason"}},
		{name: "attention without a reason", typ: order.TypeNeedsAttention, edit: func(e *order.Event) { e.Attention.Reason = "" }, problems: []string{"attention: reason"}},
		{name: "every problem at once", typ: order.TypePaid, edit: func(e *order.Event) {
			e.Version, e.Order.State, e.Customer.Email = 0, "", "x"
		}, problems: []string{"unsupported version 0", "order state", "customer email"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := sampleEvent(tt.typ)
			if tt.edit != nil {
				tt.edit(&e)
			}
			err := e.Validate()
			if len(tt.problems) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, p := range tt.problems {
				require.Contains(t, err.Error(), p)
			}
			_, err = order.EncodeEvent(e)
			require.True(t, order.IsPermanent(err), "an invalid event never encodes: %v", err)
		})
	}
}

func TestDecodeEventRefuses(t *testing.T) {
	valid, err := order.EncodeEvent(sampleEvent(order.TypePaid))
	require.NoError(t, err)
	tests := []struct {
		name    string
		data    []byte
		problem string
	}{
		{"not JSON", []byte("{"), "decode order event"},
		{"an array", []byte("[]"), "decode order event"},
		{"empty object", []byte("{}"), "unsupported version 0"},
		{"too big", append(valid[:len(valid)-1], []byte(`,"pad":"`+strings.Repeat("x", order.MaxEventBytes)+`"}`)...), "more than 32768"},
		{"a string amount", bytes.Replace(valid, []byte(`"amount_total":1999`), []byte(`"amount_total":"1999"`), 1), "decode order event"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := order.DecodeEvent(tt.data)
			require.ErrorContains(t, err, tt.problem)
			require.True(t, order.IsPermanent(err))
		})
	}
	_, err = order.DecodeEvent(bytes.Replace(valid, []byte(`"version":1`), []byte(`"version":1,"future":true`), 1))
	require.NoError(t, err, "a field this version does not know is ignored")
}

// TestEncodeEventBound: an event that validates but does not fit is
// refused when encoded, not left for the queue to refuse.
func TestEncodeEventBound(t *testing.T) {
	e := sampleEvent(order.TypePaid)
	e.Order.Items = nil
	for range order.MaxEventItems {
		e.Order.Items = append(e.Order.Items, order.EventItem{Title: strings.Repeat("<", 150), Quantity: 1})
	}
	require.NoError(t, e.Validate())
	_, err := order.EncodeEvent(e)
	require.ErrorContains(t, err, "more than 32768: send fewer items")
	require.True(t, order.IsPermanent(err))
}
