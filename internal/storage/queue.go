package storage

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"

	"github.com/filedrop/filedrop/internal/order"
)

// MaxMessageBytes is the largest message payload: 64 KiB of base64 text.
const MaxMessageBytes = 48 * 1024

// MaxVisibilityDelay is the longest delay a queue message can be given.
const MaxVisibilityDelay = 7 * 24 * time.Hour

// Queues is the queue service of an account.
type Queues struct {
	svc *azqueue.ServiceClient
}

// NewQueues returns the account's queue service.
func NewQueues(a Account) (*Queues, error) {
	opts := &azqueue.ClientOptions{ClientOptions: a.ClientOptions()}
	var (
		svc *azqueue.ServiceClient
		err error
	)
	if a.Credential != nil {
		svc, err = azqueue.NewServiceClient(a.QueueURL+"/", a.Credential, opts)
	} else {
		var cred *azqueue.SharedKeyCredential
		cred, err = azqueue.NewSharedKeyCredential(a.AccountName, a.AccountKey.Reveal())
		if err == nil {
			svc, err = azqueue.NewServiceClientWithSharedKeyCredential(a.QueueURL+"/", cred, opts)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("queue client for %s: %w", a.QueueURL, err)
	}
	return &Queues{svc: svc}, nil
}

// Queue returns the named queue. It does not create it.
func (q *Queues) Queue(name string) *Queue {
	return &Queue{Name: name, c: q.svc.NewQueueClient(name)}
}

// Create creates the named queue and reports whether it was missing. The
// service answers 201 for a new queue and 204 for an existing one with the
// same metadata (409 QueueAlreadyExists when the metadata differs).
func (q *Queues) Create(ctx context.Context, name string) (created bool, err error) {
	var resp *http.Response
	_, err = q.svc.CreateQueue(policy.WithCaptureResponse(ctx, &resp), name, nil)
	if queueerror.HasCode(err, queueerror.QueueAlreadyExists) {
		return false, nil
	}
	if err != nil {
		return false, translate("create queue "+name, err)
	}
	return resp == nil || resp.StatusCode == http.StatusCreated, nil
}

// Queue is one storage queue whose messages are base64 text, as the
// Functions queue trigger reads them (host.json messageEncoding: base64).
type Queue struct {
	Name string
	c    *azqueue.QueueClient
}

// Message is a received queue message.
type Message struct {
	ID           string
	PopReceipt   string
	DequeueCount int
	InsertedAt   time.Time
	ExpiresAt    time.Time
	NextVisible  time.Time
	// Data is the decoded payload; nil when the text was not valid base64
	// (the Functions host moves such a message to the poison queue).
	Data []byte
	// Text is the message text as stored.
	Text string
}

// Send puts data on the queue, base64-encoded, invisible for delay (0: at
// once; capped at MaxVisibilityDelay). Only when Send returns nil is the
// message durably stored.
func (q *Queue) Send(ctx context.Context, data []byte, delay time.Duration) error {
	if len(data) > MaxMessageBytes {
		return fmt.Errorf("send to %s: message of %d bytes is over the %d-byte limit", q.Name, len(data), MaxMessageBytes)
	}
	return q.SendText(ctx, base64.StdEncoding.EncodeToString(data), delay)
}

// SendText puts text on the queue exactly as given (for moving messages
// between queues without decoding them).
func (q *Queue) SendText(ctx context.Context, text string, delay time.Duration) error {
	var opts *azqueue.EnqueueMessageOptions
	if delay > 0 {
		secs := int32(min(delay, MaxVisibilityDelay).Round(time.Second) / time.Second)
		opts = &azqueue.EnqueueMessageOptions{VisibilityTimeout: &secs}
	}
	_, err := q.c.EnqueueMessage(ctx, text, opts)
	return translate("send to "+q.Name, err)
}

// Receive takes up to n (1..32) messages and hides them for visibility.
func (q *Queue) Receive(ctx context.Context, n int, visibility time.Duration) ([]Message, error) {
	n32 := int32(max(1, min(n, 32)))
	vis := int32(max(visibility, time.Second) / time.Second)
	resp, err := q.c.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: &n32, VisibilityTimeout: &vis})
	if err != nil {
		return nil, translate("receive from "+q.Name, err)
	}
	msgs := make([]Message, 0, len(resp.Messages))
	for _, m := range resp.Messages {
		msgs = append(msgs, fromDequeued(m))
	}
	return msgs, nil
}

// Peek returns up to n (1..32) messages without hiding them.
func (q *Queue) Peek(ctx context.Context, n int) ([]Message, error) {
	n32 := int32(max(1, min(n, 32)))
	resp, err := q.c.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: &n32})
	if err != nil {
		return nil, translate("peek "+q.Name, err)
	}
	msgs := make([]Message, 0, len(resp.Messages))
	for _, m := range resp.Messages {
		msg := Message{Text: deref(m.MessageText), ID: deref(m.MessageID)}
		if m.DequeueCount != nil {
			msg.DequeueCount = int(*m.DequeueCount)
		}
		if m.InsertionTime != nil {
			msg.InsertedAt = *m.InsertionTime
		}
		if b, err := base64.StdEncoding.DecodeString(msg.Text); err == nil {
			msg.Data = b
		}
		msgs = append(msgs, msg)
	}
	return msgs, nil
}

func fromDequeued(m *azqueue.DequeuedMessage) Message {
	msg := Message{ID: deref(m.MessageID), PopReceipt: deref(m.PopReceipt), Text: deref(m.MessageText)}
	if m.DequeueCount != nil {
		msg.DequeueCount = int(*m.DequeueCount)
	}
	if m.InsertionTime != nil {
		msg.InsertedAt = *m.InsertionTime
	}
	if m.ExpirationTime != nil {
		msg.ExpiresAt = *m.ExpirationTime
	}
	if m.TimeNextVisible != nil {
		msg.NextVisible = *m.TimeNextVisible
	}
	if b, err := base64.StdEncoding.DecodeString(msg.Text); err == nil {
		msg.Data = b
	}
	return msg
}

// Delete removes a received message.
func (q *Queue) Delete(ctx context.Context, m Message) error {
	_, err := q.c.DeleteMessage(ctx, m.ID, m.PopReceipt, nil)
	return translate("delete from "+q.Name, err)
}

// Hide makes a received message invisible for d more, keeping its text, and
// returns it with its new pop receipt.
func (q *Queue) Hide(ctx context.Context, m Message, d time.Duration) (Message, error) {
	secs := int32(max(d, 0) / time.Second)
	resp, err := q.c.UpdateMessage(ctx, m.ID, m.PopReceipt, m.Text, &azqueue.UpdateMessageOptions{VisibilityTimeout: &secs})
	if err != nil {
		return m, translate("hide message in "+q.Name, err)
	}
	if resp.PopReceipt != nil {
		m.PopReceipt = *resp.PopReceipt
	}
	if resp.TimeNextVisible != nil {
		m.NextVisible = *resp.TimeNextVisible
	}
	return m, nil
}

// Count returns the approximate number of messages in the queue; a missing
// queue counts 0.
func (q *Queue) Count(ctx context.Context) (int, error) {
	p, err := q.c.GetProperties(ctx, nil)
	if err != nil {
		if err := translate("count "+q.Name, err); errors.Is(err, order.ErrNotFound) {
			return 0, nil
		}
		return 0, translate("count "+q.Name, err)
	}
	if p.ApproximateMessagesCount == nil {
		return 0, nil
	}
	return int(*p.ApproximateMessagesCount), nil
}

// Clear deletes every message in the queue.
func (q *Queue) Clear(ctx context.Context) error {
	_, err := q.c.ClearMessages(ctx, nil)
	return translate("clear "+q.Name, err)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
