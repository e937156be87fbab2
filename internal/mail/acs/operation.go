package acs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/mail"
	"github.com/filedrop/filedrop/internal/order"
)

// operation is an Email send operation: the 202 body and the lookup answer.
type operation struct {
	ID     string    `json:"id"`
	Status string    `json:"status"`
	Error  *apiError `json:"error,omitempty"`
	// retryAfter is the answer's retry-after: how long to wait at least
	// before the next poll.
	retryAfter time.Duration
	// location is the URL the operation is polled at.
	location string
}

// The final statuses of a send operation. NotStarted and Running are not
// final, and the API may add statuses (its enum is modelAsString).
const (
	statusSucceeded = "Succeeded"
	statusFailed    = "Failed"
	statusCanceled  = "Canceled"
)

// outcome returns the receipt of an operation in a final status, or the
// error of one that failed; done is false while the operation is not final.
func (op operation) outcome() (r mail.Receipt, done bool, err error) {
	switch {
	case strings.EqualFold(op.Status, statusSucceeded):
		return mail.Receipt{OperationID: op.ID, Status: mail.Sent}, true, nil
	case strings.EqualFold(op.Status, statusFailed), strings.EqualFold(op.Status, statusCanceled):
		return mail.Receipt{}, true, op.failure()
	}
	return mail.Receipt{}, false, nil
}

// failure is the error of an operation that failed or was canceled,
// classified by its error code: order.Permanent for a code that says no
// send of this mail can succeed, order.Transient for any other.
func (op operation) failure() error {
	err := fmt.Errorf("acs: operation %s %s%s", op.ID, strings.ToLower(op.Status), op.Error.describe())
	if op.Error != nil && permanentCode(op.Error.Code) {
		return order.Permanent(err)
	}
	return order.Transient(err)
}

// permanentCode reports the error codes of a failed operation that name
// the mail's fault: ACS dropped it after its own attempts to deliver, every
// recipient is on the resource's suppression list, or an address is
// invalid. A retry under the same Operation-Id finds the same failed
// operation.
func permanentCode(code string) bool {
	for _, c := range []string{"EmailDropped", "EmailDroppedAllRecipientsSuppressed", "InvalidEmailAddress"} {
		if strings.EqualFold(code, c) {
			return true
		}
	}
	return false
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

// answer decodes the operation of a 202 or 200 answer whose operation id
// is id: its id is the body's if that is a usable id, else id.
func (c *Client) answer(resp *http.Response, data []byte, id string) operation {
	var op operation
	_ = json.Unmarshal(data, &op) // what counts is the status code; the body says how far it got
	if !mail.ValidKey(op.ID) {
		op.ID = id
	}
	op.retryAfter = retryAfter(resp.Header, c.now(), 0)
	return op
}

// operationURL is the URL of the operation with id, as the API documents
// it (GET /emails/operations/{operationId}).
func (c *Client) operationURL(id string) string {
	return c.url("emails", "operations", id)
}

// pollURL returns where to poll the operation with id that a 202 answer
// started: location, the answer's Operation-Location, as given if it is an
// absolute URL on the endpoint (the same scheme and host, so that no signed
// request or token goes anywhere else), with the api-version added if it
// has none; else, or without one, operationURL(id).
func (c *Client) pollURL(location, id string) string {
	u, err := url.Parse(location)
	if location == "" || err != nil || u.Opaque != "" || u.User != nil ||
		!strings.EqualFold(u.Scheme, c.endpoint.Scheme) || !strings.EqualFold(u.Host, c.endpoint.Host) {
		return c.operationURL(id)
	}
	if q := u.Query(); !q.Has("api-version") {
		q.Set("api-version", APIVersion)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return location
}

// lookup GETs op at its location and returns the operation ACS reports.
// found is false when ACS does not know it (404).
func (c *Client) lookup(ctx context.Context, op operation) (next operation, found bool, err error) {
	resp, data, err := c.do(ctx, http.MethodGet, op.location, "", nil)
	if err != nil {
		return operation{}, false, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		next = c.answer(resp, data, op.ID)
		next.location = op.location
		return next, true, nil
	case http.StatusNotFound:
		return operation{}, false, nil
	default:
		return operation{}, false, fmt.Errorf("get operation %s: %s", op.ID, describe(resp, data))
	}
}

// poll follows op, which ACS accepted, until it reaches a final status
// (outcome), waiting before each poll as long as the last answer asked, at
// least PollInterval. It reports the mail accepted, without an error, when
// the next poll would come after PollTime or the context's deadline, when
// the context ends, or when a poll fails: ACS took the mail, and how it
// fares is for a later look (the delivery report) to tell.
func (c *Client) poll(ctx context.Context, op operation) (mail.Receipt, error) {
	polls := 0
	deadline := c.now().Add(c.pollTime)
	if c.pollTime > 0 {
		// Each poll waits at least pollInterval: pollTime bounds the polls
		// whatever the clock does.
		polls = int(c.pollTime/c.pollInterval) + 1
	}
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	for range polls {
		if _, done, _ := op.outcome(); done {
			break
		}
		wait := max(op.retryAfter, c.pollInterval)
		if c.now().Add(wait).After(deadline) || c.sleep(ctx, wait) != nil {
			break
		}
		next, found, err := c.lookup(ctx, op)
		if err != nil || !found {
			break
		}
		op = next
	}
	if r, done, err := op.outcome(); done {
		return r, err
	}
	return mail.Receipt{OperationID: op.ID, Status: mail.Accepted}, nil
}
