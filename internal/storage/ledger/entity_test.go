package ledger

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

// fullOrder returns an order with every field set, its times in a zone other
// than UTC and finer than the ledger's Resolution.
func fullOrder(id string) order.Order {
	base := time.Date(2025, 6, 1, 14, 30, 45, 123456789, time.FixedZone("CEST", 2*60*60))
	mail := make([]byte, 256)
	for i := range mail {
		mail[i] = byte(i)
	}
	return order.Restore(order.Snapshot{
		SessionID:       id,
		ETag:            "ignored",
		State:           order.StateNeedsAttention,
		Reason:          "no original for price_123 (ü)",
		LastError:       `send: 503 "it's busy"`,
		Attempts:        3,
		CustomerEmail:   "Ann.O'Neil@Example.com",
		Livemode:        true,
		EventIDs:        []string{"evt_1", "evt_2"},
		Items:           2,
		MailKind:        order.MailDownloadLinks,
		MailGeneration:  2,
		MailEventID:     "evt_resend_1",
		SentGeneration:  1,
		OperationID:     order.MailKey(id, order.MailDownloadLinks, 1),
		Mail:            mail,
		LeaseOwner:      "invocation-1",
		LeaseUntil:      base.Add(5 * time.Minute),
		ThrottledUntil:  base.Add(6 * time.Minute),
		Holds:           4,
		HeldUntil:       base.Add(7 * time.Minute),
		RetryAt:         base.Add(8 * time.Minute),
		BudgetSpent:     true,
		CreatedAt:       base,
		UpdatedAt:       base.Add(time.Hour),
		PaidAt:          base.Add(time.Second),
		OrderedAt:       base.Add(-time.Minute),
		LinksReadyAt:    base.Add(2 * time.Second),
		MailSentAt:      base.Add(3 * time.Second),
		PaymentFailedAt: base.Add(4 * time.Second),
		AttentionAt:     base.Add(5 * time.Second),
		Attentions:      2,
		Files: []order.File{{Title: "Harbour", Blob: "harbour.jpg", FileName: "harbour.jpg", Size: 12,
			Downloads: 1, DownloadedAt: []time.Time{base.Add(6 * time.Second)}, Clicks: []string{"c1"}}},
		PaymentIntent:  "pi_1",
		AccessUntil:    base.Add(720 * time.Hour),
		AccessHolds:    []order.Hold{{Kind: order.HoldRefund, Ref: "ch_1", Event: "evt_3", At: base.Add(7 * time.Second), Reason: "refunded in full (100 of 100)"}},
		RefundedAmount: 100,
		Disputes:       []order.Dispute{{ID: "dp_1", Status: "won"}},
		Granted:        order.Grant{At: base.Add(8 * time.Second), Refunded: 50, Disputes: []order.Dispute{{ID: "dp_1", Status: "needs_response"}}},
		Mails: []order.MailRecord{{OperationID: order.MailKey(id, order.MailDownloadLinks, 1), Kind: order.MailDownloadLinks, Generation: 1,
			To: "Ann.O'Neil@Example.com", Send: order.StatusSent, StartedAt: base.Add(9 * time.Second), SentAt: base.Add(10 * time.Second),
			Report: &order.MailReport{Status: order.MailBounced, Message: "550 mailbox unavailable", At: base.Add(11 * time.Second), EventID: "ev-1"}}},
		Outbox: []order.OutboxEvent{{ID: order.NewEventID(id, order.TypeRefunded, "100"), Type: order.TypeRefunded, At: base.Add(12 * time.Second),
			State: order.StateMailSent, Refund: &order.EventRefund{AmountRefunded: 100, Full: true},
			Sinks: []order.SinkDelivery{{Sink: "dataverse", QueuedAt: base.Add(13 * time.Second), Attempts: 1, Error: "dataverse: 503",
				FailedAt: base.Add(14 * time.Second)}}},
			{ID: order.NewEventID(id, order.TypeAccessRevoked, "x"), Type: order.TypeAccessRevoked, At: base.Add(15 * time.Second),
				State: order.StateMailSent, Access: &order.EventAccess{By: "refund"}}},
		EventsDropped: 2,
	})
}

// stored returns o as the ledger stores it: times in UTC to the tick.
func stored(rec order.Order) order.Order {
	o := rec.Snapshot()
	o.Files = slices.Clone(o.Files)
	for i := range o.Files {
		o.Files[i].DownloadedAt = slices.Clone(o.Files[i].DownloadedAt)
		for j, t := range o.Files[i].DownloadedAt {
			o.Files[i].DownloadedAt[j] = t.UTC().Truncate(Resolution)
		}
	}
	for _, f := range times(&o) {
		if !f.t.IsZero() {
			*f.t = f.t.UTC().Truncate(Resolution)
		}
	}
	o.AccessHolds = slices.Clone(o.AccessHolds)
	for i := range o.AccessHolds {
		o.AccessHolds[i].At = o.AccessHolds[i].At.UTC().Truncate(Resolution)
	}
	if !o.Granted.At.IsZero() {
		o.Granted.At = o.Granted.At.UTC().Truncate(Resolution)
	}
	o.Mails = normalizeMails(o.Mails)
	o.Outbox = normalizeOutbox(o.Outbox)
	return order.Restore(o)
}

func TestFullOrderSetsEveryField(t *testing.T) {
	// A field added to order.Order (and so to order.Snapshot) must be added
	// here, and so to the round trips, which fail until the ledger maps it.
	v := reflect.ValueOf(fullOrder("cs_test_full").Snapshot())
	for i := range v.NumField() {
		require.False(t, v.Field(i).IsZero(), "fullOrder leaves %s unset", v.Type().Field(i).Name)
	}
}

func TestEncodeWritesTheContract(t *testing.T) {
	o, err := normalize(fullOrder("cs_test_full"))
	require.NoError(t, err)
	body, err := encode(o)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(body, &got))
	require.Equal(t, map[string]any{
		"PartitionKey":               "cs_test_full",
		"RowKey":                     "order",
		"State":                      "needs_attention",
		"Reason":                     "no original for price_123 (ü)",
		"LastError":                  `send: 503 "it's busy"`,
		"Attempts":                   3.0,
		"CustomerEmail":              "Ann.O'Neil@Example.com",
		"CustomerEmailLower":         "ann.o'neil@example.com",
		"Livemode":                   true,
		"EventIDs":                   `["evt_1","evt_2"]`,
		"Items":                      2.0,
		"MailKind":                   "download_links",
		"MailGeneration":             2.0,
		"MailEventID":                "evt_resend_1",
		"SentGeneration":             1.0,
		"OperationID":                order.MailKey("cs_test_full", order.MailDownloadLinks, 1),
		"Mail":                       "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==",
		"Mail@odata.type":            "Edm.Binary",
		"LeaseOwner":                 "invocation-1",
		"LeaseUntil":                 "2025-06-01T12:35:45.1234567Z",
		"LeaseUntil@odata.type":      "Edm.DateTime",
		"ThrottledUntil":             "2025-06-01T12:36:45.1234567Z",
		"ThrottledUntil@odata.type":  "Edm.DateTime",
		"Holds":                      4.0,
		"HeldUntil":                  "2025-06-01T12:37:45.1234567Z",
		"HeldUntil@odata.type":       "Edm.DateTime",
		"RetryAt":                    "2025-06-01T12:38:45.1234567Z",
		"RetryAt@odata.type":         "Edm.DateTime",
		"BudgetSpent":                true,
		"CreatedAt":                  "2025-06-01T12:30:45.1234567Z",
		"CreatedAt@odata.type":       "Edm.DateTime",
		"UpdatedAt":                  "2025-06-01T13:30:45.1234567Z",
		"UpdatedAt@odata.type":       "Edm.DateTime",
		"PaidAt":                     "2025-06-01T12:30:46.1234567Z",
		"PaidAt@odata.type":          "Edm.DateTime",
		"OrderedAt":                  "2025-06-01T12:29:45.1234567Z",
		"OrderedAt@odata.type":       "Edm.DateTime",
		"LinksReadyAt":               "2025-06-01T12:30:47.1234567Z",
		"LinksReadyAt@odata.type":    "Edm.DateTime",
		"MailSentAt":                 "2025-06-01T12:30:48.1234567Z",
		"MailSentAt@odata.type":      "Edm.DateTime",
		"PaymentFailedAt":            "2025-06-01T12:30:49.1234567Z",
		"PaymentFailedAt@odata.type": "Edm.DateTime",
		"AttentionAt":                "2025-06-01T12:30:50.1234567Z",
		"AttentionAt@odata.type":     "Edm.DateTime",
		"Attentions":                 2.0,
		"Files":                      `[{"title":"Harbour","blob":"harbour.jpg","file_name":"harbour.jpg","size":12,"downloads":1,"downloaded_at":["2025-06-01T12:30:51.1234567Z"],"clicks":["c1"]}]`,
		"PaymentIntent":              "pi_1",
		"AccessUntil":                "2025-07-01T12:30:45.1234567Z",
		"AccessUntil@odata.type":     "Edm.DateTime",
		"Outbox": `[{"id":"` + order.NewEventID("cs_test_full", order.TypeRefunded, "100") + `","type":"order.refunded","at":"2025-06-01T12:30:57.1234567Z",` +
			`"state":"mail_sent","refund":{"amount_refunded":100,"full":true},"sinks":[{"sink":"dataverse","queued_at":"2025-06-01T12:30:58.1234567Z",` +
			`"attempts":1,"error":"dataverse: 503","failed_at":"2025-06-01T12:30:59.1234567Z"}]},{"id":"` + order.NewEventID("cs_test_full", order.TypeAccessRevoked, "x") +
			`","type":"order.access_revoked","at":"2025-06-01T12:31:00.1234567Z","state":"mail_sent","access":{"by":"refund"}}]`,
		"EventsDropped":              2.0,
		"EventsUndelivered":          2.0,
		"EventsFailing":              1.0,
		"EventsPendingAt":            "2025-06-01T12:31:00.1234567Z",
		"EventsPendingAt@odata.type": "Edm.DateTime",
		"AccessHolds":                `[{"kind":"refund","ref":"ch_1","event":"evt_3","at":"2025-06-01T12:30:52.1234567Z","reason":"refunded in full (100 of 100)"}]`,
		"RefundedAmount":             "100",
		"RefundedAmount@odata.type":  "Edm.Int64",
		"Disputes":                   `[{"id":"dp_1","status":"won"}]`,
		"Granted":                    `{"at":"2025-06-01T12:30:53.1234567Z","refunded":50,"disputes":[{"id":"dp_1","status":"needs_response"}]}`,
		"Mails": `[{"operation_id":"` + order.MailKey("cs_test_full", order.MailDownloadLinks, 1) + `","kind":"download_links","generation":1,` +
			`"to":"Ann.O'Neil@Example.com","send":"sent","started_at":"2025-06-01T12:30:54.1234567Z","sent_at":"2025-06-01T12:30:55.1234567Z",` +
			`"report":{"status":"Bounced","message":"550 mailbox unavailable","at":"2025-06-01T12:30:56.1234567Z","event_id":"ev-1"}}]`,
	}, got)
}

func TestEncodeLeavesOutZeroTimesAndEmptyMail(t *testing.T) {
	body, err := encode(order.Order{SessionID: "cs_test_min"})
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(body, &got))
	require.Equal(t, map[string]any{
		"PartitionKey": "cs_test_min", "RowKey": "order", "State": "", "Reason": "", "LastError": "",
		"Attempts": 0.0, "Attentions": 0.0, "Holds": 0.0, "CustomerEmail": "", "CustomerEmailLower": "", "Livemode": false, "EventIDs": "[]",
		"Items": 0.0, "MailKind": "", "MailGeneration": 0.0, "SentGeneration": 0.0, "OperationID": "", "LeaseOwner": "",
	}, got)
}

func TestNormalize(t *testing.T) {
	long := strings.Repeat("é", MaxTextBytes) // two bytes each
	tests := []struct {
		name    string
		edit    func(*order.Order)
		check   func(*testing.T, order.Order)
		problem string // a permanent error containing this
	}{
		{name: "times to UTC and the tick", edit: func(*order.Order) {}, check: func(t *testing.T, o order.Order) {
			require.Equal(t, stored(fullOrder("cs_test_n")), o)
			require.Equal(t, time.UTC, o.CreatedAt.Location())
		}},
		{name: "long text is cut", edit: func(o *order.Order) { o.LastError, o.Reason = long, "x"+long }, check: func(t *testing.T, o order.Order) {
			for _, s := range []string{o.LastError, o.Reason} {
				require.LessOrEqual(t, len(s), MaxTextBytes)
				require.Greater(t, len(s), MaxTextBytes-8)
				require.True(t, utf8.ValidString(s))
				require.True(t, strings.HasSuffix(s, "…"))
			}
		}},
		{name: "empty slices are nil", edit: func(o *order.Order) { o.EventIDs, o.Mail = []string{}, []byte{} }, check: func(t *testing.T, o order.Order) {
			require.Nil(t, o.EventIDs)
			require.Nil(t, o.Mail)
		}},
		{name: "mail of the limit", edit: func(o *order.Order) { o.Mail = make([]byte, MaxMailBytes) }, check: func(t *testing.T, o order.Order) {
			require.Len(t, o.Mail, MaxMailBytes)
		}},
		{name: "mail over the limit", edit: func(o *order.Order) { o.Mail = make([]byte, MaxMailBytes+1) }, problem: "mail of 65537 bytes is over the ledger's 65536-byte limit"},
		{name: "int over 32 bits", edit: func(o *order.Order) { o.Items = math.MaxInt32 + 1 }, problem: "Items 2147483648 does not fit"},
		{name: "time before 1601", edit: func(o *order.Order) { o.PaidAt = time.Date(1600, 12, 31, 0, 0, 0, 0, time.UTC) }, problem: "PaidAt 1600-12-31T00:00:00Z is outside"},
		{name: "no session id", edit: func(o *order.Order) { o.SessionID = "" }, problem: "without a session id"},
		{name: "slash in session id", edit: func(o *order.Order) { o.SessionID = "cs_test/1" }, problem: "holds a character"},
		{name: "control character in session id", edit: func(o *order.Order) { o.SessionID = "cs_test\n1" }, problem: "holds a character"},
		{name: "long session id", edit: func(o *order.Order) { o.SessionID = strings.Repeat("a", 1025) }, problem: "over the 1 KiB limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := fullOrder("cs_test_n")
			tc.edit(&o)
			got, err := normalize(o)
			if tc.problem != "" {
				require.ErrorContains(t, err, tc.problem)
				require.True(t, order.IsPermanent(err), "not permanent: %v", err)
				return
			}
			require.NoError(t, err)
			tc.check(t, got)
		})
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		want    order.Order
		problem string
	}{
		{
			name: "hand-edited types",
			json: `{"PartitionKey":"cs_1","RowKey":"order","odata.etag":"W/\"x\"","Attempts":"7","Attempts@odata.type":"Edm.Int64",
				"Items":2.0,"EventIDs":"","Livemode":false,"Timestamp":"2025-01-01T00:00:00Z","Timestamp@odata.type":"Edm.DateTime",
				"PaidAt":"2025-01-01T00:00:00Z","PaidAt@odata.type":"Edm.DateTime"}`,
			want: order.Order{SessionID: "cs_1", ETag: `W/"x"`, Attempts: 7, Items: 2, PaidAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		},
		{name: "string for an int", json: `{"PartitionKey":"cs_1","RowKey":"order","Items":"2"}`, problem: "property Items is string, want an integer"},
		{name: "fraction for an int", json: `{"PartitionKey":"cs_1","RowKey":"order","Items":2.5}`, problem: "property Items is float64, want a whole number"},
		{name: "untyped time", json: `{"PartitionKey":"cs_1","RowKey":"order","PaidAt":"2025-01-01T00:00:00Z"}`, problem: "property PaidAt is string, want an Edm.DateTime"},
		{name: "bad event ids", json: `{"PartitionKey":"cs_1","RowKey":"order","EventIDs":"evt_1"}`, problem: "property EventIDs is not a JSON array"},
		{name: "bad holds", json: `{"PartitionKey":"cs_1","RowKey":"order","AccessHolds":"refund"}`, problem: "property AccessHolds is not the JSON"},
		{
			name: "a record written before holds: revoked by a refund during a dispute",
			json: `{"PartitionKey":"cs_1","RowKey":"order","RevokedBy":"refund","RevokeReason":"refunded in full (100 of 100)",
				"RevokedAt":"2025-06-01T12:30:52.1234567Z","RevokedAt@odata.type":"Edm.DateTime","FullyRefunded":true,
				"RefundedAmount":"100","RefundedAmount@odata.type":"Edm.Int64","Dispute":"needs_response"}`,
			want: order.Restore(order.Snapshot{SessionID: "cs_1", RefundedAmount: 100, Disputes: []order.Dispute{{Status: "needs_response"}},
				AccessHolds: []order.Hold{
					{Kind: order.HoldRefund, At: time.Date(2025, 6, 1, 12, 30, 52, 123456700, time.UTC), Reason: "refunded in full (100 of 100)"},
					{Kind: order.HoldDispute, At: time.Date(2025, 6, 1, 12, 30, 52, 123456700, time.UTC), Reason: "the payment is disputed (needs_response)"},
				}}),
		},
		{
			name: "a record written before holds: granted after a full refund",
			json: `{"PartitionKey":"cs_1","RowKey":"order","FullyRefunded":true,"RefundedAmount":"100","RefundedAmount@odata.type":"Edm.Int64"}`,
			want: order.Order{SessionID: "cs_1", RefundedAmount: 100, Granted: order.Grant{Refunded: 100}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decode([]byte(tc.json))
			if tc.problem != "" {
				require.ErrorContains(t, err, tc.problem)
				require.True(t, order.IsPermanent(err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestTruncateKeepsShortText(t *testing.T) {
	require.Equal(t, "abc", truncate("abc", 3))
	require.Equal(t, "a…", truncate("abcdef", 4))
	require.Equal(t, "…", truncate("ééé", 4)) // no whole é fits beside the ellipsis
}

// TestBigCartDownloadedOftenStaysWritable: files whose download history
// would overflow the Files property keep their counts and lose their oldest
// history instead, so that a click never meets a record it cannot write;
// files that do not fit even without history are refused as before.
func TestBigCartDownloadedOftenStaysWritable(t *testing.T) {
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	cart := func(n, downloads int) order.Order {
		o := order.Restore(order.Snapshot{SessionID: "cs_test_bigcart", State: order.StateMailSent})
		for i := range n {
			f := order.File{Title: fmt.Sprintf("Photo %03d of the harbour at dawn", i), Blob: fmt.Sprintf("2025/harbour/photo-%03d.jpg", i),
				FileName: fmt.Sprintf("photo-%03d.jpg", i), Size: 12 << 20, Downloads: downloads}
			for j := range downloads {
				f.DownloadedAt = append(f.DownloadedAt, at.Add(time.Duration(j)*time.Minute))
				f.Clicks = append(f.Clicks, fmt.Sprintf("click%011d", i*100+j))
			}
			f.DownloadedAt = f.DownloadedAt[max(0, len(f.DownloadedAt)-order.MaxDownloadTimes):]
			f.Clicks = f.Clicks[max(0, len(f.Clicks)-order.MaxClicks):]
			o.Files = append(o.Files, f)
		}
		return o
	}
	o := cart(80, 10)
	full, err := json.Marshal(o.Files)
	require.NoError(t, err)
	require.Greater(t, len(full), MaxFilesBytes, "the test's cart overflows with its whole history")

	data, err := encode(o)
	require.NoError(t, err, "a big cart downloaded often is still writable")
	got, err := decode(data)
	require.NoError(t, err)
	require.Len(t, got.Files, 80)
	for i, f := range got.Files {
		require.Equal(t, 10, f.Downloads, "file %d keeps its count", i)
		require.NotEmpty(t, f.Clicks, "file %d keeps its newest click id", i)
		require.Equal(t, o.Files[i].Clicks[len(o.Files[i].Clicks)-1], f.Clicks[len(f.Clicks)-1])
		if len(f.DownloadedAt) > 0 {
			require.Equal(t, o.Files[i].DownloadedAt[len(o.Files[i].DownloadedAt)-1], f.DownloadedAt[len(f.DownloadedAt)-1], "the newest times stay")
		}
	}
	require.Len(t, o.Files[0].DownloadedAt, 10, "the caller's record is not changed")

	_, err = encode(cart(400, 0))
	require.True(t, order.IsPermanent(err), "files that do not fit without history are refused: %v", err)
}
