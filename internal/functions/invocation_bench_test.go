package functions_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/functions/hostemu"
	"github.com/filedrop/filedrop/internal/order"
)

// benchMessages are the two queue messages the host delivers: ProcessOrder's
// small order message and SendLink's mail message with five signed links.
func benchMessages(b *testing.B) map[string][]byte {
	b.Helper()
	om, err := json.Marshal(order.ProcessJob{Version: order.ProcessJobVersion, EventID: "evt_1QbN8eLkdIwHu7ixZ2m4pT9q",
		EventType: order.EventCompleted, SessionID: "cs_test_a1kQ9Zf3Lx8TtYp2Rr7WmN4vBc6Hd0Jg5Ks1Ue8Xo3Ai9Ey2Mb",
		Created: 1_700_000_000, Trigger: order.TriggerWebhook})
	if err != nil {
		b.Fatal(err)
	}
	mm := order.MailJob{Version: order.MailJobVersion, Kind: order.MailDownloadLinks,
		SessionID: "cs_test_a1kQ9Zf3Lx8TtYp2Rr7WmN4vBc6Hd0Jg5Ks1Ue8Xo3Ai9Ey2Mb", EventID: "evt_1QbN8eLkdIwHu7ixZ2m4pT9q",
		Generation: 1, Customer: order.Customer{Email: "ada@customer.example", Name: "Ada Lovelace"}}
	for i := range 5 {
		name := fmt.Sprintf("harbour-%02d.jpg", i+1)
		mm.Items = append(mm.Items, order.Item{Title: fmt.Sprintf("Harbour at dawn, plate %d", i+1), FileName: name,
			URL:       "https://lumenphoto.blob.core.windows.net/originals/" + name + "?se=2025-04-13T09%3A26%3A53Z&sig=q9Vb3mKx7T2pL0wZr8sYc4nH6dJf1uEa5gXoI%2BkR3tM%3D&sp=r&spr=https&sr=b&st=2025-03-14T09%3A21%3A53Z&sv=2025-01-05&rscd=attachment%3B%20filename%3D%22" + name + "%22",
			ExpiresAt: time.Date(2025, 4, 13, 9, 26, 53, 0, time.UTC)})
	}
	mail, err := json.Marshal(mm)
	if err != nil {
		b.Fatal(err)
	}
	return map[string][]byte{"order_message": om, "mail_message": mail}
}

// BenchmarkDecodeInvocation decodes the host's invocation of a queue
// function: with dataType binary (base64, as this app's function.json files
// ask) and without (the message text JSON-encoded twice).
func BenchmarkDecodeInvocation(b *testing.B) {
	msgs := benchMessages(b)
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, shape := range []struct {
		name     string
		dataType string
	}{{"binary", "binary"}, {"double_encoded", ""}} {
		for _, msgName := range []string{"order_message", "mail_message"} {
			data := msgs[msgName]
			fn := functions.Function{Name: "SendLink", Binding: "msg", DataType: shape.dataType}
			body := hostemu.InvocationBody(fn, data, 1, "6f1c3b5e-2a4d-4e8f-9b7a-0c1d2e3f4a5b", "AgAAAAMAAAAAAAAA", at, at.Add(7*24*time.Hour), at.Add(10*time.Minute))
			b.Run(shape.name+"/"+msgName, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(body)))
				for b.Loop() {
					r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/SendLink", bytes.NewReader(body))
					inv, err := functions.DecodeInvocation(r, "msg", shape.dataType == "binary")
					if err != nil {
						b.Fatal(err)
					}
					if len(inv.Data) != len(data) {
						b.Fatalf("decoded %d bytes, want %d", len(inv.Data), len(data))
					}
				}
			})
		}
	}
}
