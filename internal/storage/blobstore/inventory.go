package blobstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/filedrop/filedrop/internal/order"
)

// SHA256Key is the metadata key under which Put records an original's
// SHA-256 (lowercase hex).
const SHA256Key = "sha256"

// MaxListed bounds the blobs one List reads.
const MaxListed = 1_000_000

// ErrChanged reports that Put found the blob other than the caller last saw
// it: created, replaced or deleted meanwhile. Nothing was overwritten.
var ErrChanged = errors.New("the original changed in the container meanwhile")

// Blob is an original as the container lists it.
type Blob struct {
	Name string
	Size int64
	// SHA256 is the hex SHA-256 that Put recorded in the metadata, or "".
	SHA256 string
	// MD5 is the blob's Content-MD5, or nil when it has none (a blob
	// uploaded in blocks by another tool).
	MD5 []byte
	// ETag is the blob's version, for Put's ifMatch.
	ETag string
}

// Sum is what Put records of the content it uploads.
type Sum struct {
	MD5    []byte
	SHA256 string
}

// List calls fn for every blob of the container, in name order. A missing
// container is permanent, as for Exists; an error from fn stops the listing
// and is returned as it is.
func (o *Originals) List(ctx context.Context, fn func(Blob) error) error {
	pager := o.container.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Metadata: true}})
	n := 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			if statusOf(err) == http.StatusNotFound {
				_, err := o.Exists(ctx, "x") // the same permanent error, worded once
				return err
			}
			return translate("list container "+o.name, err, o.keys != nil)
		}
		for _, item := range page.Segment.BlobItems {
			if n++; n > MaxListed {
				return fmt.Errorf("list container %s: more than %d blobs", o.name, MaxListed)
			}
			if err := fn(blobOf(item)); err != nil {
				return err
			}
		}
	}
	return nil
}

func blobOf(item *container.BlobItem) Blob {
	var b Blob
	if item.Name != nil {
		b.Name = *item.Name
	}
	if p := item.Properties; p != nil {
		b.MD5 = p.ContentMD5
		if p.ContentLength != nil {
			b.Size = *p.ContentLength
		}
		if p.ETag != nil {
			b.ETag = string(*p.ETag)
		}
	}
	for k, v := range item.Metadata {
		if strings.EqualFold(k, SHA256Key) && v != nil {
			b.SHA256 = strings.ToLower(*v)
		}
	}
	return b
}

// Put uploads body as the original name, with a Content-Type from its
// extension, sum.MD5 as its Content-MD5 and sum.SHA256 in its metadata.
// ifMatch is the ETag of the blob it replaces, or "" when no blob of that
// name may exist: a blob created, replaced or deleted meanwhile is left as
// it is and the error wraps ErrChanged (permanent).
func (o *Originals) Put(ctx context.Context, name string, body io.Reader, sum Sum, ifMatch string) error {
	if err := ValidateName(name); err != nil {
		return order.Permanent(err)
	}
	if _, err := hex.DecodeString(sum.SHA256); err != nil || len(sum.SHA256) != 64 || len(sum.MD5) != 16 {
		return fmt.Errorf("upload original %s: the content's MD5 and SHA-256 are required", name)
	}
	headers := &blob.HTTPHeaders{BlobContentMD5: sum.MD5}
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		headers.BlobContentType = to.Ptr(ct)
	}
	cond := &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}
	if ifMatch != "" {
		cond = &blob.ModifiedAccessConditions{IfMatch: to.Ptr(azcore.ETag(ifMatch))}
	}
	_, err := o.container.NewBlockBlobClient(name).UploadStream(ctx, body, &blockblob.UploadStreamOptions{
		Concurrency:      1,
		HTTPHeaders:      headers,
		Metadata:         map[string]*string{SHA256Key: to.Ptr(strings.ToLower(sum.SHA256))},
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: cond},
	})
	switch s := statusOf(err); {
	case err == nil:
		return nil
	case s == http.StatusPreconditionFailed || s == http.StatusConflict || s == http.StatusNotFound && ifMatch != "":
		return order.Permanent(fmt.Errorf("upload original %s: %w (storage answered %d): run the command again", name, ErrChanged, s))
	}
	return translate("upload original "+name, err, o.keys != nil)
}
