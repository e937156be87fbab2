package order_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

// Delivery reports as Event Grid writes them into a queue message (after
// the Functions host removed the storage-level base64).
const (
	// eventGridReport is the Event Grid schema example of the
	// specification (azure-rest-api-specs, specification/eventgrid/
	// data-plane/Microsoft.Communication/stable/2018-01-01/examples/
	// event-grid-schema/email_delivery_report_received.json): status in
	// lower case, deliveryAttemptTimeStamp with a capital S.
	eventGridReport = `{
  "id": "5f04f77c-2a6a-43bd-9b74-576a64c01f9e",
  "topic": "/subscriptions/{subscription-id}/resourceGroups/{group-name}/providers/Microsoft.Communication/communicationServices/{communication-services-resource-name}",
  "subject": "sender/test2@contoso.org/message/950850f5-bcdf-4315-b77a-6447cf56fac9",
  "data": {
    "sender": "test2@contoso.org",
    "recipient": "test1@contoso.com",
    "messageId": "950850f5-bcdf-4315-b77a-6447cf56fac9",
    "status": "delivered",
    "deliveryAttemptTimeStamp": "2023-02-09T19:46:12.2480265+00:00",
    "deliveryStatusDetails": {
      "statusMessage": "DestinationMailboxFull"
    }
  },
  "eventType": "Microsoft.Communication.EmailDeliveryReportReceived",
  "dataVersion": "1.0",
  "metadataVersion": "1",
  "eventTime": "2023-02-09T19:46:12.2478002Z"
}`
	// cloudEventsReport is the CloudEvents 1.0 example of the same folder
	// (cloud-events-schema/): deliveryAttemptTimestamp with a small s.
	cloudEventsReport = `{
  "id": "5f04f77c-2a6a-43bd-9b74-576a64c01f9e",
  "source": "/subscriptions/{subscription-id}/resourceGroups/{group-name}/providers/Microsoft.Communication/communicationServices/{communication-services-resource-name}",
  "subject": "sender/test2@contoso.org/message/950850f5-bcdf-4315-b77a-6447cf56fac9",
  "data": {
    "sender": "test2@contoso.org",
    "recipient": "test1@contoso.com",
    "messageId": "950850f5-bcdf-4315-b77a-6447cf56fac9",
    "status": "delivered",
    "deliveryAttemptTimestamp": "2023-02-09T19:46:12.2480265+00:00"
  },
  "type": "Microsoft.Communication.EmailDeliveryReportReceived",
  "time": "2023-02-09T19:46:12.2478002Z",
  "specversion": "1.0"
}`
	// learnReport is the sample of the Learn page "Azure Communication
	// Services - Email events" (the webhook's array of one event).
	learnReport = `[{
  "id": "00000000-0000-0000-0000-000000000000",
  "topic": "/subscriptions/{subscription-id}/resourceGroups/{group-name}/providers/microsoft.communication/communicationservices/{communication-services-resource-name}",
  "subject": "sender/senderid@azure.com/message/00000000-0000-0000-0000-000000000000",
  "data": {
    "sender": "senderid@azure.com",
    "recipient": "receiver@azure.com",
    "messageId": "00000000-0000-0000-0000-000000000000",
    "status": "Delivered",
    "deliveryAttemptTimeStamp": "2020-09-18T00:22:20.2855749Z"
  },
  "eventType": "Microsoft.Communication.EmailDeliveryReportReceived",
  "dataVersion": "1.0",
  "metadataVersion": "1",
  "eventTime": "2020-09-18T00:22:20Z"
}]`
)

const reportOperation = "950850f5-bcdf-4315-b77a-6447cf56fac9"

// reportWith returns eventGridReport with its data changed by edit.
func reportWith(t *testing.T, edit func(e, data map[string]any)) []byte {
	t.Helper()
	var e map[string]any
	require.NoError(t, json.Unmarshal([]byte(eventGridReport), &e))
	data, _ := e["data"].(map[string]any)
	edit(e, data)
	b, err := json.Marshal(e)
	require.NoError(t, err)
	return b
}

func TestDecodeDeliveryReport(t *testing.T) {
	attempt := time.Date(2023, 2, 9, 19, 46, 12, 248026500, time.UTC)
	sample := order.DeliveryReport{
		EventID:       "5f04f77c-2a6a-43bd-9b74-576a64c01f9e",
		EventType:     order.EventEmailDeliveryReport,
		OperationID:   reportOperation,
		Status:        order.MailDelivered,
		StatusMessage: "DestinationMailboxFull",
		Recipient:     "test1@contoso.com",
		AttemptedAt:   attempt,
	}
	with := func(edit func(r *order.DeliveryReport)) order.DeliveryReport {
		r := sample
		edit(&r)
		return r
	}
	tests := []struct {
		name string
		data []byte
		want order.DeliveryReport
	}{
		{"the Event Grid schema sample", []byte(eventGridReport), sample},
		{"the CloudEvents 1.0 sample", []byte(cloudEventsReport), with(func(r *order.DeliveryReport) { r.StatusMessage = "" })},
		{"the Learn sample, an array of one", []byte(learnReport), order.DeliveryReport{
			EventID: "00000000-0000-0000-0000-000000000000", EventType: order.EventEmailDeliveryReport,
			OperationID: "00000000-0000-0000-0000-000000000000", Status: order.MailDelivered, Recipient: "receiver@azure.com",
			AttemptedAt: time.Date(2020, 9, 18, 0, 22, 20, 285574900, time.UTC),
		}},
		{"white space around the event", []byte("\n  " + eventGridReport + "\n"), sample},
		{
			"deliveryAttemptTimestamp, the SDKs' spelling, in the Event Grid schema",
			reportWith(t, func(_, d map[string]any) {
				delete(d, "deliveryAttemptTimeStamp")
				d["deliveryAttemptTimestamp"] = "2024-05-01T10:00:00Z"
			}),
			with(func(r *order.DeliveryReport) { r.AttemptedAt = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC) }),
		},
		{
			"no attempt time: the event's time",
			reportWith(t, func(_, d map[string]any) { delete(d, "deliveryAttemptTimeStamp") }),
			with(func(r *order.DeliveryReport) { r.AttemptedAt = time.Date(2023, 2, 9, 19, 46, 12, 247800200, time.UTC) }),
		},
		{
			"no time that parses: zero",
			reportWith(t, func(e, d map[string]any) { d["deliveryAttemptTimeStamp"] = "yesterday"; delete(e, "eventTime") }),
			with(func(r *order.DeliveryReport) { r.AttemptedAt = time.Time{} }),
		},
		{
			"an attempt time with an offset, in UTC",
			reportWith(t, func(_, d map[string]any) { d["deliveryAttemptTimeStamp"] = "2023-02-09T21:46:12+02:00" }),
			with(func(r *order.DeliveryReport) { r.AttemptedAt = time.Date(2023, 2, 9, 19, 46, 12, 0, time.UTC) }),
		},
		{
			"a messageId in upper case, in lower case",
			reportWith(t, func(_, d map[string]any) { d["messageId"] = strings.ToUpper(reportOperation) }),
			sample,
		},
		{
			"no messageId: the subject's",
			reportWith(t, func(_, d map[string]any) { delete(d, "messageId") }),
			sample,
		},
		{
			"the server's message cleaned: control and bidi characters, line breaks",
			reportWith(t, func(_, d map[string]any) {
				d["deliveryStatusDetails"] = map[string]any{"statusMessage": "550 5.1.1\r\n\x1b[31mUser\u202E unknown\x00\t "}
			}),
			with(func(r *order.DeliveryReport) { r.StatusMessage = "550 5.1.1 [31mUser unknown" }),
		},
		{
			"a long server's message cut",
			reportWith(t, func(_, d map[string]any) {
				d["deliveryStatusDetails"] = map[string]any{"statusMessage": strings.Repeat("é", 10_000)}
			}),
			with(func(r *order.DeliveryReport) {
				r.StatusMessage = strings.Repeat("é", order.MaxStatusMessage-1) + "…"
			}),
		},
		{
			"details null",
			reportWith(t, func(_, d map[string]any) { d["deliveryStatusDetails"] = nil }),
			with(func(r *order.DeliveryReport) { r.StatusMessage = "" }),
		},
		{
			"a recipient that is no address is left out",
			reportWith(t, func(_, d map[string]any) { d["recipient"] = "Ada <ada@example.com>\n" }),
			with(func(r *order.DeliveryReport) { r.Recipient = "" }),
		},
		{
			"an over-long recipient is left out",
			reportWith(t, func(_, d map[string]any) { d["recipient"] = strings.Repeat("a", 250) + "@example.com" }),
			with(func(r *order.DeliveryReport) { r.Recipient = "" }),
		},
		{
			"an unknown status is kept",
			reportWith(t, func(_, d map[string]any) { d["status"] = "Expanded" }),
			with(func(r *order.DeliveryReport) { r.Status = "Expanded" }),
		},
		{
			"an unknown status is cleaned and bounded",
			reportWith(t, func(_, d map[string]any) { d["status"] = "Some\nNew\x00Status" + strings.Repeat("x", 100) }),
			with(func(r *order.DeliveryReport) {
				r.Status = order.DeliveryStatus("Some NewStatus" + strings.Repeat("x", 49) + "…")
			}),
		},
		{
			"an event type in another case",
			reportWith(t, func(e, _ map[string]any) { e["eventType"] = strings.ToLower(order.EventEmailDeliveryReport) }),
			sample,
		},
	}
	for status, want := range map[string]order.DeliveryStatus{
		"Delivered": order.MailDelivered, "delivered": order.MailDelivered,
		"Bounced": order.MailBounced, "BOUNCED": order.MailBounced,
		"Suppressed": order.MailSuppressed, "suppressed": order.MailSuppressed,
		"Failed": order.MailFailed, "failed": order.MailFailed,
		"Quarantined": order.MailQuarantined, "quarantined": order.MailQuarantined,
		"FilteredSpam": order.MailFilteredSpam, "filteredspam": order.MailFilteredSpam,
		" Bounced ": order.MailBounced,
	} {
		tests = append(tests, struct {
			name string
			data []byte
			want order.DeliveryReport
		}{
			"status " + status,
			reportWith(t, func(_, d map[string]any) { d["status"] = status }),
			with(func(r *order.DeliveryReport) { r.Status = want }),
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := order.DecodeDeliveryReport(tt.data)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.want.Status == order.MailDelivered, got.Delivered())
		})
	}
}

func TestDecodeDeliveryReportRefuses(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"empty", nil, "decode delivery report"},
		{"not JSON", []byte("not json"), "decode delivery report"},
		{"base64 of the event", []byte("eyJpZCI6IjEifQ=="), "decode delivery report"},
		{"JSON null", []byte("null"), "event id"},
		{"a string", []byte(`"x"`), "decode delivery report"},
		{"an empty array", []byte(`[]`), "0 events, want one"},
		{"an array of two", []byte("[" + eventGridReport + "," + eventGridReport + "]"), "2 events, want one"},
		{
			"oversized",
			[]byte(strings.Replace(eventGridReport, "DestinationMailboxFull", strings.Repeat("x", order.MaxDeliveryReportBytes), 1)),
			"more than 32768",
		},
		{"no event id", reportWithout(t, "id"), "event id"},
		{"an event id with a space", reportWith(t, func(e, _ map[string]any) { e["id"] = "5f04 f77c" }), "event id"},
		{"an over-long event id", reportWith(t, func(e, _ map[string]any) { e["id"] = strings.Repeat("a", 256) }), "event id"},
		{"no event type", reportWithout(t, "eventType"), "event type"},
		{"an event type that is no name", reportWith(t, func(e, _ map[string]any) { e["eventType"] = "Microsoft Communication/x" }), "event type"},
		{"CloudEvents of another version", []byte(strings.Replace(cloudEventsReport, `"1.0"`, `"0.3"`, 1)), "specversion"},
		{"no data", reportWithout(t, "data"), "no data"},
		{"data null", reportWith(t, func(e, _ map[string]any) { e["data"] = nil }), "no data"},
		{"data a string", reportWith(t, func(e, _ map[string]any) { e["data"] = "delivered" }), "event data"},
		{"a status that is a number", reportWith(t, func(_, d map[string]any) { d["status"] = 2 }), "event data"},
		{"no status", reportWith(t, func(_, d map[string]any) { delete(d, "status") }), "not a delivery status"},
		{"a status of control characters", reportWith(t, func(_, d map[string]any) { d["status"] = "\x00\r\n" }), "not a delivery status"},
		{"no messageId nor subject", reportWith(t, func(e, d map[string]any) { delete(d, "messageId"); delete(e, "subject") }), "messageId"},
		{"a messageId with a path", reportWith(t, func(_, d map[string]any) { d["messageId"] = "../../x" }), "messageId"},
		{"an over-long messageId", reportWith(t, func(_, d map[string]any) { d["messageId"] = strings.Repeat("a", 65) }), "messageId"},
		{"a subject with more after the id", reportWith(t, func(e, d map[string]any) {
			delete(d, "messageId")
			e["subject"] = "sender/a@b.example/message/" + reportOperation + "/x"
		}), "messageId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := order.DecodeDeliveryReport(tt.data)
			require.ErrorContains(t, err, tt.wantErr)
			require.True(t, order.IsPermanent(err), "the same bytes never decode: %v", err)
			require.False(t, errors.Is(err, order.ErrOtherEventType), "poisoned, not acknowledged: %v", err)
			require.Less(t, len(err.Error()), 500, "the error quotes no whole value")
		})
	}
}

// TestDecodeDeliveryReportOtherEvents: an event of another type is told
// apart, with its id and type, so that the stage acknowledges and logs it.
func TestDecodeDeliveryReportOtherEvents(t *testing.T) {
	tests := []struct {
		name, data, wantID, wantType string
	}{
		{
			"an engagement report",
			strings.Replace(eventGridReport, "EmailDeliveryReportReceived", "EmailEngagementTrackingReportReceived", 1),
			"5f04f77c-2a6a-43bd-9b74-576a64c01f9e", "Microsoft.Communication.EmailEngagementTrackingReportReceived",
		},
		{
			"a CloudEvents storage event",
			`{"id":"831e1650-001e-001b-66ab-eeb76e069631","source":"/subscriptions/x","subject":"/blobServices/default/containers/c/blobs/b",` +
				`"type":"Microsoft.Storage.BlobCreated","time":"2024-01-01T00:00:00Z","specversion":"1.0","data":{"api":"PutBlob"}}`,
			"831e1650-001e-001b-66ab-eeb76e069631", "Microsoft.Storage.BlobCreated",
		},
		{
			"a subscription validation event",
			`[{"id":"2d1781af-3a4c-4d7c-bd0c-e34b19da4e66","topic":"/subscriptions/x","subject":"","data":{"validationCode":"512d38b6"},` +
				`"eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","eventTime":"2018-01-25T22:12:19.4556811Z","metadataVersion":"1","dataVersion":"1"}]`,
			"2d1781af-3a4c-4d7c-bd0c-e34b19da4e66", "Microsoft.EventGrid.SubscriptionValidationEvent",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := order.DecodeDeliveryReport([]byte(tt.data))
			require.ErrorIs(t, err, order.ErrOtherEventType)
			require.True(t, order.IsPermanent(err))
			require.Equal(t, order.DeliveryReport{EventID: tt.wantID, EventType: tt.wantType}, r)
		})
	}
}

func TestDeliveryReportLogAttrs(t *testing.T) {
	r, err := order.DecodeDeliveryReport([]byte(eventGridReport))
	require.NoError(t, err)
	require.Equal(t, []any{"event_id", "5f04f77c-2a6a-43bd-9b74-576a64c01f9e", "operation_id", reportOperation, "delivery_status", "Delivered"}, r.LogAttrs())
}

// reportWithout returns eventGridReport without the event's field.
func reportWithout(t *testing.T, field string) []byte {
	return reportWith(t, func(e, _ map[string]any) { delete(e, field) })
}
