package blobstore

import (
	"context"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/filedrop/filedrop/internal/order"
)

// Stat reports whether the original blobName is in the container and, if
// so, its size in bytes, with one request. Errors as for Exists.
func (o *Originals) Stat(ctx context.Context, blobName string) (size int64, exists bool, err error) {
	if err := ValidateName(blobName); err != nil {
		return 0, false, order.Permanent(err)
	}
	props, err := o.container.NewBlobClient(blobName).GetProperties(ctx, nil)
	switch {
	case err == nil:
		if props.ContentLength != nil {
			size = *props.ContentLength
		}
		return size, true, nil
	case bloberror.HasCode(err, bloberror.ContainerNotFound):
		_, err := o.Exists(ctx, blobName) // the same permanent error, worded once
		return 0, false, err
	case statusOf(err) == http.StatusNotFound:
		return 0, false, nil
	}
	return 0, false, translate("check original "+blobName, err, o.keys != nil)
}
