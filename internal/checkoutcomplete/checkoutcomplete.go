// Package checkoutcomplete is the CheckoutComplete function: Stripe's webhook
// endpoint. It verifies the Stripe-Signature on the raw bytes, and for the
// three Checkout events the pipeline acts on it puts a small ProcessJob on
// the ProcessOrder queue; for the refund and dispute events
// (charge.refunded, charge.dispute.created, charge.dispute.closed) the
// message names the payment intent and the charge or dispute instead of a
// session. It answers 200 only once that message is durably
// stored; on any storage failure it answers 503 so that Stripe retries.
//
// A redelivered or duplicated event is harmless: it queues another message
// for the same session, and ProcessOrder's ledger acknowledges it without
// side effects.
package checkoutcomplete

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// MaxBodyBytes bounds a webhook body; Checkout events are a few KiB.
const MaxBodyBytes = 512 << 10

// EnqueueTimeout bounds the enqueue, retries included, well inside the
// 10 s that hosted Checkout waits for the webhook.
const EnqueueTimeout = 8 * time.Second

// Queue is where the order messages go: ProcessOrder's queue
// (storage.Queue).
type Queue interface {
	Send(ctx context.Context, data []byte, delay time.Duration) error
}

// Deps are what the stage uses. Secrets, Queue and Log are required.
type Deps struct {
	// Secrets are the endpoint's signing secrets (several while one is
	// rolled).
	Secrets []string
	Queue   Queue
	// Livemode is the configured API key's mode: events of the other mode
	// are acknowledged and dropped.
	Livemode bool
	// Now is the stage's clock; nil: time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Stage is the CheckoutComplete function.
type Stage struct {
	secrets  []string
	queue    Queue
	livemode bool
	log      *slog.Logger
	now      func() time.Time
}

// New returns the webhook handler, or an error naming the first thing d
// lacks.
func New(d Deps) (*Stage, error) {
	switch {
	case len(d.Secrets) == 0:
		return nil, errors.New("checkoutcomplete: no Secrets")
	case d.Queue == nil:
		return nil, errors.New("checkoutcomplete: no Queue")
	case d.Log == nil:
		return nil, errors.New("checkoutcomplete: no Log")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Stage{secrets: d.Secrets, queue: d.Queue, livemode: d.Livemode, log: d.Log, now: d.Now}, nil
}

type answer struct {
	Received bool   `json:"received"`
	Queued   bool   `json:"queued,omitempty"`
	Ignored  string `json:"ignored,omitempty"`
	Error    string `json:"error,omitempty"`
}

// ServeHTTP answers one webhook delivery:
// 405 for a method other than POST, 413 for a body over MaxBodyBytes, 400 for
// a missing, malformed, wrong or stale signature or a body that is not an
// event, 200 for an event queued or deliberately ignored, 503 when the
// message could not be stored.
func (h *Stage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	invocation := r.Header.Get("X-Azure-Functions-InvocationId")
	if invocation == "" {
		invocation = uuid.NewString()
	}
	log := eventLog{log: h.log, ctx: r.Context(),
		attrs: []slog.Attr{slog.String("function", "CheckoutComplete"), slog.String("invocation_id", invocation)}}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		functions.WriteJSON(w, http.StatusMethodNotAllowed, answer{Error: "use POST"})
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			log.line(slog.LevelWarn, "webhook refused: body too large", slog.Int("limit", MaxBodyBytes))
			functions.WriteJSON(w, http.StatusRequestEntityTooLarge, answer{Error: "body too large"})
			return
		}
		log.line(slog.LevelWarn, "webhook refused: body unreadable", slog.Any("err", err))
		functions.WriteJSON(w, http.StatusBadRequest, answer{Error: "body unreadable"})
		return
	}
	ev, err := stripeapi.VerifyEvent(body, r.Header.Get("Stripe-Signature"), h.secrets, h.now())
	if err != nil {
		// The reason is ours (never the header or the secret).
		log.line(slog.LevelWarn, "webhook refused", slog.String("reason", err.Error()))
		functions.WriteJSON(w, http.StatusBadRequest, answer{Error: err.Error()})
		return
	}
	log.attrs = append(log.attrs, slog.String("event_id", ev.ID), slog.String("event_type", ev.Type))
	if order.AboutPayment(ev.Type) {
		log.attrs = append(log.attrs, slog.String("object_id", ev.ObjectID), slog.String("payment_intent", ev.PaymentIntent))
	} else {
		log.attrs = append(log.attrs, slog.String("session_id", ev.ObjectID))
	}
	status, a := h.handle(r.Context(), log, ev)
	if a == queuedAnswer() {
		functions.WriteEncodedJSON(w, http.StatusOK, queuedJSON)
		return
	}
	functions.WriteJSON(w, status, a)
}

// queuedAnswer is the answer to an event queued, the common one: it is
// written as queuedJSON, without encoding it each time (a test holds the
// two equal).
func queuedAnswer() answer { return answer{Received: true, Queued: true} }

// queuedJSON is queuedAnswer as functions.WriteJSON encodes it.
const queuedJSON = `{"received":true,"queued":true}` + "\n"

// eventLog writes the lines of one delivery, each with the same
// attributes (the function, the invocation and, once verified, the
// event's ids). They are passed to LogAttrs rather than bound with
// Logger.With, which would format them into a new handler on every
// webhook for the one or two lines it writes.
type eventLog struct {
	log   *slog.Logger
	ctx   context.Context
	attrs []slog.Attr
}

func (l eventLog) line(level slog.Level, msg string, extra ...slog.Attr) {
	if !l.log.Enabled(l.ctx, level) {
		return
	}
	l.log.LogAttrs(l.ctx, level, msg, append(l.attrs[:len(l.attrs):len(l.attrs)], extra...)...)
}

// readBody reads the request's body, at most MaxBodyBytes, into a buffer
// sized from its Content-Length, so that a webhook's body is read without
// growing the buffer several times.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	size := r.ContentLength
	if size < 0 || size > MaxBodyBytes {
		size = 0
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	return buf.Bytes(), err
}

func (h *Stage) handle(ctx context.Context, log eventLog, ev stripeapi.Event) (int, answer) {
	if !order.Handles(ev.Type) {
		log.line(slog.LevelDebug, "event type ignored")
		return http.StatusOK, answer{Received: true, Ignored: "event type " + ev.Type + " is not used"}
	}
	if ev.Livemode != h.livemode {
		log.line(slog.LevelWarn, "event ignored: its mode differs from the API key's", slog.Bool("event_livemode", ev.Livemode), slog.Bool("key_livemode", h.livemode))
		return http.StatusOK, answer{Received: true, Ignored: "livemode does not match this deployment"}
	}
	msg := order.ProcessJob{Version: order.ProcessJobVersion, EventID: ev.ID, EventType: ev.Type,
		SessionID: ev.ObjectID, Livemode: ev.Livemode, Created: ev.Created, Trigger: order.TriggerWebhook}
	if obj := order.EventObject(ev.Type); obj != "" {
		if ev.PaymentIntent == "" && ev.ObjectType == obj {
			log.line(slog.LevelInfo, "event ignored: the payment has no payment intent, so no Checkout Session")
			return http.StatusOK, answer{Received: true, Ignored: "the " + obj + " has no payment_intent: not a Checkout payment"}
		}
		msg.SessionID, msg.PaymentIntent, msg.ObjectID = "", ev.PaymentIntent, ev.ObjectID
		if ev.ObjectType != obj || msg.Validate() != nil {
			log.line(slog.LevelWarn, "webhook refused: the event's object is not a "+obj+" with a payment intent", slog.String("object", ev.ObjectType))
			return http.StatusBadRequest, answer{Error: "data.object is not a " + obj + " with a payment_intent"}
		}
	} else if ev.ObjectType != "checkout.session" || msg.Validate() != nil {
		log.line(slog.LevelWarn, "webhook refused: the event's object is not a Checkout Session", slog.String("object", ev.ObjectType))
		return http.StatusBadRequest, answer{Error: "data.object is not a checkout.session"}
	}
	if err := h.Handle(ctx, msg); err != nil {
		log.line(slog.LevelError, "event not queued; answering 503 so Stripe retries", slog.Any("err", err))
		return http.StatusServiceUnavailable, answer{Error: "could not queue the event; retry later"}
	}
	log.line(slog.LevelInfo, "event queued")
	return http.StatusOK, queuedAnswer()
}

// Handle puts msg on the ProcessOrder queue. It returns nil only once the
// message is stored.
func (h *Stage) Handle(ctx context.Context, msg order.ProcessJob) error {
	data, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode order message: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, EnqueueTimeout)
	defer cancel()
	if err := h.queue.Send(ctx, data, 0); err != nil {
		return fmt.Errorf("queue order message: %w", err)
	}
	return nil
}
