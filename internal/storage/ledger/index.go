package ledger

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/filedrop/filedrop/internal/order"
)

// The indexes live in the ledger's table beside the records, each entity
// in a partition of its own kind, so that every lookup is a point read or
// a one-partition query and none scans the records (whose RowKey is
// always RowKey, which List filters on):
//
//   - mail-<operation id> / mail: the session a mail belongs to, written
//     before the mail is sent, so that a delivery report (which names only
//     the operation id) finds its order however early it comes.
//   - email-<hash> / <session id>: an order whose download mail went to the
//     address, with the order's date (At); email-<hash> / quota: the
//     address's order.LinksQuota.
//   - config / email-index: the deployment's random key of the hash.
//
// The address itself is never a key: the hash is HMAC-SHA256 of
// order.NormalizeEmail(address) under a key made once per table and kept
// in it, so keys (which the storage service logs in request URLs) reveal
// nothing to whoever lacks the table, and an address cannot be tried
// against them offline. Whoever can read the table reads the records,
// which hold the addresses anyway.
const (
	mailPartitionPrefix  = "mail-"
	mailRowKey           = "mail"
	emailPartitionPrefix = "email-"
	quotaRowKey          = "quota"
	configPartition      = "config"
	hashKeyRowKey        = "email-index"

	propSessionID = "SessionID"
	propAt        = "At"
	propHashKey   = "Key"
	propDay       = "Day"
	propToday     = "Today"
	propTotal     = "Total"
	propLast      = "Last"
)

// maxIndexRows bounds the entities one OrdersOf reads: one page.
const maxIndexRows = pageSize

// IndexMail records that the mail of operationID belongs to sessionID. It
// is idempotent.
func (l *Ledger) IndexMail(ctx context.Context, operationID, sessionID string) error {
	if !order.ValidOperationID(operationID) {
		return order.Permanentf("index mail: %q is not an operation id", operationID)
	}
	if err := checkSessionID(sessionID); err != nil {
		return err
	}
	body, err := json.Marshal(map[string]any{"PartitionKey": mailPartition(operationID), "RowKey": mailRowKey, propSessionID: sessionID})
	if err != nil {
		return err
	}
	_, err = l.c.UpsertEntity(ctx, body, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace})
	return l.translate("index mail "+operationID, err)
}

// SessionOfMail returns the session whose mail operationID is, or an error
// wrapping order.ErrNotFound.
func (l *Ledger) SessionOfMail(ctx context.Context, operationID string) (string, error) {
	if !order.ValidOperationID(operationID) {
		return "", fmt.Errorf("mail %q: %w", operationID, order.ErrNotFound)
	}
	resp, err := l.c.GetEntity(ctx, mailPartition(operationID), mailRowKey, nil)
	if err != nil {
		return "", l.translate("find mail "+operationID, err)
	}
	e, err := decodeEntity(resp.Value)
	if err != nil {
		return "", err
	}
	return e.str(propSessionID), e.err
}

func mailPartition(operationID string) string {
	return mailPartitionPrefix + strings.ToLower(operationID)
}

// IndexOrder lists sessionID, dated at, under the address email. It is
// idempotent.
func (l *Ledger) IndexOrder(ctx context.Context, email, sessionID string, at time.Time) error {
	if err := checkSessionID(sessionID); err != nil {
		return err
	}
	part, err := l.emailPartition(ctx, email)
	if err != nil {
		return err
	}
	e := map[string]any{"PartitionKey": part, "RowKey": sessionID}
	if at = utcTick(at); !at.IsZero() {
		e[propAt], e[propAt+"@odata.type"] = at.Format(dateTimeLayout), "Edm.DateTime"
	}
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = l.c.UpsertEntity(ctx, body, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace})
	return l.translate("index order "+sessionID, err)
}

// OrdersOf returns the orders listed under email, newest first, at most
// order.MaxIndexedOrders. It reads one partition, at most maxIndexRows
// entities of it.
func (l *Ledger) OrdersOf(ctx context.Context, email string) ([]order.IndexedOrder, error) {
	part, err := l.emailPartition(ctx, email)
	if err != nil {
		return nil, err
	}
	filter := "PartitionKey eq " + quote(part)
	pager := l.c.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Top: new(int32(maxIndexRows))})
	var out []order.IndexedOrder
	for pages := 0; pager.More() && len(out) < maxIndexRows && pages < maxListPages; pages++ {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, l.translate("list an address's orders", err)
		}
		for _, data := range page.Entities {
			e, err := decodeEntity(data)
			if err != nil {
				return nil, err
			}
			if e.rowKey == quotaRowKey {
				continue
			}
			at := e.time(propAt)
			if e.err != nil {
				return nil, fmt.Errorf("an address's order %s: %w", e.rowKey, e.err)
			}
			out = append(out, order.IndexedOrder{SessionID: e.rowKey, At: at})
		}
	}
	order.SortIndexed(out)
	return out[:min(len(out), order.MaxIndexedOrders)], nil
}

// MutateQuota applies fn to email's quota and writes it back
// conditionally, re-reading and re-applying fn when another writer won the
// race (at most order.MaxMutateAttempts times). When fn returns
// order.ErrUnchanged nothing is written and the quota as read is returned;
// another error from fn is returned as is.
func (l *Ledger) MutateQuota(ctx context.Context, email string, fn func(q *order.LinksQuota) error) (order.LinksQuota, error) {
	part, err := l.emailPartition(ctx, email)
	if err != nil {
		return order.LinksQuota{}, err
	}
	for range order.MaxMutateAttempts {
		read, etag, err := l.quota(ctx, part)
		if err != nil {
			return order.LinksQuota{}, err
		}
		q := read
		if err := fn(&q); err != nil {
			if errors.Is(err, order.ErrUnchanged) {
				return read, nil
			}
			return read, err
		}
		body, err := json.Marshal(map[string]any{"PartitionKey": part, "RowKey": quotaRowKey, propDay: q.Day,
			propToday: int32(q.Today), propTotal: int32(q.Total),
			propLast: utcTick(q.Last).Format(dateTimeLayout), propLast + "@odata.type": "Edm.DateTime"})
		if err != nil {
			return read, err
		}
		if etag == "" {
			_, err = l.c.AddEntity(ctx, body, nil)
		} else {
			_, err = l.c.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{IfMatch: &etag, UpdateMode: aztables.UpdateModeReplace})
		}
		err = l.translate("write an address's quota", err)
		if err == nil {
			q.Last = utcTick(q.Last)
			return q, nil
		}
		if !errors.Is(err, order.ErrConflict) && !errors.Is(err, order.ErrNotFound) {
			return read, err
		}
	}
	return order.LinksQuota{}, fmt.Errorf("write an address's quota: gave up after %d conflicting writers: %w", order.MaxMutateAttempts, order.ErrConflict)
}

// quota reads the quota of the address partition part, with its ETag ("":
// none yet).
func (l *Ledger) quota(ctx context.Context, part string) (order.LinksQuota, azcore.ETag, error) {
	resp, err := l.c.GetEntity(ctx, part, quotaRowKey, nil)
	if err != nil {
		if err = l.translate("read an address's quota", err); errors.Is(err, order.ErrNotFound) {
			return order.LinksQuota{}, "", nil
		}
		return order.LinksQuota{}, "", err
	}
	e, err := decodeEntity(resp.Value)
	if err != nil {
		return order.LinksQuota{}, "", err
	}
	q := order.LinksQuota{Day: e.str(propDay), Today: e.integer(propToday), Total: e.integer(propTotal), Last: e.time(propLast)}
	return q, resp.ETag, e.err
}

// emailPartition is the partition of email's entities: email- and the hex
// HMAC-SHA256 of the normalised address under the table's hash key.
func (l *Ledger) emailPartition(ctx context.Context, email string) (string, error) {
	key, err := l.hashKey(ctx)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(order.NormalizeEmail(email)))
	return emailPartitionPrefix + hex.EncodeToString(mac.Sum(nil)), nil
}

// hashKey returns the table's key of the address hash, made (32 random
// bytes) by the first writer that finds none; a racing writer's insert
// fails and it reads the winner's. It is read once per Ledger.
func (l *Ledger) hashKey(ctx context.Context) ([]byte, error) {
	l.key.mu.Lock()
	defer l.key.mu.Unlock()
	if l.key.b != nil {
		return l.key.b, nil
	}
	for range 2 {
		resp, err := l.c.GetEntity(ctx, configPartition, hashKeyRowKey, nil)
		if err == nil {
			e, err := decodeEntity(resp.Value)
			if err != nil {
				return nil, err
			}
			b := e.binary(propHashKey)
			if e.err != nil || len(b) < 32 {
				return nil, order.Permanentf("the ledger's email index key (%s/%s) is not the 32 bytes it should be; delete it and run handler orders index",
					configPartition, hashKeyRowKey)
			}
			l.key.b = b
			return b, nil
		}
		if err = l.translate("read the email index key", err); !errors.Is(err, order.ErrNotFound) {
			return nil, err
		}
		b := make([]byte, 32)
		_, _ = rand.Read(b) // never fails (crypto/rand)
		body, err := json.Marshal(map[string]any{"PartitionKey": configPartition, "RowKey": hashKeyRowKey,
			propHashKey: base64.StdEncoding.EncodeToString(b), propHashKey + "@odata.type": "Edm.Binary"})
		if err != nil {
			return nil, err
		}
		_, err = l.c.AddEntity(ctx, body, nil)
		if err = l.translate("make the email index key", err); err == nil {
			l.key.b = b
			return b, nil
		} else if !errors.Is(err, order.ErrConflict) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("make the email index key: %w", order.ErrConflict)
}

// entity is a decoded index entity: its row key and typed properties.
type entity struct {
	rowKey string
	decoder
}

func decodeEntity(data []byte) (entity, error) {
	var e aztables.EDMEntity
	if err := json.Unmarshal(data, &e); err != nil {
		return entity{}, order.Permanentf("decode index entity: %w", err)
	}
	return entity{rowKey: e.RowKey, decoder: decoder{props: e.Properties}}, nil
}
