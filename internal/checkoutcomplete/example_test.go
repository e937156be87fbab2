package checkoutcomplete_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/filedrop/filedrop/internal/checkoutcomplete"
)

// printQueue prints what would be put on the ProcessOrder queue.
type printQueue struct{}

func (printQueue) Send(_ context.Context, data []byte, _ time.Duration) error {
	fmt.Printf("queued: %s\n", data)
	return nil
}

// A webhook delivery is verified on its raw bytes and becomes one small
// message on the ProcessOrder queue; the answer is 200 only once it is stored.
func Example() {
	h, err := checkoutcomplete.New(checkoutcomplete.Deps{Secrets: []string{"whsec_example"}, Queue: printQueue{},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		panic(err)
	}

	body := []byte(`{"id":"evt_1","object":"event","api_version":"2025-10-29.clover","created":1700000000,` +
		`"livemode":false,"type":"checkout.session.completed","data":{"object":{"id":"cs_test_a1","object":"checkout.session"}}}`)
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: "whsec_example"})

	req := httptest.NewRequest("POST", "/api/CheckoutComplete", bytes.NewReader(body))
	req.Header.Set("Stripe-Signature", signed.Header)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())
	// Output:
	// queued: {"v":1,"event_id":"evt_1","event_type":"checkout.session.completed","session_id":"cs_test_a1","livemode":false,"created":1700000000,"trigger":"webhook"}
	// 200 {"received":true,"queued":true}
}
