package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/operator"
	"github.com/filedrop/filedrop/internal/order"
)

func TestPoison(t *testing.T) {
	o := newOps(t, nil)
	ctx := context.Background()
	orderMsg, err := json.Marshal(order.ProcessJob{Version: 1, EventID: "evt_poisoned", EventType: order.EventCompleted,
		SessionID: "cs_test_poisoned", Trigger: order.TriggerWebhook})
	require.NoError(t, err)
	b64 := base64.StdEncoding.EncodeToString
	orderTexts := []string{b64(orderMsg), b64([]byte(`{"v":1,"session_id":"not-a-session"}`)), "%%% not base64"}
	mailTexts := []string{b64(downloadMail(t, "cs_test_mailfail", 2, time.Now().Add(time.Hour)))}
	send := func(queue string, texts []string) {
		for _, text := range texts {
			require.NoError(t, o.queues.Queue(queue).SendText(ctx, text, 0))
		}
	}
	send("process-order-poison", orderTexts)
	send("send-link-poison", mailTexts)
	texts := func(queue string) []string {
		msgs, err := o.queues.Queue(queue).Peek(ctx, 32)
		require.NoError(t, err)
		out := []string{}
		for _, m := range msgs {
			out = append(out, m.Text)
		}
		return out
	}

	t.Run("list", func(t *testing.T) {
		out, stderr, err := o.run(t, "poison", "list")
		require.NoError(t, err, stderr)
		for _, want := range []string{
			"process-order-poison (ProcessOrder, back to process-order): about 3 messages",
			"cs_test_poisoned", "evt_poisoned", "checkout.session.completed, trigger webhook",
			`invalid: session_id "not-a-session" is not a Checkout Session id`, "not base64",
			"send-link-poison (SendLink, back to send-link): about 1 message",
			"cs_test_mailfail", "download_links generation 2 to jane@example.com",
			"https://acct.blob.core.windows.net/originals/harbour.jpg?REDACTED",
		} {
			require.Contains(t, out, want)
		}
		require.NotContains(t, out, "SECRET", "links are shown without their signature")
		require.NotContains(t, out, "showing the first")
	})
	t.Run("list one queue as JSON", func(t *testing.T) {
		out, _, err := o.run(t, "poison", "list", "--queue", "SendLink", "--json")
		require.NoError(t, err)
		require.NotContains(t, out, "SECRET")
		var got []poisonQueue
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		require.Len(t, got, 1)
		require.Equal(t, poisoned{Function: "SendLink", Queue: "send-link", Poison: "send-link-poison"}, got[0].poisoned)
		require.Equal(t, 1, got[0].Count)
		m := got[0].Messages[0]
		require.Equal(t, "cs_test_mailfail", m.SessionID)
		require.Equal(t, order.MailDownloadLinks, m.Kind)
		require.Equal(t, 2, m.Generation)
		require.Empty(t, m.Problem)
		require.WithinDuration(t, time.Now(), m.PoisonedAt, time.Minute)
	})
	t.Run("unknown queue", func(t *testing.T) {
		_, _, err := o.run(t, "poison", "redrive", "--queue", "orders")
		require.Equal(t, ExitUsage, exitCode(err))
		require.ErrorContains(t, err, "process-order, send-link")
	})
	t.Run("dry run moves nothing", func(t *testing.T) {
		out, stderr, err := o.run(t, "poison", "redrive", "--dry-run")
		require.NoError(t, err, stderr)
		require.Contains(t, out, "cs_test_poisoned")
		require.Contains(t, out, "dry run: would move about 4 messages; nothing moved")
		require.Len(t, texts("process-order-poison"), 3)
		require.Len(t, texts("send-link-poison"), 1)
		require.Empty(t, texts("process-order"))
	})
	t.Run("redrive one queue", func(t *testing.T) {
		out, stderr, err := o.run(t, "poison", "redrive", "--queue", "send-link")
		require.NoError(t, err, stderr)
		require.Equal(t, "moved 1 message from send-link-poison back to send-link\n", out)
		require.Equal(t, mailTexts, texts("send-link"), "the message, unchanged")
		require.Empty(t, texts("send-link-poison"))
		require.Len(t, texts("process-order-poison"), 3, "the other queue is left alone")
	})
	t.Run("redrive the rest", func(t *testing.T) {
		out, stderr, err := o.run(t, "poison", "redrive", "--json")
		require.NoError(t, err, stderr)
		var got struct {
			DryRun bool       `json:"dry_run"`
			Queues []redriven `json:"queues"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		require.Len(t, got.Queues, 4)
		require.Equal(t, "DeliveryReport", got.Queues[0].Function)
		require.Equal(t, 0, got.Queues[0].Moved)
		require.Equal(t, "OrderEvents", got.Queues[1].Function)
		require.Equal(t, 0, got.Queues[1].Moved)
		require.Equal(t, 3, got.Queues[2].Moved)
		require.Equal(t, 0, got.Queues[3].Moved)
		require.ElementsMatch(t, orderTexts, texts("process-order"), "the messages, unchanged")
		require.Empty(t, texts("process-order-poison"))
	})
	t.Run("nothing to redrive", func(t *testing.T) {
		out, _, err := o.run(t, "poison", "redrive")
		require.NoError(t, err)
		require.Equal(t, "nothing to redrive\n", out)
		out, _, err = o.run(t, "poison", "list")
		require.NoError(t, err)
		require.Equal(t, "no poisoned messages\n", out)
	})
	t.Run("more than one batch", func(t *testing.T) {
		many := make([]string, operator.PeekMax+3)
		for i := range many {
			many[i] = b64(fmt.Appendf(nil, `{"n":%d}`, i))
		}
		send("process-order-poison", many)
		out, _, err := o.run(t, "poison", "list", "--queue", "process-order")
		require.NoError(t, err)
		require.Contains(t, out, "about 35 messages\nshowing the first 32\n")
		out, _, err = o.run(t, "poison", "redrive", "--queue", "ProcessOrder")
		require.NoError(t, err)
		require.Equal(t, "moved 35 messages from process-order-poison back to process-order\n", out)
		n, err := o.queues.Queue("process-order").Count(ctx)
		require.NoError(t, err)
		require.Equal(t, 3+len(many), n)
	})
}
