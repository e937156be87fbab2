package storage_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/secret"
	"github.com/filedrop/filedrop/internal/storage"
	"github.com/filedrop/filedrop/internal/testenv"
)

func TestQueueAgainstAzurite(t *testing.T) {
	az := testenv.StartAzurite(t)
	qs := az.Queues(t)
	ctx := context.Background()

	created, err := qs.Create(ctx, "orders")
	require.NoError(t, err)
	require.True(t, created, "a new queue is reported as created")
	created, err = qs.Create(ctx, "orders")
	require.NoError(t, err)
	require.False(t, created, "an existing queue is not")

	q := qs.Queue("orders")
	require.NoError(t, q.Send(ctx, []byte(`{"a":1}`), 0))
	require.NoError(t, q.Send(ctx, []byte(`later`), time.Hour))
	peeked, err := q.Peek(ctx, 32)
	require.NoError(t, err)
	require.Len(t, peeked, 1, "a delayed message is invisible")
	require.Equal(t, "eyJhIjoxfQ==", peeked[0].Text, "stored as base64 text")

	msgs, err := q.Receive(ctx, 32, time.Minute)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	require.Equal(t, `{"a":1}`, string(msgs[0].Data))
	require.Equal(t, 1, msgs[0].DequeueCount)

	// Hide keeps the text and hands out a new pop receipt; the old one is stale.
	hidden, err := q.Hide(ctx, msgs[0], 0)
	require.NoError(t, err)
	require.NotEqual(t, msgs[0].PopReceipt, hidden.PopReceipt)
	require.Error(t, q.Delete(ctx, msgs[0]), "a stale pop receipt is refused")
	again, err := q.Receive(ctx, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, again, 1)
	require.Equal(t, 2, again[0].DequeueCount)
	require.NoError(t, q.Delete(ctx, again[0]))

	n, err := q.Count(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n, "only the delayed message is left")

	n, err = qs.Queue("missing").Count(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "a missing queue counts 0")
	err = qs.Queue("missing").Send(ctx, []byte("x"), 0)
	require.True(t, errors.Is(err, order.ErrNotFound), "sending to a missing queue wraps ErrNotFound: %v", err)

	require.ErrorContains(t, q.Send(ctx, make([]byte, storage.MaxMessageBytes+1), 0), "over the")
}

// answers is a transport that answers every call with status and body,
// and records the calls.
type answers struct {
	status int
	body   string
	calls  []string
}

func (a *answers) Do(req *http.Request) (*http.Response, error) {
	a.calls = append(a.calls, req.Method+" "+req.URL.Path)
	h := http.Header{"Content-Type": {"application/xml"}}
	if a.status >= 300 {
		h.Set("X-Ms-Error-Code", "QueueNotFound")
	}
	return &http.Response{StatusCode: a.status, Header: h, Request: req,
		Body: io.NopCloser(strings.NewReader(a.body)), ContentLength: int64(len(a.body))}, nil
}

// TestSendSkipsTheAnswer: a message the service stored is reported as
// stored whatever its answer's body says, since nothing reads it; a
// failure's answer is still read for its error code, and other calls'
// answers are still decoded.
func TestSendSkipsTheAnswer(t *testing.T) {
	const stored = `<?xml version="1.0" encoding="utf-8"?><QueueMessagesList><QueueMessage><MessageId>5974b586-0df3-4e2d-ad0c-18e3892bfca2</MessageId>` +
		`<InsertionTime>Fri, 09 Oct 2015 21:04:30 GMT</InsertionTime><ExpirationTime>Fri, 16 Oct 2015 21:04:30 GMT</ExpirationTime>` +
		`<PopReceipt>YzQ4Yzg1MDItYTc0Ny00OWNjLTkxYTUtZGM0MDFiZDAwYzEw</PopReceipt><TimeNextVisible>Fri, 09 Oct 2015 23:29:20 GMT</TimeNextVisible></QueueMessage></QueueMessagesList>`
	const notFound = `<?xml version="1.0" encoding="utf-8"?><Error><Code>QueueNotFound</Code><Message>The specified queue does not exist.</Message></Error>`
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		receive bool
		// wantErr is in the error; "" for none.
		wantErr      string
		wantNotFound bool
	}{
		{name: "201 as the service answers", status: http.StatusCreated, body: stored},
		{name: "201 with a body that is not XML", status: http.StatusCreated, body: "not XML"},
		{name: "404: the queue is missing", status: http.StatusNotFound, body: notFound, wantErr: "QueueNotFound", wantNotFound: true},
		{name: "Receive's answer is still decoded", status: http.StatusOK, body: "not XML", receive: true, wantErr: "unmarshalling"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &answers{status: tc.status, body: tc.body}
			qs, err := storage.NewQueues(storage.Account{Transport: tr,
				Options: storage.Options{AccountName: "devstoreaccount1", AccountKey: secret.Value("a2V5"), QueueURL: "http://127.0.0.1:1/devstoreaccount1"}})
			require.NoError(t, err)
			q := qs.Queue("orders")
			if tc.receive {
				_, err = q.Receive(context.Background(), 1, time.Minute)
			} else {
				err = q.Send(context.Background(), []byte(`{"a":1}`), 0)
			}
			if tc.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.wantErr)
			}
			require.Equal(t, tc.wantNotFound, errors.Is(err, order.ErrNotFound), "%v", err)
			require.Len(t, tr.calls, 1)
		})
	}
}
