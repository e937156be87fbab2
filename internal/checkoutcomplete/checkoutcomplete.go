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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	log := h.log.With("function", "CheckoutComplete", "invocation_id", invocation)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		functions.WriteJSON(w, http.StatusMethodNotAllowed, answer{Error: "use POST"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			log.Warn("webhook refused: body too large", "limit", MaxBodyBytes)
			functions.WriteJSON(w, http.StatusRequestEntityTooLarge, answer{Error: "body too large"})
			return
		}
		log.Warn("webhook refused: body unreadable", "err", err)
		functions.WriteJSON(w, http.StatusBadRequest, answer{Error: "body unreadable"})
		return
	}
	ev, err := stripeapi.VerifyEvent(body, r.Header.Get("Stripe-Signature"), h.secrets, h.now())
	if err != nil {
		// The reason is ours (never the header or the secret).
		log.Warn("webhook refused", "reason", err.Error())
		functions.WriteJSON(w, http.StatusBadRequest, answer{Error: err.Error()})
		return
	}
	log = log.With("event_id", ev.ID, "event_type", ev.Type)
	if order.AboutPayment(ev.Type) {
		log = log.With("object_id", ev.ObjectID, "payment_intent", ev.PaymentIntent)
	} else {
		log = log.With("session_id", ev.ObjectID)
	}
	status, a := h.handle(r.Context(), log, ev)
	functions.WriteJSON(w, status, a)
}

func (h *Stage) handle(ctx context.Context, log *slog.Logger, ev stripeapi.Event) (int, answer) {
	if !order.Handles(ev.Type) {
		log.Debug("event type ignored")
		return http.StatusOK, answer{Received: true, Ignored: "event type " + ev.Type + " is not used"}
	}
	if ev.Livemode != h.livemode {
		log.Warn("event ignored: its mode differs from the API key's", "event_livemode", ev.Livemode, "key_livemode", h.livemode)
		return http.StatusOK, answer{Received: true, Ignored: "livemode does not match this deployment"}
	}
	msg := order.ProcessJob{Version: order.ProcessJobVersion, EventID: ev.ID, EventType: ev.Type,
		SessionID: ev.ObjectID, Livemode: ev.Livemode, Created: ev.Created, Trigger: order.TriggerWebhook}
	if obj := order.EventObject(ev.Type); obj != "" {
		if ev.PaymentIntent == "" && ev.ObjectType == obj {
			log.Info("event ignored: the payment has no payment intent, so no Checkout Session")
			return http.StatusOK, answer{Received: true, Ignored: "the " + obj + " has no payment_intent: not a Checkout payment"}
		}
		msg.SessionID, msg.PaymentIntent, msg.ObjectID = "", ev.PaymentIntent, ev.ObjectID
		if ev.ObjectType != obj || msg.Validate() != nil {
			log.Warn("webhook refused: the event's object is not a "+obj+" with a payment intent", "object", ev.ObjectType)
			return http.StatusBadRequest, answer{Error: "data.object is not a " + obj + " with a payment_intent"}
		}
	} else if ev.ObjectType != "checkout.session" || msg.Validate() != nil {
		log.Warn("webhook refused: the event's object is not a Checkout Session", "object", ev.ObjectType)
		return http.StatusBadRequest, answer{Error: "data.object is not a checkout.session"}
	}
	if err := h.Handle(ctx, msg); err != nil {
		log.Error("event not queued; answering 503 so Stripe retries", "err", err)
		return http.StatusServiceUnavailable, answer{Error: "could not queue the event; retry later"}
	}
	log.Info("event queued")
	return http.StatusOK, answer{Received: true, Queued: true}
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
