package deliveryreport

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/filedrop/filedrop/internal/order"
)

// Simulated is a delivery report for Event to write, as ACS would send it.
type Simulated struct {
	// EventID is the Event Grid event's id; "" makes a new one.
	EventID string
	// OperationID is the mail's operation id (its messageId).
	OperationID string
	// Sender and Recipient are the mail's addresses.
	Sender, Recipient string
	Status            order.DeliveryStatus
	// Message is the receiving server's message; "" for none.
	Message string
	// At is the delivery attempt's time.
	At time.Time
}

// simulatedTopic is the system topic a simulated report comes from: a
// Communication Service of no real subscription.
const simulatedTopic = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/filedrop/providers/Microsoft.Communication/communicationServices/filedrop-acs"

// Event returns r as Event Grid writes it into a Storage queue message with
// the subscription's EventGridSchema: one event, a JSON object, with the
// fields of the Microsoft.Communication.EmailDeliveryReportReceived samples
// (docs/event-grid-queue.md). The queue's base64 is the sender's to add
// (storage.Queue.Send adds it, as Event Grid does).
func Event(r Simulated) ([]byte, error) {
	if !order.ValidOperationID(r.OperationID) {
		return nil, fmt.Errorf("simulated report: %q is not an operation id", r.OperationID)
	}
	if r.EventID == "" {
		r.EventID = uuid.NewString()
	}
	if r.Sender == "" {
		r.Sender = "DoNotReply@filedrop.example"
	}
	type details struct {
		StatusMessage string `json:"statusMessage,omitempty"`
	}
	data := struct {
		Sender    string   `json:"sender"`
		Recipient string   `json:"recipient,omitempty"`
		MessageID string   `json:"messageId"`
		Status    string   `json:"status"`
		Details   *details `json:"deliveryStatusDetails,omitempty"`
		Attempt   string   `json:"deliveryAttemptTimeStamp"`
	}{Sender: r.Sender, Recipient: r.Recipient, MessageID: r.OperationID, Status: string(r.Status),
		Attempt: r.At.UTC().Format(time.RFC3339Nano)}
	if r.Message != "" {
		data.Details = &details{StatusMessage: r.Message}
	}
	return json.Marshal(struct {
		ID              string `json:"id"`
		Topic           string `json:"topic"`
		Subject         string `json:"subject"`
		Data            any    `json:"data"`
		EventType       string `json:"eventType"`
		DataVersion     string `json:"dataVersion"`
		MetadataVersion string `json:"metadataVersion"`
		EventTime       string `json:"eventTime"`
	}{ID: r.EventID, Topic: simulatedTopic, Subject: "sender/" + r.Sender + "/message/" + r.OperationID, Data: data,
		EventType: order.EventEmailDeliveryReport, DataVersion: "1.0", MetadataVersion: "1", EventTime: r.At.UTC().Format(time.RFC3339Nano)})
}
