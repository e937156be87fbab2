package storage

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/filedrop/filedrop/internal/order"
)

func asResponseError(err error) (*azcore.ResponseError, bool) {
	var re *azcore.ResponseError
	ok := errors.As(err, &re)
	return re, ok
}

// translate turns an SDK error into the domain's: 404 wraps
// order.ErrNotFound, 409 and 412 wrap order.ErrConflict, anything else
// stays retryable (the SDK has already retried it a few times). what names
// the operation.
func translate(what string, err error) error {
	if err == nil {
		return nil
	}
	switch statusOf(err) {
	case http.StatusNotFound:
		return fmt.Errorf("%s: %w: %w", what, order.ErrNotFound, err)
	case http.StatusConflict, http.StatusPreconditionFailed:
		return fmt.Errorf("%s: %w: %w", what, order.ErrConflict, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// ErrorCode returns the storage error code of err (e.g. QueueAlreadyExists), or "".
func ErrorCode(err error) string {
	if re, ok := asResponseError(err); ok {
		return re.ErrorCode
	}
	return ""
}
