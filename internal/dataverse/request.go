package dataverse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"

	"github.com/filedrop/filedrop/internal/httpfault"
	"github.com/filedrop/filedrop/internal/order"
)

// answer is a response with its body read.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// apiError is the error object of an answer: {"error":{"code","message"}}.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (a answer) error() apiError {
	var body struct {
		Error apiError `json:"error"`
	}
	_ = json.Unmarshal(a.body, &body)
	return body.Error
}

// The error codes the client tells apart.
const (
	// codeNotFoundSegment is OData's code for a URL it cannot resolve: 404
	// for an entity set that does not exist (web-api-client-errors), 400
	// for a key that is not an alternate key (OData/odata.net#2545).
	codeNotFoundSegment = "0x8006088a"
)

// request is one Web API request: a path under APIPath (already encoded),
// extra headers, and a body to encode as JSON (nil for none).
type request struct {
	method string
	path   string
	header map[string]string
	body   any
}

// do sends r and reads the answer. A 401 is sent once more: the bearer
// policy dropped the token it had, so the second try has a fresh one. The
// error is a token or network failure, classified; an answer of any status
// is returned as such.
func (c *Client) do(ctx context.Context, r request) (answer, error) {
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return answer{}, order.Permanent(fmt.Errorf("encode %s %s: %w", r.method, r.path, err))
		}
	}
	var a answer
	for try := 0; try < 2; try++ {
		var err error
		if a, err = c.send(ctx, r, body); err != nil {
			return answer{}, c.failed(ctx, r, err)
		}
		if a.status != http.StatusUnauthorized {
			break
		}
	}
	return a, nil
}

func (c *Client) send(ctx context.Context, r request, body []byte) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := runtime.NewRequest(ctx, r.method, c.api+r.path)
	if err != nil {
		return answer{}, err
	}
	h := req.Raw().Header
	h.Set("Accept", "application/json")
	h.Set("OData-MaxVersion", "4.0")
	h.Set("OData-Version", "4.0")
	for k, v := range r.header {
		h.Set(k, v)
	}
	if body != nil {
		if err := req.SetBody(streaming.NopCloser(bytes.NewReader(body)), "application/json"); err != nil {
			return answer{}, err
		}
	}
	resp, err := c.pipeline.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return answer{}, fmt.Errorf("read the answer: %w", err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// failed classifies a request that got no answer: a token that cannot be
// had, a timeout, a network fault, or the caller giving up.
func (c *Client) failed(ctx context.Context, r request, err error) error {
	err = fmt.Errorf("%s %s: %w", r.method, r.what(), httpfault.WithoutURL(err))
	var te *tokenError
	switch {
	case ctx.Err() != nil:
		return err // the caller gave up, not the service
	case errors.As(err, &te):
		var final interface{ NonRetriable() }
		if errors.As(te.err, &final) {
			// azidentity marks the failures a retry cannot fix: no managed
			// identity here, or one that does not exist (a wrong client id).
			return order.Misconfigured(fmt.Errorf("%w: check %s (the client id of the app's user-assigned identity; unset for the system-assigned one)", err, ClientIDSetting), ClientIDSetting)
		}
		return order.Transient(err)
	}
	return order.Transient(err)
}

// fail classifies an answer no step expected. setting is what a missing
// entity set or column names: DATAVERSE_ORDER_TABLE for the order table,
// DATAVERSE_URL for contacts.
func (c *Client) fail(r request, a answer, setting string) error {
	e := a.error()
	err := fmt.Errorf("%s %s: %s", r.method, r.what(), describe(a.status, e))
	switch {
	case a.status == http.StatusUnauthorized:
		return order.Misconfigured(fmt.Errorf("%w: the environment at %s refused the app's identity; add it as an application user (Power Platform admin center > Environments > Settings > Application users)", err, URLSetting), URLSetting)
	case a.status == http.StatusForbidden:
		return order.Misconfigured(fmt.Errorf("%w: the app's application user lacks a privilege; give its security role create, read and write on Contact and the order table", err), URLSetting)
	case a.status == http.StatusTooManyRequests:
		return order.Throttled(err, httpfault.RetryAfter(a.header, c.now(), DefaultRetryAfter))
	case a.status == http.StatusRequestTimeout || a.status >= 500:
		return order.Transient(err)
	case a.status == http.StatusNotFound && e.Code == codeNotFoundSegment:
		return order.Misconfigured(fmt.Errorf("%w: the entity set does not exist; %s names the table's entity set name (its plural, e.g. cr123_orders)", err, setting), setting)
	case a.status == http.StatusBadRequest && setting == TableSetting:
		// Everything written to the order table is validated here, so a
		// 400 is the table's: a column missing, of another type, or no key.
		return order.Misconfigured(fmt.Errorf("%w: create the order table's columns and its alternate key as docs/dataverse.md says", err), setting)
	}
	return order.Permanent(err)
}

// what names the request's target for an error: its entity set, and no
// key, which can be an email address.
func (r request) what() string {
	set, _, _ := strings.Cut(r.path, "?")
	set, _, _ = strings.Cut(set, "(")
	return set
}

// emailish matches what looks like an email address in a message the
// service echoes.
var emailish = regexp.MustCompile(`[^\s'"(),;:<>]+@[^\s'"(),;:<>]+`)

// describe summarises an error answer: the status, and the code and message
// of its error, shortened, with addresses masked.
func describe(status int, e apiError) string {
	s := fmt.Sprintf("%d %s", status, http.StatusText(status))
	msg := emailish.ReplaceAllString(e.Message, "<address>")
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	if e.Code != "" {
		s += ": " + e.Code
	}
	if msg != "" {
		s += ": " + msg
	}
	return s
}

// literal returns s as an OData string literal for a URL (filter-rows): in
// single quotes, each quote doubled, every byte but the unreserved
// characters percent-encoded ("+" and "@" included, with %20 for a space).
func literal(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			b.WriteString("''")
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '~':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}
