package cli

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

const (
	eventsSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	eventsURL    = "https://hooks.example/filedrop?code=SecretInTheQuery"
)

// eventsSink is the sink eventsURL names (orderevents.WebhookSink).
var eventsSink = regexp.MustCompile(`webhook:hooks\.example/[0-9a-f]{8}`)

// eventsOrder is an order whose paid event the webhook took, and whose
// links_ready event it refused for good.
func eventsOrder(session, sink string) order.Order {
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	return order.Restore(order.Snapshot{SessionID: session, State: order.StateLinksReady, CustomerEmail: "jane@example.com", CreatedAt: at,
		PaidAt: at, Outbox: []order.OutboxEvent{
			{ID: order.NewEventID(session, order.TypePaid, ""), Type: order.TypePaid, At: at, State: order.StateLinksReady,
				Sinks: []order.SinkDelivery{{Sink: sink, QueuedAt: at, DeliveredAt: at}}},
			{ID: order.NewEventID(session, order.TypeLinksReady, "1"), Type: order.TypeLinksReady, At: at, State: order.StateLinksReady,
				Sinks: []order.SinkDelivery{{Sink: sink, QueuedAt: at, Attempts: 4, Error: "webhooks: post to https://hooks.example/…: 410 Gone",
					FailedAt: at.Add(time.Minute), GaveUp: true}}},
		}})
}

func TestEventsCommands(t *testing.T) {
	o := newOps(t, map[string]string{"ORDER_EVENTS_URL": eventsURL, "ORDER_EVENTS_SECRET": eventsSecret})
	sink := "webhook:hooks.example/" + shortDigest(eventsURL)
	require.Regexp(t, eventsSink, sink)
	o.seed(t, eventsOrder("cs_test_ev1", sink), eventsOrder("cs_test_ev2", sink))

	out, stderr, err := o.run(t, "events", "list", "--failed")
	require.NoError(t, err, stderr)
	require.Regexp(t, `cs_test_ev1\s+order.links_ready`, out)
	require.Contains(t, out, "gave_up (4 attempts)")
	require.NotContains(t, out, "order.paid", "delivered")
	require.NotContains(t, out, "SecretInTheQuery")

	out, _, err = o.run(t, "orders", "show", "cs_test_ev1")
	require.NoError(t, err)
	require.Regexp(t, `Order events\s+2 events`, out)
	require.Regexp(t, sink+`\s+1 delivered, 1 NOT DELIVERED \(1 failing, 1 given up; last error 2026-05-01T10:01:00Z after 4 attempts: webhooks: post to https://hooks.example/…: 410 Gone\)`, out)

	out, _, err = o.run(t, "events", "redeliver", "--session", "cs_test_ev1", "--dry-run")
	require.NoError(t, err)
	require.Contains(t, out, "dry run: would queue 1 event of 1 order again")
	require.Empty(t, o.peek(t, "order-events"))

	out, stderr, err = o.run(t, "events", "redeliver", "--sink", "webhook", "--json")
	require.NoError(t, err, stderr)
	var v redeliverView
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	require.Equal(t, 2, v.Queued)
	msgs := o.peek(t, "order-events")
	require.Len(t, msgs, 2)
	for _, data := range msgs {
		j, err := order.DecodeEventJob(data)
		require.NoError(t, err)
		require.Equal(t, order.TypeLinksReady, j.Event.Type)
		require.Equal(t, sink, j.Sink)
		require.Equal(t, order.NewEventID(j.Event.Order.SessionID, order.TypeLinksReady, "1"), j.Event.ID)
	}
	d := o.record(t, "cs_test_ev1").Outbox()[1].Sinks[0]
	require.False(t, d.GaveUp)
	require.False(t, d.QueuedAt.IsZero())

	_, _, err = o.run(t, "events", "list", "--session", "cs_test_none")
	require.Equal(t, ExitNotFound, exitCode(err), "%v", err)
	_, _, err = o.run(t, "events", "list", "--session", "nope")
	require.Equal(t, ExitUsage, exitCode(err))
}

func TestEventsRedeliverWithEventsOff(t *testing.T) {
	o := newOps(t, nil)
	_, _, err := o.run(t, "events", "redeliver")
	require.Equal(t, ExitConfig, exitCode(err))
	require.ErrorContains(t, err, "order events are off")
	out, _, err := o.run(t, "events", "list")
	require.NoError(t, err)
	require.Contains(t, out, "order events are off")
}

// shortDigest is the digest a webhook sink's name ends in.
func shortDigest(u string) string {
	sum := sha256.Sum256([]byte(u))
	return fmt.Sprintf("%x", sum[:4])
}

// TestEventsReceive: the receiver keeps what verifies, writes it to its
// folder and prints a line; it refuses what does not.
func TestEventsReceive(t *testing.T) {
	dir, run := t.TempDir(), t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Env{Args: []string{"events", "receive", "--port", "0", "--dir", dir}, Stdout: stdout, Stderr: &bytes.Buffer{},
			Stdin: strings.NewReader(""), Dir: t.TempDir(), Getenv: func(k string) string {
				return map[string]string{"ORDER_EVENTS_SECRET": eventsSecret, "RUN_DIR": run}[k]
			}})
	}()
	var addr string
	for range 200 {
		if m := regexp.MustCompile(`at (http://127\.0\.0\.1:\d+/)`).FindStringSubmatch(stdout.String()); m != nil {
			addr = m[1]
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.NotEmpty(t, addr, "the receiver says where it listens: %s", stdout.String())

	o := eventsOrder("cs_test_rcv", "x")
	body, err := order.EncodeEvent(o.EventOf(o.Outbox()[0]))
	require.NoError(t, err)
	post := func(secret string) int {
		id, ts := o.Outbox()[0].ID, strconv.FormatInt(time.Now().Unix(), 10)
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		mac := hmac.New(sha256.New, key)
		fmt.Fprintf(mac, "%s.%s.%s", id, ts, body)
		req, _ := http.NewRequest(http.MethodPost, addr, bytes.NewReader(body))
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", ts)
		req.Header.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusNoContent, post(eventsSecret))
	require.Equal(t, http.StatusNoContent, post(eventsSecret))
	require.Equal(t, http.StatusUnauthorized, post("whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="))
	kept, err := os.ReadFile(filepath.Join(dir, o.Outbox()[0].ID+".json"))
	require.NoError(t, err)
	require.Equal(t, body, kept, "the body as received")
	require.Contains(t, stdout.String(), "order.paid cs_test_rcv "+o.Outbox()[0].ID+"\n")
	require.Contains(t, stdout.String(), o.Outbox()[0].ID+" (again)\n")
	cancel()
	require.NoError(t, <-done)
}
