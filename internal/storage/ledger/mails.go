package ledger

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/filedrop/filedrop/internal/order"
)

// MaxMailsBytes bounds the JSON of Order.Mails as stored. The domain keeps
// at most order.MaxMails mails with bounded text (an address, a server's
// message and an error of at most order.MaxStatusMessage characters each):
// some 1.5 KiB a mail at most.
const MaxMailsBytes = 32 * 1024

// normalizeMails returns a copy of mails with their times in UTC truncated
// to Resolution; nil for none.
func normalizeMails(mails []order.MailRecord) []order.MailRecord {
	if len(mails) == 0 {
		return nil
	}
	out := slices.Clone(mails)
	for i := range out {
		m := &out[i]
		m.StartedAt, m.SentAt = utcTick(m.StartedAt), utcTick(m.SentAt)
		if m.Report != nil {
			r := *m.Report
			r.At = utcTick(r.At)
			m.Report = &r
		}
	}
	return out
}

// utcTick is t in UTC truncated to Resolution; zero stays zero.
func utcTick(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(Resolution)
}

// encodeMails returns o.Mails as the JSON the Mails property holds ("" for
// none), or a permanent error when it is over MaxMailsBytes.
func encodeMails(o order.Snapshot) (string, error) {
	if len(o.Mails) == 0 {
		return "", nil
	}
	b, err := json.Marshal(o.Mails)
	if err != nil {
		return "", err
	}
	if len(b) > MaxMailsBytes {
		return "", order.Permanentf("order %s: its %d mails take %d bytes, over the ledger's %d-byte limit", o.SessionID, len(o.Mails), len(b), MaxMailsBytes)
	}
	return string(b), nil
}
