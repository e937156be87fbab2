package blobstore

import (
	"context"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// User delegation keys.
const (
	// MaxKeyLifetime is what a key is asked for: the service's 7-day limit,
	// less ClockSkew so that a fast clock here is not refused there.
	MaxKeyLifetime = 7*24*time.Hour - ClockSkew
	// MinKeyReuse is the least time a key serves before it is replaced, even
	// when the link TTL is so close to 7 days that no key could cover a whole
	// link: such links end when the key does, up to this much early.
	MinKeyReuse = time.Hour
	// keyMargin is kept beyond the link TTL when deciding whether the cached
	// key still covers a new link.
	keyMargin = time.Minute
)

// keyFetcher asks the service for a user delegation key valid from start to expiry.
type keyFetcher func(ctx context.Context, start, expiry time.Time) (*sas.UserDelegationCredential, error)

// delegationKeys caches one user delegation key. A key is fetched on first
// use and replaced when less than the link TTL plus a margin of it remains
// (but not before it has served MinKeyReuse), so a burst of links costs one
// fetch. Concurrent callers wait for a single fetch.
type delegationKeys struct {
	fetch keyFetcher
	now   func() time.Time
	need  time.Duration

	mu     sync.Mutex
	cred   *sas.UserDelegationCredential
	expiry time.Time
}

func newDelegationKeys(fetch keyFetcher, now func() time.Time, ttl time.Duration) *delegationKeys {
	return &delegationKeys{fetch: fetch, now: now, need: min(ttl+keyMargin, MaxKeyLifetime-MinKeyReuse)}
}

// get returns a key that is valid for at least the link TTL (see
// delegationKeys) and the time it expires.
func (k *delegationKeys) get(ctx context.Context) (*sas.UserDelegationCredential, time.Time, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if k.cred != nil && k.expiry.Sub(now) >= k.need {
		return k.cred, k.expiry, nil
	}
	start := now.Add(-ClockSkew).UTC().Truncate(time.Second)
	expiry := now.Add(MaxKeyLifetime).UTC().Truncate(time.Second)
	cred, err := k.fetch(ctx, start, expiry)
	if err != nil {
		return nil, time.Time{}, err
	}
	k.cred, k.expiry = cred, expiry
	return cred, expiry, nil
}
