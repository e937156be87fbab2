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
// order.ErrNotFound, 409 and 412 wrap order.ErrConflict, a fault that
// passes by itself (Transient: no answer, a timeout, 408, 5xx such as 503
// ServerBusy) is order.Transient, anything else stays retryable (the SDK
// has already retried it a few times). what names the operation.
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
	if Transient(err) {
		return order.Transient(fmt.Errorf("%s: %w", what, err))
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Transient reports whether err, from a storage SDK call, is a fault that
// passes by itself: no answer at all (a network fault, a timeout), 408, or
// a 5xx answer (503 ServerBusy, 500 OperationTimedOut). A 4xx refusal is
// not: repeating the request gets the same answer.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	re, ok := asResponseError(err)
	if !ok {
		return true
	}
	return re.StatusCode == http.StatusRequestTimeout || re.StatusCode >= 500
}

// ErrorCode returns the storage error code of err (e.g. QueueAlreadyExists), or "".
func ErrorCode(err error) string {
	if re, ok := asResponseError(err); ok {
		return re.ErrorCode
	}
	return ""
}
