// Package ledger is filedrop's order ledger on Azure Table storage: one
// record per Checkout Session, in a table of the account behind
// AzureWebJobsStorage, written only conditionally. It implements
// order.Records.
//
// The first claim on a session is an insert that fails when the record
// exists; every later step replaces the record only if its ETag is the one
// that was read. Two workers racing on a session therefore never both win:
// the loser gets an error wrapping order.ErrConflict, re-reads the record
// and sees what the winner did. Storage errors are translated into the
// domain's: order.ErrNotFound, order.ErrConflict, order.Permanent for a
// request the service will never accept; anything else stays retryable.
package ledger

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/storage"
)

// Ledger is the table of order records. It is safe for concurrent use.
type Ledger struct {
	table string
	c     *aztables.Client
	// key is the email index's hash key, read once (see hashKey).
	key struct {
		mu sync.Mutex
		b  []byte
	}
}

var _ order.Records = (*Ledger)(nil)

// New returns the ledger kept in the named table of the account, signing
// requests with the account key, or with acct.Credential when it is set. It
// does not create the table (see CreateTable) or make any request.
func New(acct storage.Account, table string) (*Ledger, error) {
	if table == "" || acct.TableURL == "" {
		return nil, errors.New("ledger: a table name and the account's table endpoint are required")
	}
	opts := &aztables.ClientOptions{ClientOptions: acct.ClientOptions()}
	var (
		svc *aztables.ServiceClient
		err error
	)
	if acct.Credential != nil {
		svc, err = aztables.NewServiceClient(acct.TableURL, acct.Credential, opts)
	} else {
		var cred *aztables.SharedKeyCredential
		cred, err = aztables.NewSharedKeyCredential(acct.AccountName, acct.AccountKey.Reveal())
		if err == nil {
			svc, err = aztables.NewServiceClientWithSharedKey(acct.TableURL, cred, opts)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("table client for %s: %w", acct.TableURL, err)
	}
	return &Ledger{table: table, c: svc.NewClient(table)}, nil
}

// Table returns the name of the ledger's table.
func (l *Ledger) Table() string { return l.table }

// CreateTable creates the ledger's table and reports whether it was missing.
// It is idempotent.
func (l *Ledger) CreateTable(ctx context.Context) (created bool, err error) {
	_, err = l.c.CreateTable(ctx, nil)
	if err == nil {
		return true, nil
	}
	if re, ok := asResponseError(err); ok && re.ErrorCode == string(aztables.TableAlreadyExists) {
		return false, nil
	}
	return false, l.translate("create table "+l.table, err)
}

// Get returns the session's record, or an error wrapping order.ErrNotFound.
func (l *Ledger) Get(ctx context.Context, sessionID string) (order.Order, error) {
	if err := checkSessionID(sessionID); err != nil {
		return order.Order{}, err
	}
	resp, err := l.c.GetEntity(ctx, sessionID, RowKey, nil)
	if err != nil {
		return order.Order{}, l.translate("get order "+sessionID, err)
	}
	o, err := decode(resp.Value)
	if err != nil {
		return order.Order{}, err
	}
	o.ETag = string(resp.ETag)
	return o, nil
}

// Create inserts o, an atomic claim on the session, and returns it as stored
// (see Update) with its ETag, or an error wrapping order.ErrConflict if a
// record for o.SessionID exists. o.ETag is ignored.
func (l *Ledger) Create(ctx context.Context, o order.Order) (order.Order, error) {
	o, body, err := prepare(o)
	if err != nil {
		return order.Order{}, err
	}
	resp, err := l.c.AddEntity(ctx, body, nil)
	if err != nil {
		return order.Order{}, l.translate("create order "+o.SessionID, err)
	}
	o.ETag = string(resp.ETag)
	return o, nil
}

// Update replaces the whole record if its ETag is still o.ETag and returns o
// as stored, with the new ETag: times in UTC truncated to Resolution,
// LastError and Reason cut to MaxTextBytes, empty EventIDs and Mail nil, as
// Get would return it. It fails with an error wrapping order.ErrConflict when
// the record changed or was deleted since o was read.
func (l *Ledger) Update(ctx context.Context, o order.Order) (order.Order, error) {
	if o.ETag == "" {
		return order.Order{}, order.Permanentf("update order %s: no ETag: update a record read from the ledger", o.SessionID)
	}
	etag := azcore.ETag(o.ETag)
	o, body, err := prepare(o)
	if err != nil {
		return order.Order{}, err
	}
	resp, err := l.c.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{IfMatch: &etag, UpdateMode: aztables.UpdateModeReplace})
	if re, ok := asResponseError(err); ok && re.StatusCode == http.StatusNotFound && re.ErrorCode != string(aztables.TableNotFound) {
		// Deleted since it was read: not the record o.ETag names.
		return order.Order{}, fmt.Errorf("update order %s: deleted since it was read: %w: %w", o.SessionID, order.ErrConflict, err)
	}
	if err != nil {
		return order.Order{}, l.translate("update order "+o.SessionID, err)
	}
	o.ETag = string(resp.ETag)
	return o, nil
}

// prepare normalizes o and encodes it.
func prepare(o order.Order) (order.Order, []byte, error) {
	o, err := normalize(o)
	if err != nil {
		return o, nil, err
	}
	body, err := encode(o)
	if err != nil {
		return o, nil, fmt.Errorf("encode order %s: %w", o.SessionID, err)
	}
	return o, body, nil
}

// translate turns an SDK error into the domain's: a missing table is an
// error of its own (never order.ErrNotFound, which would have Mutate insert
// into a table that is not there); 404 wraps order.ErrNotFound; 409 and 412
// wrap order.ErrConflict; 400 and 413, a request the service will never
// accept, are permanent; no answer, 408 and 5xx are order.Transient;
// anything else stays retryable. what names the operation. A nil err is nil.
func (l *Ledger) translate(what string, err error) error {
	if err == nil {
		return nil
	}
	re, ok := asResponseError(err)
	if !ok {
		return order.Transient(fmt.Errorf("%s: %w", what, err))
	}
	switch {
	case re.ErrorCode == string(aztables.TableNotFound):
		return fmt.Errorf("%s: table %s does not exist (create it first): %w", what, l.table, err)
	case re.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%s: %w: %w", what, order.ErrNotFound, err)
	case re.StatusCode == http.StatusConflict, re.StatusCode == http.StatusPreconditionFailed:
		return fmt.Errorf("%s: %w: %w", what, order.ErrConflict, err)
	case re.StatusCode == http.StatusBadRequest, re.StatusCode == http.StatusRequestEntityTooLarge:
		return order.Permanent(fmt.Errorf("%s: %w", what, err))
	case storage.Transient(err):
		return order.Transient(fmt.Errorf("%s: %w", what, err))
	}
	return fmt.Errorf("%s: %w", what, err)
}

func asResponseError(err error) (*azcore.ResponseError, bool) {
	var re *azcore.ResponseError
	ok := errors.As(err, &re)
	return re, ok
}
