package operator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/filedrop/filedrop/internal/order"
)

// Sender puts a message on a queue (storage.Queue).
type Sender interface {
	Send(ctx context.Context, data []byte, delay time.Duration) error
}

// sendOrder validates msg and queues it for ProcessOrder on q.
func sendOrder(ctx context.Context, q Sender, msg order.ProcessJob) error {
	if err := msg.Validate(); err != nil {
		return fmt.Errorf("order message for %s: %w", msg.SessionID, err)
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	return q.Send(ctx, data, 0)
}

// randomID is 24 random hex digits, for the event ids the operator's
// commands make up.
func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// stamp formats a time as the operator's commands print times: UTC, RFC
// 3339, to the second; "-" for none.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
