package sendlink_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/sendlink"
)

// TestEventsOncePerChange: a sent mail is one mail_accepted event, and a
// mail refused for good one needs_attention, through redeliveries and a
// crash between the send and its record.
func TestEventsOncePerChange(t *testing.T) {
	tests := []struct {
		name       string
		sendErr    error
		crashFirst bool // the first record of the send fails: the redelivery sends again
		want       order.EventType
	}{
		{"accepted, delivered twice", nil, false, order.TypeMailAccepted},
		{"accepted, the record lost once", nil, true, order.TypeMailAccepted},
		{"refused for good", order.Permanent(errors.New("550 no such mailbox")), false, order.TypeNeedsAttention},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			led := ordertest.NewLedger(linksReady())
			if tt.crashFirst {
				led.BeforeWrite = func(n int, _ order.Order) error {
					if n == 2 { // the claim is the first write, the record of the send the second
						return errors.New("table unavailable")
					}
					return nil
				}
			}
			q := &ordertest.EventQueue{}
			sent := &sentMails{}
			st := newStage(t, sendlink.Deps{Sender: sent.sender(tt.sendErr), Records: &order.Publisher{Records: led, Queue: q, Sinks: []string{"dataverse"}},
				Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)})
			for i := range 2 {
				_ = st.Handle(context.Background(), delivery.Attempt{MessageID: "msg-1", DequeueCount: i + 1}, message())
			}
			require.Len(t, q.Jobs(), 1, "one event, queued once")
			require.Equal(t, tt.want, q.Jobs()[0].Event.Type)
			if tt.want == order.TypeMailAccepted {
				require.Equal(t, order.NewEventID(session, order.TypeMailAccepted, message().Key()), q.Jobs()[0].Event.ID)
				require.Equal(t, &order.EventMail{Kind: order.MailDownloadLinks, Generation: 1}, q.Jobs()[0].Event.Mail)
			}
		})
	}
}
