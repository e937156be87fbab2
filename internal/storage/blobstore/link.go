package blobstore

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/filedrop/filedrop/internal/order"
)

// Link is a signed download link. Its URL is a credential: it is logged
// only redacted (LogValue, String).
type Link struct {
	URL       string
	ExpiresAt time.Time
}

// LogValue logs the link without its signature.
func (l Link) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", order.RedactURL(l.URL)), slog.Time("expires_at", l.ExpiresAt))
}

// String is the redacted link, so that %v never prints the signature.
func (l Link) String() string { return order.RedactURL(l.URL) }

// Link mints a read-only link to the original blobName that works from
// ClockSkew ago until the link TTL from now (with a user delegation key, no
// later than the key expires), and makes the download an attachment named
// fileName. It does not check that the blob exists. An invalid name is
// permanent.
func (o *Originals) Link(ctx context.Context, blobName, fileName string) (Link, error) {
	if err := ValidateName(blobName); err != nil {
		return Link{}, order.Permanent(err)
	}
	now := o.now().UTC()
	v := sas.BlobSignatureValues{
		Protocol:           o.protocol,
		StartTime:          now.Add(-ClockSkew).Truncate(time.Second),
		ExpiryTime:         now.Add(o.ttl).Truncate(time.Second),
		Permissions:        (&sas.BlobPermissions{Read: true}).String(),
		ContainerName:      o.name,
		BlobName:           blobName,
		ContentDisposition: ContentDisposition(fileName),
	}
	var (
		qp  sas.QueryParameters
		err error
	)
	if o.keys != nil {
		cred, keyExpiry, kerr := o.keys.get(ctx)
		if kerr != nil {
			return Link{}, fmt.Errorf("sign link to %s: %w", blobName, kerr)
		}
		v.ExpiryTime = minTime(v.ExpiryTime, keyExpiry)
		qp, err = v.SignWithUserDelegation(cred)
	} else {
		qp, err = v.SignWithSharedKey(o.sharedKey)
	}
	if err != nil {
		return Link{}, fmt.Errorf("sign link to %s: %w", blobName, err)
	}
	return Link{URL: o.prefix + "/" + escapePath(blobName) + "?" + qp.Encode(), ExpiresAt: v.ExpiryTime}, nil
}

// escapePath escapes each segment of a blob path, keeping the slashes.
func escapePath(name string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
