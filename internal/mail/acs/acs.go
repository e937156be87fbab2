// Package acs sends mail.Message values through the Azure Communication
// Services Email REST API (api-version 2025-09-01), authenticated with the
// resource's access key (HMAC-SHA256) or a Microsoft Entra ID token.
//
// Every send carries the message's Key as its Operation-Id, the same on every
// redelivery. After a timeout, a network fault or a 5xx answer, the client
// first looks the operation up and does not send again if ACS has it. The
// answers are translated into the domain's errors: 429 is order.Throttled
// with the server's Retry-After, 401 and 403 are order.Misconfigured naming
// the credential's setting, any other 4xx is order.Permanent with the ACS
// error code, and 5xx and network faults are left retryable.
//
// A send ACS accepted is followed to its final status: the client polls the
// Operation-Location of the 202 answer (only if it is on the configured
// endpoint) as often as its retry-after asks. Succeeded is mail.Sent; Failed
// and Canceled are errors, permanent or transient by the ACS error code; an
// operation still NotStarted or Running when the time for polling is up is
// mail.Accepted, for the caller to record and learn the rest from the
// delivery report.
package acs

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"

	"github.com/filedrop/filedrop/internal/mail"
	"github.com/filedrop/filedrop/internal/order"
)

// APIVersion is the version of the Email REST API the client speaks.
const APIVersion = "2025-09-01"

// Scope is the Microsoft Entra ID scope of Communication Services tokens
// (with the double slash every official SDK writes).
const Scope = "https://communication.azure.com//.default"

// The settings that hold a Client's credential, named by the
// order.Misconfigured error of a 401 or 403 answer: the access key of a
// connection string (NewWithKey), or the endpoint whose managed identity
// lacks access (NewWithCredential).
const (
	KeySetting        = "ACS_CONNECTION_STRING"
	CredentialSetting = "ACS_ENDPOINT"
)

// DefaultRetryAfter is the pause asked for by a 429 answer without a usable
// Retry-After header.
const DefaultRetryAfter = time.Minute

// Options tune a Client. The zero value is the production setting.
type Options struct {
	// HTTPClient sends the requests; nil means azcore's default client.
	HTTPClient *http.Client
	// Timeout bounds each request; default 20s.
	Timeout time.Duration
	// MaxAttempts bounds the sends of one Send call: a send that timed out
	// or failed with 5xx, and that the lookup did not find, is repeated up
	// to this many attempts in all; default 3.
	MaxAttempts int
	// RetryDelay is the pause before a repeated send; default 1s.
	RetryDelay time.Duration
	// PollTime bounds how long Send follows an accepted send operation to
	// its final status, within the context's deadline; default 1 minute.
	// Negative: Send does not poll, and reports the mail accepted.
	PollTime time.Duration
	// PollInterval is the least pause before a poll, and the pause when the
	// answer asks for none; default 1s.
	PollInterval time.Duration
	// Now is the clock of the x-ms-date header, of Retry-After dates and of
	// the polling deadline; default time.Now.
	Now func() time.Time
	// Sleep pauses for d, or until ctx is done and then returns its error;
	// default a timer. A test gives its fake clock's, with Now.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client sends mail through one Communication Services resource. It is safe
// for concurrent use.
type Client struct {
	endpoint     *url.URL
	pipeline     runtime.Pipeline
	timeout      time.Duration
	maxAttempts  int
	retryDelay   time.Duration
	pollTime     time.Duration
	pollInterval time.Duration
	now          func() time.Time
	sleep        func(ctx context.Context, d time.Duration) error
	// setting names the credential in order.Misconfigured errors.
	setting string
}

// NewWithKey returns a Client for endpoint (https://<resource>.communication.azure.com)
// that signs its requests with accessKey, the base64 key of the resource's
// connection string.
func NewWithKey(endpoint, accessKey string, opts *Options) (*Client, error) {
	key, err := base64.StdEncoding.DecodeString(accessKey)
	if err != nil || len(key) == 0 {
		return nil, errors.New("acs: the access key is not base64")
	}
	o := withDefaults(opts)
	return newClient(endpoint, &hmacPolicy{key: key, now: o.Now}, o, KeySetting)
}

// NewWithCredential returns a Client for endpoint that authenticates with
// Microsoft Entra ID tokens of cred for Scope, such as those of an
// azidentity.ManagedIdentityCredential. The endpoint must be https.
func NewWithCredential(endpoint string, cred azcore.TokenCredential, opts *Options) (*Client, error) {
	if cred == nil {
		return nil, errors.New("acs: no token credential")
	}
	return newClient(endpoint, runtime.NewBearerTokenPolicy(cred, []string{Scope}, nil), withDefaults(opts), CredentialSetting)
}

func withDefaults(opts *Options) Options {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Timeout <= 0 {
		o.Timeout = 20 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = time.Second
	}
	if o.PollTime == 0 {
		o.PollTime = time.Minute
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	return o
}

func newClient(endpoint string, auth policy.Policy, o Options, setting string) (*Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("acs: endpoint %q is not an https URL", endpoint)
	}
	u.Path, u.RawPath = strings.TrimSuffix(u.Path, "/"), ""
	copts := &policy.ClientOptions{
		// Send retries itself: it must look an operation up before it
		// repeats a send.
		Retry:     policy.RetryOptions{MaxRetries: -1},
		Telemetry: policy.TelemetryOptions{Disabled: true},
	}
	if o.HTTPClient != nil {
		copts.Transport = o.HTTPClient
	}
	return &Client{
		endpoint:     u,
		pipeline:     runtime.NewPipeline("filedrop/acs", "v1", runtime.PipelineOptions{PerRetry: []policy.Policy{auth}}, copts),
		timeout:      o.Timeout,
		maxAttempts:  o.MaxAttempts,
		retryDelay:   o.RetryDelay,
		pollTime:     o.PollTime,
		pollInterval: o.PollInterval,
		now:          o.Now,
		sleep:        o.Sleep,
		setting:      setting,
	}, nil
}

// AttemptTime is the longest one attempt of Send may take: the send request
// and the lookup that follows an uncertain outcome, Options.Timeout each. A
// caller that bounds Send by less cuts every slow attempt short, before it
// can learn whether ACS accepted the mail. Following an accepted operation
// is not part of it: that stops at the context's deadline.
func (c *Client) AttemptTime() time.Duration { return 2 * c.timeout }

// errUncertain marks a send whose outcome is unknown: a timeout, a network
// fault or a 5xx answer. ACS may have accepted it.
var errUncertain = errors.New("outcome unknown")

// errExists marks a send answered 409: ACS has an operation with its
// Operation-Id, a send of the same mail before.
var errExists = errors.New("operation exists")

// Send sends m with m.Key as the Operation-Id and follows the operation ACS
// accepted (202, or 409 for an Operation-Id it has seen) to its final
// status: the receipt is mail.Sent once it Succeeded, mail.Accepted while it
// has not finished when the time for polling (Options.PollTime, the context's
// deadline) is up or a poll fails. A send whose outcome was uncertain is
// looked up before it is sent again, and followed the same way if ACS has it.
//
// The returned error is order.Throttled for 429, order.Misconfigured for 401
// and 403, order.Permanent for other 4xx answers and for an operation that
// failed with a code no retry can change (a suppressed or invalid
// recipient), and order.Transient for an operation that failed otherwise and
// for an outcome still unknown after the last attempt (a timeout, a network
// fault, 5xx: ACS is down), which is retried with back-off under the same
// Operation-Id.
func (c *Client) Send(ctx context.Context, m mail.Message) (mail.Receipt, error) {
	r, err := c.sendAttempts(ctx, m)
	if errors.Is(err, errUncertain) && order.Classify(err) == order.ClassRetryable {
		err = order.Transient(err)
	}
	return r, err
}

// sendAttempts is Send without the transient mark.
func (c *Client) sendAttempts(ctx context.Context, m mail.Message) (mail.Receipt, error) {
	if err := m.Validate(); err != nil {
		return mail.Receipt{}, order.Permanent(fmt.Errorf("acs: %w", err))
	}
	body, err := encodeRequest(m)
	if err != nil {
		return mail.Receipt{}, order.Permanent(fmt.Errorf("acs: encode request: %w", err))
	}
	var sendErr error
	for attempt := 1; attempt <= c.maxAttempts; attempt++ {
		if attempt > 1 {
			if err := c.sleep(ctx, c.retryDelay); err != nil {
				return mail.Receipt{}, fmt.Errorf("acs: send %s: %w (after %w)", m.Key, err, sendErr)
			}
		}
		var op operation
		op, sendErr = c.send(ctx, m.Key, body)
		exists := errors.Is(sendErr, errExists)
		switch {
		case sendErr == nil:
			return c.poll(ctx, op)
		case !exists && (!errors.Is(sendErr, errUncertain) || ctx.Err() != nil):
			return mail.Receipt{}, sendErr
		}
		// Before anything is sent again: does ACS have the operation?
		op, found, err := c.lookup(ctx, operation{ID: m.Key, location: c.operationURL(m.Key)})
		switch {
		case found:
			return c.poll(ctx, op)
		case exists:
			// The 409 said ACS has it; the lookup could not say how it fares.
			return mail.Receipt{OperationID: m.Key, Status: mail.Accepted}, nil
		case err != nil:
			// Unknown either way; the redelivery sends again with the
			// same Operation-Id.
			return mail.Receipt{}, fmt.Errorf("%w; look up the operation: %w", sendErr, err)
		}
	}
	return mail.Receipt{}, sendErr
}

// send posts one send request and returns the operation ACS accepted.
func (c *Client) send(ctx context.Context, key string, body []byte) (operation, error) {
	resp, data, err := c.do(ctx, http.MethodPost, c.url("emails:send"), key, body)
	if err != nil {
		return operation{}, fmt.Errorf("acs: send %s: %w: %w", key, errUncertain, err)
	}
	switch code := resp.StatusCode; {
	case code == http.StatusConflict:
		return operation{}, fmt.Errorf("acs: send %s: %w", key, errExists)
	case code >= 200 && code < 300:
		op := c.answer(resp, data, key)
		op.location = c.pollURL(resp.Header.Get("Operation-Location"), op.ID)
		return op, nil
	case code == http.StatusTooManyRequests:
		err := fmt.Errorf("acs: send %s: %s", key, describe(resp, data))
		return operation{}, order.Throttled(err, retryAfter(resp.Header, c.now(), DefaultRetryAfter))
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		// The resource refused the credential: every mail would fail alike
		// until the setting is fixed, and then every one would succeed.
		return operation{}, order.Misconfigured(fmt.Errorf("acs: send %s: %s refused: %s", key, c.setting, describe(resp, data)), c.setting)
	case code >= 400 && code < 500:
		return operation{}, order.Permanent(fmt.Errorf("acs: send %s: %s", key, describe(resp, data)))
	default:
		return operation{}, fmt.Errorf("acs: send %s: %w: %s", key, errUncertain, describe(resp, data))
	}
}

// do sends one request within the per-request timeout and returns the
// answer with its body read.
func (c *Client) do(ctx context.Context, method, u, operationID string, body []byte) (*http.Response, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := runtime.NewRequest(ctx, method, u)
	if err != nil {
		return nil, nil, err
	}
	if operationID != "" {
		req.Raw().Header.Set("Operation-Id", operationID)
	}
	if body != nil {
		if err := req.SetBody(streaming.NopCloser(bytes.NewReader(body)), "application/json"); err != nil {
			return nil, nil, err
		}
	}
	resp, err := c.pipeline.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("read answer: %w", err)
	}
	return resp, data, nil
}

// url returns the endpoint's URL of the path elements, with the api-version.
func (c *Client) url(elem ...string) string {
	u := c.endpoint.JoinPath(elem...)
	u.RawQuery = url.Values{"api-version": {APIVersion}}.Encode()
	return u.String()
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
