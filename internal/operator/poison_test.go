package operator

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/storage"
)

func TestInspect(t *testing.T) {
	at := time.Date(2024, 1, 20, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	b64 := base64.StdEncoding.EncodeToString
	orderMsg := order.ProcessJob{Version: 1, EventID: "evt_poisoned", EventType: order.EventCompleted, SessionID: "cs_test_poisoned",
		Trigger: order.TriggerWebhook}
	orderData, err := json.Marshal(orderMsg)
	require.NoError(t, err)
	mailData := downloadMail(t, "cs_test_mailfail", 2, at.Add(time.Hour))
	var mailMsg order.MailJob
	require.NoError(t, json.Unmarshal(mailData, &mailMsg))

	tests := []struct {
		name    string
		text    string
		carries Carries
		order   *order.ProcessJob
		mail    *order.MailJob
		problem string
	}{
		{name: "order message", text: b64(orderData), carries: ProcessJobs, order: &orderMsg},
		{name: "invalid order message", text: b64([]byte(`{"v":1,"session_id":"not-a-session"}`)), carries: ProcessJobs,
			order: &order.ProcessJob{Version: 1, SessionID: "not-a-session"}, problem: `session_id "not-a-session" is not a Checkout Session id`},
		{name: "not JSON", text: b64([]byte(`nope`)), carries: ProcessJobs, order: &order.ProcessJob{}, problem: "invalid character"},
		{name: "not base64", text: "%%% not base64", carries: ProcessJobs, problem: "not base64: the host cannot read it either"},
		{name: "mail message", text: b64(mailData), carries: MailJobs, mail: &mailMsg},
		{name: "an order message on a mail queue", text: b64(orderData), carries: MailJobs,
			mail: &order.MailJob{Version: 1, SessionID: "cs_test_poisoned", EventID: "evt_poisoned"}, problem: "kind \"\" is unknown"},
		{name: "a queue this version does not know", text: b64([]byte("12345")), problem: "5 bytes for Refund, which this version does not decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Inspect(storage.Message{ID: "msg-1", InsertedAt: at, Text: tt.text}, "Refund", tt.carries)
			require.Equal(t, "msg-1", got.ID)
			require.Equal(t, at.UTC(), got.PoisonedAt)
			require.Equal(t, time.UTC, got.PoisonedAt.Location())
			require.Equal(t, tt.order, got.Order)
			require.Equal(t, tt.mail, got.Mail)
			if tt.problem == "" {
				require.NoError(t, got.Problem)
				return
			}
			require.ErrorContains(t, got.Problem, tt.problem)
		})
	}
}

func TestPeek(t *testing.T) {
	tests := []struct {
		name      string
		messages  int
		wantShown int
	}{
		{"empty", 0, 0},
		{"one", 1, 1},
		{"more than shown", PeekMax + 3, PeekMax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &memQueue{}
			for i := range tt.messages {
				q.put(base64.StdEncoding.EncodeToString(fmt.Appendf(nil, `{"n":%d}`, i)), time.Now())
			}
			n, msgs, err := Peek(context.Background(), q, "ProcessOrder", ProcessJobs)
			require.NoError(t, err)
			require.Equal(t, tt.messages, n)
			require.NotNil(t, msgs)
			require.Len(t, msgs, tt.wantShown)
			require.Len(t, q.texts(), tt.messages, "peeking takes nothing")
		})
	}
}

func TestRedrive(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name       string
		old, fresh int // messages poisoned before and after the run began
		// receiveErr and deleteErr are the poison queue's, sendErr the
		// queue's.
		receiveErr, deleteErr, sendErr error
		moved                          int
		err                            error
	}{
		{name: "nothing to move"},
		{name: "one batch", old: 3, moved: 3},
		{name: "more than one batch", old: PeekMax + 3, moved: PeekMax + 3},
		{name: "messages poisoned during the run stay", old: 2, fresh: 2, moved: 2},
		{name: "no poison queue", receiveErr: fmt.Errorf("receive: %w", order.ErrNotFound)},
		{name: "receive fails", old: 2, receiveErr: boom, err: boom},
		{name: "send fails: the message stays", old: 2, sendErr: boom, err: boom},
		{name: "delete fails: a copy in both", old: 2, deleteErr: boom, err: boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, dst := &memQueue{receiveErr: tt.receiveErr, deleteErr: tt.deleteErr}, &memQueue{sendErr: tt.sendErr}
			texts := []string{}
			for i := range tt.old + tt.fresh {
				text := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, `{"n":%d}`, i))
				at := time.Now().Add(-time.Minute)
				if i >= tt.old {
					at = time.Now().Add(time.Hour)
				}
				src.put(text, at)
				texts = append(texts, text)
			}
			var steps []int
			moved, err := Redrive(context.Background(), src, dst, func(n int) { steps = append(steps, n) })
			require.ErrorIs(t, err, tt.err)
			require.Equal(t, tt.moved, moved)
			require.Len(t, steps, moved, "a step per message moved")
			switch {
			case tt.err == nil:
				require.Equal(t, texts[:tt.old], dst.texts(), "the messages, unchanged and in order")
				require.Equal(t, texts[tt.old:], src.texts(), "the fresh ones stay")
			case tt.deleteErr != nil:
				require.Equal(t, texts[:1], dst.texts(), "sent before it is deleted")
				require.Equal(t, texts, src.texts())
			default:
				require.Empty(t, dst.texts())
				require.Equal(t, texts, src.texts(), "nothing is lost")
			}
		})
	}
}
