package order_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

// FuzzDecodeProcessJob: whatever a queue holds, DecodeProcessJob never
// panics; what it accepts is valid, carries bounded ids, and encodes to
// bytes that decode to the same message.
func FuzzDecodeProcessJob(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := order.DecodeProcessJob(data)
		if err != nil {
			require.True(t, order.IsPermanent(err), "the same bytes never decode: %v", err)
			return
		}
		require.NoError(t, m.Validate())
		require.LessOrEqual(t, len(m.SessionID), order.MaxIDBytes)
		require.LessOrEqual(t, len(m.EventID), order.MaxIDBytes)
		require.LessOrEqual(t, len(m.PaymentIntent), order.MaxIDBytes)
		require.LessOrEqual(t, len(m.ObjectID), order.MaxIDBytes)
		if order.AboutPayment(m.EventType) {
			require.NotEmpty(t, m.PaymentIntent, "a payment event names its payment intent")
		} else {
			require.NotEmpty(t, m.SessionID, "a Checkout event names its session")
		}
		again, err := json.Marshal(m)
		require.NoError(t, err)
		m2, err := order.DecodeProcessJob(again)
		require.NoError(t, err, "%s", again)
		require.Equal(t, m, m2)
	})
}

// FuzzDecodeMailJob: as FuzzDecodeProcessJob, for SendLink's
// messages.
func FuzzDecodeMailJob(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := order.DecodeMailJob(data)
		if err != nil {
			require.True(t, order.IsPermanent(err), "the same bytes never decode: %v", err)
			return
		}
		require.NoError(t, m.Validate())
		require.LessOrEqual(t, len(m.SessionID), order.MaxIDBytes)
		require.LessOrEqual(t, len(m.EventID), order.MaxIDBytes)
		again, err := json.Marshal(m)
		require.NoError(t, err)
		m2, err := order.DecodeMailJob(again)
		require.NoError(t, err, "%s", again)
		require.Equal(t, utcItems(m), utcItems(m2))
	})
}

// utcItems returns m with its expiry times in UTC (a decoded time keeps
// its offset as a *time.Location, which a second decode allocates anew) and
// no items as nil ("items" is omitted when empty).
func utcItems(m order.MailJob) order.MailJob {
	var items []order.Item
	for _, it := range m.Items {
		it.ExpiresAt = it.ExpiresAt.UTC()
		items = append(items, it)
	}
	m.Items = items
	return m
}

// FuzzDecodeDeliveryReport: whatever Event Grid or anyone else puts on the
// delivery report queue, DecodeDeliveryReport never panics, fails only
// permanently, and what it accepts carries bounded, clean values.
func FuzzDecodeDeliveryReport(f *testing.F) {
	for _, seed := range []string{eventGridReport, cloudEventsReport, learnReport} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := order.DecodeDeliveryReport(data)
		if err != nil {
			require.True(t, order.IsPermanent(err), "the same bytes never decode: %v", err)
			if errors.Is(err, order.ErrOtherEventType) {
				require.NotEmpty(t, r.EventID)
				require.LessOrEqual(t, len(r.EventType), order.MaxIDBytes)
			}
			return
		}
		require.Equal(t, order.EventEmailDeliveryReport, r.EventType)
		require.NotEmpty(t, r.EventID)
		require.LessOrEqual(t, len(r.EventID), order.MaxIDBytes)
		require.True(t, order.ValidOperationID(r.OperationID), "%q", r.OperationID)
		require.Equal(t, strings.ToLower(r.OperationID), r.OperationID)
		require.NotEmpty(t, r.Status)
		require.LessOrEqual(t, utf8.RuneCountInString(string(r.Status)), 64)
		require.LessOrEqual(t, utf8.RuneCountInString(r.StatusMessage), order.MaxStatusMessage)
		require.LessOrEqual(t, len(r.Recipient), 254)
		for _, s := range []string{string(r.Status), r.StatusMessage, r.Recipient} {
			require.True(t, utf8.ValidString(s), "%q", s)
			require.False(t, strings.ContainsFunc(s, unicode.IsControl), "%q", s)
		}
		require.Equal(t, time.UTC, r.AttemptedAt.Location())
	})
}
