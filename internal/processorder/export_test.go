package processorder

import "github.com/filedrop/filedrop/internal/order"

// EncodeMail is what queueMail queues for m: its receipt fitted, validated
// and encoded.
func EncodeMail(m order.MailJob) ([]byte, error) { return encodeMail(fitReceipt(m)) }
