package storage_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/storage"
)

func TestTransient(t *testing.T) {
	answer := func(status int, code string) error {
		return fmt.Errorf("send: %w", &azcore.ResponseError{StatusCode: status, ErrorCode: code})
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"503 ServerBusy", answer(http.StatusServiceUnavailable, "ServerBusy"), true},
		{"500 OperationTimedOut", answer(http.StatusInternalServerError, "OperationTimedOut"), true},
		{"408", answer(http.StatusRequestTimeout, ""), true},
		{"no answer: connection refused", errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), true},
		{"a timeout", context.DeadlineExceeded, true},
		{"403 refused", answer(http.StatusForbidden, "AuthorizationFailure"), false},
		{"400", answer(http.StatusBadRequest, "InvalidInput"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, storage.Transient(tt.err))
		})
	}
}
