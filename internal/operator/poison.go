package operator

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/storage"
)

// Carries names the message a queue carries, so that its poisoned messages
// can be decoded. The wiring says which queue function's queue carries
// which; the zero value is a message this version does not decode.
type Carries int

// The messages of the pipeline's queues.
const (
	ProcessJobs     Carries = iota + 1 // order.ProcessJob, ProcessOrder's
	MailJobs                           // order.MailJob, SendLink's
	DeliveryReports                    // order.DeliveryReport, DeliveryReport's
	OrderEvents                        // order.EventJob, OrderEvents'
)

// Peeker shows a queue's messages without taking them (storage.Queue).
type Peeker interface {
	Count(ctx context.Context) (int, error)
	Peek(ctx context.Context, n int) ([]storage.Message, error)
}

// PeekMax is the most messages Peek shows of a queue.
const PeekMax = 32

// Inspected is a queued message decoded for a person.
type Inspected struct {
	ID         string
	PoisonedAt time.Time
	// Order is the message of a queue carrying ProcessJobs, Mail of one
	// carrying MailJobs, each as far as it decodes.
	Order *order.ProcessJob
	Mail  *order.MailJob
	// Report is the message of a queue carrying DeliveryReports.
	Report *order.DeliveryReport
	// Event is the message of a queue carrying OrderEvents.
	Event *order.EventJob
	// Problem says why the message does not decode as its queue's message;
	// nil when it does.
	Problem error
}

// Peek returns the approximate count of q's messages and the first PeekMax
// of them, decoded as messages of function's queue, which carries c.
func Peek(ctx context.Context, q Peeker, function string, c Carries) (int, []Inspected, error) {
	n, err := q.Count(ctx)
	if err != nil || n == 0 {
		return n, []Inspected{}, err
	}
	msgs, err := q.Peek(ctx, PeekMax)
	if err != nil {
		return n, nil, err
	}
	out := make([]Inspected, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, Inspect(m, function, c))
	}
	return n, out, nil
}

// Inspect decodes m, a message of function's queue, which carries c.
func Inspect(m storage.Message, function string, c Carries) Inspected {
	in := Inspected{ID: m.ID, PoisonedAt: m.InsertedAt.UTC()}
	// Decoded here rather than trusting m.Data: Peek keeps what decodes of
	// an invalid text.
	data, err := base64.StdEncoding.DecodeString(m.Text)
	if err != nil {
		in.Problem = errors.New("not base64: the host cannot read it either")
		return in
	}
	switch c {
	case ProcessJobs:
		in.Order = &order.ProcessJob{}
		if err = json.Unmarshal(data, in.Order); err == nil {
			err = in.Order.Validate()
		}
	case MailJobs:
		in.Mail = &order.MailJob{}
		if err = json.Unmarshal(data, in.Mail); err == nil {
			err = in.Mail.Validate()
		}
	case DeliveryReports:
		r, derr := order.DecodeDeliveryReport(data)
		if errors.Is(derr, order.ErrOtherEventType) {
			derr = nil
		}
		in.Report, err = &r, derr
	case OrderEvents:
		in.Event = &order.EventJob{}
		if err = json.Unmarshal(data, in.Event); err == nil {
			err = in.Event.Validate()
		}
	default:
		err = fmt.Errorf("%d bytes for %s, which this version does not decode", len(data), function)
	}
	if err == nil {
		_, err = delivery.ReadRetry(data) // the route poisons a message whose retry record is none
	}
	in.Problem = err
	return in
}

// Receiver takes messages off a queue for a while and deletes them
// (storage.Queue).
type Receiver interface {
	Receive(ctx context.Context, n int, visibility time.Duration) ([]storage.Message, error)
	Delete(ctx context.Context, m storage.Message) error
}

// TextSender puts a message's text on a queue as it is (storage.Queue).
type TextSender interface {
	SendText(ctx context.Context, text string, delay time.Duration) error
}

const (
	// MaxRedrive bounds the messages one Redrive takes from a queue.
	MaxRedrive = 100_000
	// redriveHold is how long a message being moved stays invisible; one
	// that is left (poisoned again during the run) reappears after it.
	redriveHold = 30 * time.Second
)

// Redrive moves the messages of src (a poison queue) back to dst, each sent
// unchanged before it is deleted: a failure in between leaves a copy in both
// queues, which the pipeline's deduplication makes harmless. Messages put on
// src after the run began (by the storage service's clock) are left where
// they are, so a message failing again at once cannot keep the loop going.
// It calls step, when not nil, after each message moved with the count so
// far, and returns the count moved, with the error that stopped it, if any.
func Redrive(ctx context.Context, src Receiver, dst TextSender, step func(moved int)) (int, error) {
	began := time.Now()
	moved := 0
	for range MaxRedrive / PeekMax {
		msgs, err := src.Receive(ctx, PeekMax, redriveHold)
		if errors.Is(err, order.ErrNotFound) || (err == nil && len(msgs) == 0) {
			return moved, nil // no poison queue, or nothing (visible) left
		}
		if err != nil {
			return moved, err
		}
		for _, m := range msgs {
			if m.InsertedAt.After(began) {
				continue
			}
			if err := dst.SendText(ctx, m.Text, 0); err != nil {
				return moved, err
			}
			if err := src.Delete(ctx, m); err != nil {
				return moved, err
			}
			moved++
			if step != nil {
				step(moved)
			}
		}
	}
	return moved, fmt.Errorf("stopped after %d batches; run redrive again for the rest", MaxRedrive/PeekMax)
}
