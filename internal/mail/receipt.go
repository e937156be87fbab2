package mail

// SendStatus is how far a transport knows a mail it took has gone. Whether
// the mail reached the inbox is not a transport's to say: Azure
// Communication Services reports it later, in a delivery report.
type SendStatus string

const (
	// Accepted: the transport took the mail and has no word yet that it went
	// out. SMTP and the outbox never have one (an SMTP server that queued
	// the mail may still fail to relay it), and an ACS send operation that
	// was still NotStarted or Running when Send returned is accepted too:
	// ACS may still send or fail it.
	Accepted SendStatus = "accepted"
	// Sent: the mail service reports that it sent the mail out (an ACS send
	// operation that Succeeded).
	Sent SendStatus = "sent"
)

// Receipt is a transport's answer to a mail it took.
type Receipt struct {
	// OperationID is the transport's id of the send: the ACS operation id,
	// which ACS delivery reports name as their messageId, or the Message's
	// Key for SMTP and the outbox.
	OperationID string
	// Status is Accepted or Sent.
	Status SendStatus
}
