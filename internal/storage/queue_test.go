package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
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
