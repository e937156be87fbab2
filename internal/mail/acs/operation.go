package acs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/order"
)

// operation is an Email send operation: the 202 body and the lookup answer.
type operation struct {
	ID     string    `json:"id"`
	Status string    `json:"status"`
	Error  *apiError `json:"error,omitempty"`
	// retryAfter is the answer's Retry-After.
	retryAfter time.Duration
}

// accepted returns the operation's id, or a permanent error if it failed.
func (op operation) accepted() (string, error) {
	switch op.Status {
	case "Failed", "Canceled":
		return "", order.Permanent(fmt.Errorf("acs: operation %s %s%s", op.ID, strings.ToLower(op.Status), op.Error.describe()))
	}
	return op.ID, nil
}

// apiError is the error object of an ACS answer.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// describe returns ": code: message", shortened, or "" for no error.
func (e *apiError) describe() string {
	if e == nil || e.Code == "" && e.Message == "" {
		return ""
	}
	msg := e.Message
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return ": " + strings.TrimSuffix(e.Code+": "+msg, ": ")
}

// operation looks the operation id up. found is false when ACS does not
// know it (404).
func (c *Client) operation(ctx context.Context, id string) (op operation, found bool, err error) {
	u, err := c.url("emails", "operations", id)
	if err != nil {
		return operation{}, false, err
	}
	resp, data, err := c.do(ctx, http.MethodGet, u, "", nil)
	if err != nil {
		return operation{}, false, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if err := json.Unmarshal(data, &op); err != nil {
			return operation{}, false, fmt.Errorf("decode operation %s: %w", id, err)
		}
		if op.ID == "" {
			op.ID = id
		}
		op.retryAfter = retryAfter(resp.Header, c.now(), 0)
		return op, true, nil
	case http.StatusNotFound:
		return operation{}, false, nil
	default:
		return operation{}, false, fmt.Errorf("get operation %s: %s", id, describe(resp, data))
	}
}

// poll follows an accepted operation for a bounded number of polls and
// returns its id, or a permanent error if ACS reports that it failed. An
// operation still running, or a poll that fails, counts as sent: the 202
// was the acceptance.
func (c *Client) poll(ctx context.Context, op operation) (string, error) {
	for range c.pollAttempts {
		if op.Status == "Succeeded" || op.Status == "Failed" || op.Status == "Canceled" {
			break
		}
		wait := c.pollInterval
		if op.retryAfter > wait {
			wait = min(op.retryAfter, 5*time.Second)
		}
		if sleep(ctx, wait) != nil {
			break
		}
		next, found, err := c.operation(ctx, op.ID)
		if err != nil || !found {
			break
		}
		op = next
	}
	return op.accepted()
}
