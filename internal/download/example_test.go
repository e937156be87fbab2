package download_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/download"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/orderlink"
)

// The order page lists a paid order's files; a click on one records the
// download and sends the customer to a link minted for it.
func ExampleHandler_ServeHTTP() {
	signer, _ := orderlink.New("https://shop.example", []string{secret})
	h, err := download.New(download.Deps{Refs: signer, Records: ordertest.NewLedger(paidOrder()), Links: &links{},
		Settings: download.Settings{Shop: "Lumen Photo", Window: window, Limit: 3}, Now: func() time.Time { return now },
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	page := orderlink.Path + signer.Ref(session) // the link the mail carries, as the host forwards it

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, page, nil))
	fmt.Println("GET:", w.Code, strings.Contains(w.Body.String(), "Harbour at dawn"))

	w = httptest.NewRecorder()
	click := httptest.NewRequest(http.MethodPost, page, strings.NewReader(url.Values{"file": {"0"}}.Encode()))
	click.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	h.ServeHTTP(w, click)
	fmt.Println("POST:", w.Code, strings.SplitN(w.Header().Get("Location"), "?", 2)[0])
	// Output:
	// GET: 200 true
	// POST: 303 https://acct.blob.example/originals/harbour.jpg
}
