package dataverse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/order"
)

// Columns are the logical names of the order table's columns: the table's
// publisher prefix followed by a fixed name (docs/dataverse.md says which
// type each has).
type Columns struct {
	// SessionID holds the Checkout Session id; the table's alternate key.
	SessionID string
	// State is the order's state, LastEvent the type of the latest event
	// written, and EventTime that event's time (RFC 3339 with nanoseconds),
	// by which an earlier event is not written over a later one.
	State, LastEvent, EventTime string
	// Amount is the amount paid and Refunded the amount refunded so far,
	// in the currency's minor unit; Currency the lowercase ISO 4217 code.
	Amount, Currency, Refunded string
	// Email is the customer's address, PaidAt when the payment succeeded.
	Email, PaidAt string
}

// entitySet is the shape of a custom table's entity set name: a publisher
// prefix of 2 to 8 letters and digits, an underscore, then the name.
var entitySet = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{1,7}_[A-Za-z0-9_]{1,100}$`)

// OrderColumns returns the columns of the order table whose entity set
// name is set ("cr123_orders"): its prefix ("cr123_") and a fixed name each.
func OrderColumns(set string) (Columns, error) {
	if !entitySet.MatchString(set) {
		return Columns{}, fmt.Errorf("%q is not the entity set name of a custom table (a prefix of 2 to 8 letters and digits, _, a name: cr123_orders)", set)
	}
	prefix, _, _ := strings.Cut(set, "_")
	p := strings.ToLower(prefix) + "_"
	return Columns{
		SessionID: p + "sessionid", State: p + "state", LastEvent: p + "lastevent", EventTime: p + "eventtime",
		Amount: p + "amount", Currency: p + "currency", Refunded: p + "refunded", Email: p + "email", PaidAt: p + "paidat",
	}, nil
}

// orderRounds bounds the read-then-write rounds of one order row.
const orderRounds = 3

// upsertOrder writes the order's row, unless it holds a later event. It
// reports whether it wrote.
func (c *Client) upsertOrder(ctx context.Context, e order.Event) (bool, error) {
	key := c.table + "(" + c.cols.SessionID + "=" + literal(e.Order.SessionID) + ")"
	for range orderRounds {
		etag, stored, err := c.readOrder(ctx, key)
		if err != nil {
			return false, err
		}
		if etag != "" && stored.After(e.Time) {
			return false, nil // a later event is there already
		}
		r := request{method: http.MethodPatch, path: key, body: c.orderRow(e), header: map[string]string{"If-None-Match": "*"}}
		if etag != "" {
			r.header = map[string]string{"If-Match": etag}
		}
		a, err := c.do(ctx, r)
		switch {
		case err != nil:
			return false, err
		case a.status == http.StatusNoContent || a.status == http.StatusOK || a.status == http.StatusCreated:
			return true, nil
		case a.status == http.StatusPreconditionFailed,
			a.status == http.StatusNotFound && a.error().Code != codeNotFoundSegment:
			continue // written or deleted since it was read: read again
		}
		return false, c.fail(r, a, TableSetting)
	}
	return false, order.Transient(fmt.Errorf("the row changed under every one of %d attempts to write it", orderRounds))
}

// readOrder reads the row's ETag and the time of the event it holds; an
// empty ETag when there is no row. A key that the service calls not valid
// is tried once more (OData/odata.net#2545) before it names the setting.
func (c *Client) readOrder(ctx context.Context, key string) (etag string, stored time.Time, err error) {
	r := request{method: http.MethodGet, path: key + "?$select=" + c.cols.EventTime}
	for try := 0; ; try++ {
		a, err := c.do(ctx, r)
		if err != nil {
			return "", time.Time{}, err
		}
		code := a.error().Code
		switch {
		case a.status == http.StatusOK:
			var row map[string]any
			if err := json.Unmarshal(a.body, &row); err != nil {
				return "", time.Time{}, order.Transient(fmt.Errorf("%s %s: decode the answer: %w", r.method, r.what(), err))
			}
			etag, _ := row["@odata.etag"].(string)
			if etag == "" {
				return "", time.Time{}, order.Transient(errors.New("the row has no @odata.etag"))
			}
			// A time that does not parse (edited by hand) counts as earlier.
			v, _ := row[c.cols.EventTime].(string)
			stored, _ = time.Parse(time.RFC3339Nano, v)
			return etag, stored, nil
		case a.status == http.StatusNotFound && code != codeNotFoundSegment:
			return "", time.Time{}, nil
		case a.status == http.StatusBadRequest && code == codeNotFoundSegment && try == 0:
			continue
		case a.status == http.StatusBadRequest && code == codeNotFoundSegment:
			err := fmt.Errorf("%s %s: %s: define an alternate key on %s and wait until it is Active", r.method, r.what(), describe(a.status, a.error()), c.cols.SessionID)
			return "", time.Time{}, order.Misconfigured(err, TableSetting)
		}
		return "", time.Time{}, c.fail(r, a, TableSetting)
	}
}

// orderRow is the body that writes e into the order's row. Columns the
// event does not know (no amount, no refund, no email, not paid) are left
// as they are.
func (c *Client) orderRow(e order.Event) map[string]any {
	row := map[string]any{
		c.cols.State:     string(e.Order.State),
		c.cols.LastEvent: string(e.Type),
		c.cols.EventTime: e.Time.UTC().Format(time.RFC3339Nano),
	}
	if e.Order.Currency != "" {
		row[c.cols.Amount] = e.Order.AmountTotal
		row[c.cols.Currency] = e.Order.Currency
	}
	if e.Refund != nil {
		row[c.cols.Refunded] = e.Refund.AmountRefunded
	}
	if e.Customer.Email != "" {
		row[c.cols.Email] = e.Customer.Email
	}
	if !e.Order.PaidAt.IsZero() {
		row[c.cols.PaidAt] = e.Order.PaidAt.UTC().Format(time.RFC3339)
	}
	return row
}
