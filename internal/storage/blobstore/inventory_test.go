package blobstore_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/storage/blobstore"
	"github.com/filedrop/filedrop/internal/testenv"
)

func sumOf(data []byte) blobstore.Sum {
	m, s := md5.Sum(data), sha256.Sum256(data)
	return blobstore.Sum{MD5: m[:], SHA256: hex.EncodeToString(s[:])}
}

// TestPutAndListAgainstAzurite: Put records the content's hashes, which
// List reads back; Put never overwrites a blob other than the one the
// caller saw (created meanwhile, replaced meanwhile); a blob uploaded by
// Upload (setup) has a Content-MD5 too.
func TestPutAndListAgainstAzurite(t *testing.T) {
	az := testenv.StartAzurite(t)
	ctx := context.Background()
	o, err := blobstore.New(az.Account(t), blobstore.Options{Container: "originals", TTL: time.Hour}, time.Now)
	require.NoError(t, err)
	_, err = o.CreateContainer(ctx)
	require.NoError(t, err)
	list := func() map[string]blobstore.Blob {
		t.Helper()
		out := map[string]blobstore.Blob{}
		require.NoError(t, o.List(ctx, func(b blobstore.Blob) error { out[b.Name] = b; return nil }))
		return out
	}

	v1, v2 := []byte("\xff\xd8\xff harbour v1"), bytes.Repeat([]byte("harbour v2 "), 200_000) // v2 over one 1 MiB block
	require.NoError(t, o.Put(ctx, "städte/harbour.jpg", bytes.NewReader(v1), sumOf(v1), ""))
	got := list()["städte/harbour.jpg"]
	require.Equal(t, int64(len(v1)), got.Size)
	require.Equal(t, sumOf(v1).SHA256, got.SHA256)
	require.Equal(t, sumOf(v1).MD5, got.MD5)
	require.NotEmpty(t, got.ETag)

	err = o.Put(ctx, "städte/harbour.jpg", bytes.NewReader(v2), sumOf(v2), "")
	require.ErrorIs(t, err, blobstore.ErrChanged, "a blob that exists is not overwritten without its ETag")
	require.True(t, order.IsPermanent(err))

	require.NoError(t, o.Put(ctx, "städte/harbour.jpg", bytes.NewReader(v2), sumOf(v2), got.ETag))
	replaced := list()["städte/harbour.jpg"]
	require.Equal(t, sumOf(v2).SHA256, replaced.SHA256)
	require.Equal(t, sumOf(v2).MD5, replaced.MD5, "the Content-MD5 of a blob uploaded in blocks is the one Put gave")
	require.Equal(t, int64(len(v2)), replaced.Size)

	err = o.Put(ctx, "städte/harbour.jpg", bytes.NewReader(v1), sumOf(v1), got.ETag)
	require.ErrorIs(t, err, blobstore.ErrChanged, "the ETag the caller saw is stale")
	require.Equal(t, sumOf(v2).SHA256, list()["städte/harbour.jpg"].SHA256, "nothing was overwritten")

	require.NoError(t, o.Upload(ctx, "fern.jpg", v1))
	fern := list()["fern.jpg"]
	require.Empty(t, fern.SHA256, "Upload records no SHA-256")
	require.Equal(t, sumOf(v1).MD5, fern.MD5, "storage records the Content-MD5 of a blob put whole")

	missing, err := blobstore.New(az.Account(t), blobstore.Options{Container: "not-created", TTL: time.Hour}, time.Now)
	require.NoError(t, err)
	err = missing.List(ctx, func(blobstore.Blob) error { return nil })
	require.True(t, order.IsPermanent(err), "%v", err)
	require.ErrorContains(t, err, `container "not-created" does not exist`)

	require.Error(t, o.Put(ctx, "x.jpg", bytes.NewReader(v1), blobstore.Sum{}, ""), "the hashes are required")
}
