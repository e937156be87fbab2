package processorder_test

import (
	"context"
	"time"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/storage/blobstore"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// fakeSessions is a session fetcher of function fields.
type fakeSessions struct {
	SessionFunc func(ctx context.Context, id string) (stripeapi.Session, error)
	calls       int
}

func (f *fakeSessions) Session(ctx context.Context, id string) (stripeapi.Session, error) {
	f.calls++
	return f.SessionFunc(ctx, id)
}

// fakeOriginals is an originals container of function fields; nil
// functions mean every blob exists and links are example.com URLs.
type fakeOriginals struct {
	ExistsFunc func(ctx context.Context, blobName string) (bool, error)
	LinkFunc   func(ctx context.Context, blobName, fileName string) (blobstore.Link, error)
	links      int
}

func (f *fakeOriginals) Container() string { return "originals" }

func (f *fakeOriginals) Stat(ctx context.Context, blobName string) (int64, bool, error) {
	if f.ExistsFunc == nil {
		return int64(len(blobName)), true, nil
	}
	ok, err := f.ExistsFunc(ctx, blobName)
	return int64(len(blobName)), ok, err
}

func (f *fakeOriginals) Link(ctx context.Context, blobName, fileName string) (blobstore.Link, error) {
	f.links++
	if f.LinkFunc == nil {
		return blobstore.Link{URL: "https://files.example.com/originals/" + blobName + "?sig=SECRET", ExpiresAt: linkExpiry}, nil
	}
	return f.LinkFunc(ctx, blobName, fileName)
}

// fakeQueue collects sent messages; SendFunc, when set, runs first and may fail.
type fakeQueue struct {
	SendFunc func(ctx context.Context, data []byte, delay time.Duration) error
	sent     [][]byte
}

func (f *fakeQueue) Send(ctx context.Context, data []byte, delay time.Duration) error {
	if f.SendFunc != nil {
		if err := f.SendFunc(ctx, data, delay); err != nil {
			return err
		}
	}
	f.sent = append(f.sent, data)
	return nil
}

var (
	t0         = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	linkExpiry = t0.Add(720 * time.Hour)
)

const sessionID = "cs_test_a1B2c3D4e5F6g7H8"

// paidSession is a paid two-photo session, one of them bought twice.
func paidSession() stripeapi.Session {
	return stripeapi.Session{
		ID: sessionID, PaymentStatus: stripeapi.PaymentPaid,
		CustomerEmail: "jane@example.com", CustomerName: "Jane", Locale: "fr",
		Items: []stripeapi.LineItem{
			{ID: "li_1", ProductID: "prod_Sunset", ProductName: "Sunset", Description: "Sunset, large", Quantity: 1, Original: "landscapes/sunset.jpg"},
			{ID: "li_2", ProductID: "prod_Fern", ProductName: "Fern", Quantity: 2},
			{ID: "li_3", ProductID: "prod_Sunset", ProductName: "Sunset", Description: "Sunset, again", Quantity: 1, Original: "landscapes/sunset.jpg"},
		},
	}
}

func message(eventType string) order.ProcessJob {
	return order.ProcessJob{Version: order.ProcessJobVersion, EventID: "evt_1", EventType: eventType, SessionID: sessionID, Created: t0.Unix()}
}
