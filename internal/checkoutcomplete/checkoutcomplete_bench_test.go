package checkoutcomplete

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/filedrop/filedrop/internal/stripeapi"
)

// benchEvent is a checkout.session.completed event as Stripe sends it
// (pretty-printed, about 3 KB) and its Stripe-Signature at benchNow.
func benchEvent(b *testing.B) (body []byte, header string) {
	b.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "checkout_session_completed.json"))
	if err != nil {
		b.Fatal(err)
	}
	return body, sign(body, secret, benchNow)
}

var benchNow = time.Unix(1_700_000_000, 0)

// nopQueue accepts every message at once: the benchmarks measure the
// handler, not storage.
type nopQueue struct{}

func (nopQueue) Send(context.Context, []byte, time.Duration) error { return nil }

// BenchmarkVerifyEvent checks the signature of a ~3 KB event and decodes its
// ids, with one secret and, while a secret is rolled, with the valid secret
// second.
func BenchmarkVerifyEvent(b *testing.B) {
	body, header := benchEvent(b)
	for _, bc := range []struct {
		name    string
		secrets []string
	}{
		{"one_secret", []string{secret}},
		{"rolling_second_valid", []string{oldSecret, secret}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := stripeapi.VerifyEvent(body, header, bc.secrets, benchNow); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkServeHTTP is one whole webhook delivery through the handler: read
// the body, verify, decode, log (to a discarded text log, as handler local
// logs at info) and queue on a queue that costs nothing.
func BenchmarkServeHTTP(b *testing.B) {
	body, header := benchEvent(b)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := mustNew(b, Deps{Secrets: []string{secret}, Queue: nopQueue{}, Log: log, Now: func() time.Time { return benchNow }})
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/api/CheckoutComplete", bytes.NewReader(body))
		r.Header.Set("Stripe-Signature", header)
		r.Header.Set("Content-Type", "application/json; charset=utf-8")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
