package webhooks

import (
	"io"
	"net/http"
	"time"

	"github.com/filedrop/filedrop/internal/order"
)

// Receiver receives order events as a seller's receiver would, for local
// runs and tests: it verifies each POST as the Standard Webhooks libraries
// do (Signer.Verify), decodes the event (order.DecodeEvent) and hands it to
// Got with the raw body. It answers 204 when Got succeeds, 401 to a webhook
// that does not verify, 400 to a body that is no order event, 405 to
// another method and 500 when Got fails.
type Receiver struct {
	Signer *Signer
	// Got takes each verified event; a receiver de-duplicates on e.ID.
	Got func(e order.Event, body []byte) error
	// Now is the clock the timestamps are checked against; nil: time.Now.
	Now func() time.Time
}

func (rv *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST order events here", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, order.MaxEventBytes+1))
	if err != nil {
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	}
	now := time.Now
	if rv.Now != nil {
		now = rv.Now
	}
	if _, err := rv.Signer.Verify(r.Header, body, now()); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	e, err := order.DecodeEvent(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if e.ID != r.Header.Get(HeaderID) {
		http.Error(w, "webhook-id is not the event's id", http.StatusBadRequest)
		return
	}
	if err := rv.Got(e, body); err != nil {
		http.Error(w, "the event was not kept", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
