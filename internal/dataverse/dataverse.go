// Package dataverse writes order events into Microsoft Dataverse (Dynamics
// 365, Power Apps) through its Web API (v9.2), authenticated with a
// Microsoft Entra token for "<environment URL>/.default" (the app's managed
// identity).
//
// For each event it upserts the customer as a contact, found by email, and,
// when an order table is configured, one row per order found by its
// session id (see docs/dataverse.md for the requests and the columns a
// seller creates):
//
//   - With an alternate key on contact.emailaddress1 the contact is one
//     PATCH by that key. Without one (the service says the key is not
//     valid), and for the addresses a key cannot address (with / < > * % &
//     : \ ? +), the client finds the contact by $filter and updates it with
//     If-Match: *, or creates it with If-None-Match: * under an id derived
//     from the address, so that two deliveries of one customer's events
//     create one contact, never two (a 412 means the other won: look again).
//     It cannot stop someone else (a user, another integration) creating a
//     contact with the same address at the same moment: only the key can.
//   - The order row is read by its key and written with If-Match: <its
//     ETag>, or created with If-None-Match: *; a row that already holds a
//     later event is left alone, so events delivered out of order never
//     take a row back.
//
// Every step is idempotent, so a redelivered event is harmless. Failures
// are the domain's: 401 and 403 are order.Misconfigured naming
// DATAVERSE_URL (the identity is no application user, or lacks a
// privilege), a token that cannot be had DATAVERSE_CLIENT_ID, and a table
// or column that does not exist DATAVERSE_ORDER_TABLE; 429 is
// order.Throttled with the answer's Retry-After; 408, 5xx, timeouts and
// network faults are order.Transient; other answers order.Permanent. Errors
// never quote an email address or an answer's body whole.
package dataverse

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/filedrop/filedrop/internal/order"
)

// The settings a Client's failures name (order.Misconfigured).
const (
	URLSetting      = "DATAVERSE_URL"
	ClientIDSetting = "DATAVERSE_CLIENT_ID"
	TableSetting    = "DATAVERSE_ORDER_TABLE"
)

// APIPath is the path of the Web API under the environment URL.
const APIPath = "/api/data/v9.2/"

// DefaultTimeout bounds one request.
const DefaultTimeout = 15 * time.Second

// DefaultRetryAfter is the pause after a 429 without a usable Retry-After.
const DefaultRetryAfter = time.Minute

// keyRecheck is how long the client keeps to the find-then-write path after
// the service said contact.emailaddress1 has no alternate key, before it
// tries the key again (the seller may define it meanwhile).
const keyRecheck = time.Hour

// EnvironmentURL returns the environment URL of raw: https://<org>.crm...
// with no path, given either that or the Web API endpoint Power Apps shows
// (.../api/data/v9.2).
func EnvironmentURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return "", errors.New("not an absolute URL such as https://<org>.crm.dynamics.com")
	case u.Scheme != "https":
		return "", errors.New("not an https URL (a token is never sent over plain http)")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(raw, "?#"):
		return "", errors.New("a URL with user info, a query or a fragment")
	}
	switch strings.TrimSuffix(u.Path, "/") {
	case "", strings.TrimSuffix(APIPath, "/"):
	default:
		return "", fmt.Errorf("a URL with the path %q (give the environment URL, https://<org>.crm.dynamics.com)", u.Path)
	}
	return "https://" + u.Host, nil
}

// Scope is the token scope of an environment URL: "<url>/.default".
func Scope(environmentURL string) string { return environmentURL + "/.default" }

// Options tune a Client. The zero value is the production setting, with no
// order table.
type Options struct {
	// HTTPClient sends the requests; nil means azcore's default client.
	HTTPClient *http.Client
	// Timeout bounds each request; default DefaultTimeout.
	Timeout time.Duration
	// OrderTable is DATAVERSE_ORDER_TABLE: the entity set name of the order
	// table ("cr123_orders"), whose columns share its prefix
	// (OrderColumns); empty for none.
	OrderTable string
	// Now is the clock of Retry-After dates and of the key recheck;
	// default time.Now.
	Now func() time.Time
}

// Client writes order events into one Dataverse environment. It is safe for
// concurrent use.
type Client struct {
	api      string // https://<org>.../api/data/v9.2/
	pipeline runtime.Pipeline
	timeout  time.Duration
	now      func() time.Time
	table    string
	cols     Columns

	mu        sync.Mutex
	noKeyTill time.Time // before it, contacts are not addressed by the email key
}

// New returns a Client for the environment at envURL (see EnvironmentURL)
// that authenticates with tokens of cred for Scope(envURL), such as those of
// an azidentity.ManagedIdentityCredential.
func New(envURL string, cred azcore.TokenCredential, opts *Options) (*Client, error) {
	env, err := EnvironmentURL(envURL)
	if err != nil {
		return nil, fmt.Errorf("dataverse: %s: %w", URLSetting, err)
	}
	if cred == nil {
		return nil, errors.New("dataverse: no token credential")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Client{api: env + APIPath, timeout: o.Timeout, now: o.Now, table: o.OrderTable}
	if o.OrderTable != "" {
		if c.cols, err = OrderColumns(o.OrderTable); err != nil {
			return nil, fmt.Errorf("dataverse: %s: %w", TableSetting, err)
		}
	}
	copts := &policy.ClientOptions{
		// Failures are retried by the queue with the project's back-off;
		// an upsert must look again before it writes again.
		Retry:     policy.RetryOptions{MaxRetries: -1},
		Telemetry: policy.TelemetryOptions{Disabled: true},
	}
	if o.HTTPClient != nil {
		copts.Transport = o.HTTPClient
	}
	auth := runtime.NewBearerTokenPolicy(credential{cred}, []string{Scope(env)}, nil)
	c.pipeline = runtime.NewPipeline("filedrop/dataverse", "v1", runtime.PipelineOptions{PerRetry: []policy.Policy{auth}}, copts)
	return c, nil
}

// Result says what Upsert did.
type Result struct {
	// ContactID is the contact's id; empty when the event has no email, the
	// address does not fit the contact's column, or the key upsert did not
	// say.
	ContactID string
	// ContactCreated reports a new contact.
	ContactCreated bool
	// DuplicateContacts reports that more than one contact had the address
	// (made before, by others): the oldest was updated.
	DuplicateContacts bool
	// ContactSkipped says why no contact was written, "" when one was or
	// the event has no email.
	ContactSkipped string
	// OrderWritten reports that the order row was written; false with no
	// order table, or when the row already held a later event.
	OrderWritten bool
}

// Deliver writes e (Upsert) and returns only the error, as every sink does.
func (c *Client) Deliver(ctx context.Context, e order.Event) error {
	_, err := c.Upsert(ctx, e)
	return err
}

// Upsert writes e: the customer's contact, then the order's row.
func (c *Client) Upsert(ctx context.Context, e order.Event) (Result, error) {
	if err := e.Validate(); err != nil {
		return Result{}, order.Permanentf("dataverse: invalid order event: %w", err)
	}
	res, err := c.upsertContact(ctx, e.Customer)
	if err != nil {
		return res, fmt.Errorf("dataverse: contact of %s: %w", e.Order.SessionID, err)
	}
	if c.table == "" {
		return res, nil
	}
	res.OrderWritten, err = c.upsertOrder(ctx, e)
	if err != nil {
		return res, fmt.Errorf("dataverse: order %s: %w", e.Order.SessionID, err)
	}
	return res, nil
}

// useKey reports whether contacts are addressed by the email key now.
func (c *Client) useKey() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.now().Before(c.noKeyTill)
}

// keyMissing records that the service has no email key, for keyRecheck.
func (c *Client) keyMissing() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.noKeyTill = c.now().Add(keyRecheck)
}

// credential marks the errors of the token credential, so that a token that
// cannot be had is told from a request that failed.
type credential struct{ azcore.TokenCredential }

func (c credential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := c.TokenCredential.GetToken(ctx, opts)
	if err != nil {
		return tok, &tokenError{err}
	}
	return tok, nil
}

type tokenError struct{ err error }

func (e *tokenError) Error() string { return "get a token: " + e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }
