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
package acs

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
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
	// PollAttempts bounds how often Send polls the operation after 202 to
	// see it succeed or fail; default 3; negative: not at all. An operation
	// still running after that counts as sent.
	PollAttempts int
	// PollInterval is the pause before each poll, unless the answer asked
	// for a longer one (up to 5s); default 1s.
	PollInterval time.Duration
	// Now is the clock of the x-ms-date header and of Retry-After dates;
	// default time.Now.
	Now func() time.Time
}

// Client sends mail through one Communication Services resource. It is safe
// for concurrent use.
type Client struct {
	endpoint     string
	pipeline     runtime.Pipeline
	timeout      time.Duration
	maxAttempts  int
	retryDelay   time.Duration
	pollAttempts int
	pollInterval time.Duration
	now          func() time.Time
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
	switch {
	case o.PollAttempts == 0:
		o.PollAttempts = 3
	case o.PollAttempts < 0:
		o.PollAttempts = 0
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func newClient(endpoint string, auth policy.Policy, o Options, setting string) (*Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("acs: endpoint %q is not an https URL", endpoint)
	}
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
		endpoint:     strings.TrimSuffix(u.String(), "/"),
		pipeline:     runtime.NewPipeline("filedrop/acs", "v1", runtime.PipelineOptions{PerRetry: []policy.Policy{auth}}, copts),
		timeout:      o.Timeout,
		maxAttempts:  o.MaxAttempts,
		retryDelay:   o.RetryDelay,
		pollAttempts: o.PollAttempts,
		pollInterval: o.PollInterval,
		now:          o.Now,
		setting:      setting,
	}, nil
}

// AttemptTime is the longest one attempt of Send may take: the send request
// and the lookup that follows an uncertain outcome, Options.Timeout each. A
// caller that bounds Send by less cuts every slow attempt short, before it
// can learn whether ACS accepted the mail.
func (c *Client) AttemptTime() time.Duration { return 2 * c.timeout }

// errUncertain marks a send whose outcome is unknown: a timeout, a network
// fault or a 5xx answer. ACS may have accepted it.
var errUncertain = errors.New("outcome unknown")

// Send sends m with m.Key as the Operation-Id and returns the operation id.
// A send that ACS accepted (202, or 409 for an Operation-Id it has seen) is
// a success; so is one whose outcome was uncertain when the lookup that
// follows finds the operation. The returned error is order.Throttled for
// 429, order.Permanent for other 4xx answers and for an operation that
// failed, and order.Transient for an outcome still unknown after the last
// attempt (a timeout, a network fault, 5xx: ACS is down), which is retried
// with back-off under the same Operation-Id.
func (c *Client) Send(ctx context.Context, m mail.Message) (string, error) {
	id, err := c.sendAttempts(ctx, m)
	if errors.Is(err, errUncertain) && order.Classify(err) == order.ClassRetryable {
		err = order.Transient(err)
	}
	return id, err
}

// sendAttempts is Send without the transient mark.
func (c *Client) sendAttempts(ctx context.Context, m mail.Message) (string, error) {
	if err := m.Validate(); err != nil {
		return "", order.Permanent(fmt.Errorf("acs: %w", err))
	}
	body, err := encodeRequest(m)
	if err != nil {
		return "", order.Permanent(fmt.Errorf("acs: encode request: %w", err))
	}
	var sendErr error
	for attempt := 1; attempt <= c.maxAttempts; attempt++ {
		if attempt > 1 {
			if err := sleep(ctx, c.retryDelay); err != nil {
				return "", fmt.Errorf("acs: send %s: %w (after %w)", m.Key, err, sendErr)
			}
		}
		var op operation
		op, sendErr = c.send(ctx, m.Key, body)
		if sendErr == nil {
			return c.poll(ctx, op)
		}
		if !errors.Is(sendErr, errUncertain) || ctx.Err() != nil {
			return "", sendErr
		}
		// Before anything is sent again: did ACS accept the send anyway?
		op, found, err := c.operation(ctx, m.Key)
		switch {
		case err != nil:
			// Unknown either way; the redelivery sends again with the
			// same Operation-Id.
			return "", fmt.Errorf("%w; look up the operation: %w", sendErr, err)
		case found:
			return op.accepted()
		}
	}
	return "", sendErr
}

// send posts one send request.
func (c *Client) send(ctx context.Context, key string, body []byte) (operation, error) {
	u, err := c.url("emails:send")
	if err != nil {
		return operation{}, order.Permanent(err)
	}
	resp, data, err := c.do(ctx, http.MethodPost, u, key, body)
	if err != nil {
		return operation{}, fmt.Errorf("acs: send %s: %w: %w", key, errUncertain, err)
	}
	switch code := resp.StatusCode; {
	case code == http.StatusConflict:
		return operation{ID: key, Status: "Running"}, nil
	case code >= 200 && code < 300:
		var op operation
		_ = json.Unmarshal(data, &op) // the 202 is what counts; the body is a courtesy
		if op.ID == "" {
			op.ID = key
		}
		op.retryAfter = retryAfter(resp.Header, c.now(), 0)
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
func (c *Client) url(elem ...string) (string, error) {
	u, err := url.JoinPath(c.endpoint, elem...)
	if err != nil {
		return "", fmt.Errorf("acs: url: %w", err)
	}
	return u + "?api-version=" + APIVersion, nil
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
