// Package blobstore is filedrop's adapter to the originals: the private blob
// container that holds the purchased files. It checks that an original
// exists and mints time-limited, read-only download links for it (shared
// access signatures for one blob), and it uploads originals for setup and
// tests.
//
// With an account key a link is a service SAS. With an identity-based
// connection it is a user delegation SAS, signed with a user delegation key
// that is fetched once and cached; such a key, and so a link, lives at most
// 7 days.
//
// Storage errors are translated into the domain's: a missing original is
// reported by Exists, a missing container or a refused account key is
// permanent, throttling is order.Throttled, anything else is retryable.
package blobstore

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/storage"
)

// ClockSkew is how far in the past a link (and a delegation key) starts, so
// that a storage service whose clock runs behind ours accepts it at once.
const ClockSkew = 5 * time.Minute

// ThrottledRetryAfter is the pause asked for when storage is busy (429, 503).
const ThrottledRetryAfter = 10 * time.Second

// MaxDelegatedLinkTTL is the longest a link signed with a user delegation
// key (an identity-based account) can work: the key itself lives at most 7
// days.
const MaxDelegatedLinkTTL = 7 * 24 * time.Hour

// ConnectionSetting names the setting of the storage account in the
// permanent error of a refused account key.
const ConnectionSetting = "AzureWebJobsStorage"

// Options say which container holds the originals and what links to it
// look like.
type Options struct {
	// Container is the private container holding the originals.
	Container string
	// TTL is how long a link works; at most MaxDelegatedLinkTTL for an
	// identity-based account.
	TTL time.Duration
	// BaseURL, when set, replaces <blob endpoint>/<container> in every link
	// (a custom domain in front of the container).
	BaseURL string
}

// Originals is the originals container of one account. It is safe for
// concurrent use.
type Originals struct {
	container *container.Client
	name      string // container name
	account   string
	ttl       time.Duration
	// prefix is what a link's escaped blob path is appended to: the
	// container's URL, or Options.BaseURL.
	prefix   string
	protocol sas.Protocol
	now      func() time.Time

	sharedKey *service.SharedKeyCredential // account-key mode
	keys      *delegationKeys              // identity mode
}

// New returns the originals container cfg.Container of acct. Links live
// cfg.TTL and start with cfg.BaseURL when it is set. now is the clock.
func New(acct storage.Account, cfg Options, now func() time.Time) (*Originals, error) {
	if cfg.Container == "" || cfg.TTL <= 0 {
		return nil, errors.New("originals: container and link TTL are required")
	}
	o := &Originals{name: cfg.Container, account: acct.AccountName, ttl: cfg.TTL, now: now, protocol: sas.ProtocolHTTPS}
	endpoint := strings.TrimSuffix(acct.BlobURL, "/")
	if strings.HasPrefix(strings.ToLower(endpoint), "http://") {
		o.protocol = sas.ProtocolHTTPSandHTTP // Azurite
	}
	o.prefix = endpoint + "/" + cfg.Container
	if cfg.BaseURL != "" {
		o.prefix = strings.TrimSuffix(cfg.BaseURL, "/")
	}
	opts := &service.ClientOptions{ClientOptions: acct.ClientOptions()}
	var (
		svc *service.Client
		err error
	)
	switch {
	case acct.Credential != nil:
		if cfg.TTL > MaxDelegatedLinkTTL {
			return nil, fmt.Errorf("originals: a link TTL of %s is over the %s a user delegation key lives", cfg.TTL, MaxDelegatedLinkTTL)
		}
		svc, err = service.NewClient(endpoint+"/", acct.Credential, opts)
		if err == nil {
			o.keys = newDelegationKeys(fetchKey(svc), now, cfg.TTL)
		}
	case acct.Identity:
		return nil, errors.New("originals: an identity-based account needs a credential")
	default:
		o.sharedKey, err = service.NewSharedKeyCredential(acct.AccountName, acct.AccountKey.Reveal())
		if err == nil {
			svc, err = service.NewClientWithSharedKeyCredential(endpoint+"/", o.sharedKey, opts)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("originals: blob client for %s: %w", endpoint, err)
	}
	o.container = svc.NewContainerClient(cfg.Container)
	return o, nil
}

func fetchKey(svc *service.Client) keyFetcher {
	return func(ctx context.Context, start, expiry time.Time) (*sas.UserDelegationCredential, error) {
		info := service.KeyInfo{Start: to.Ptr(start.Format(sas.TimeFormat)), Expiry: to.Ptr(expiry.Format(sas.TimeFormat))}
		cred, err := svc.GetUserDelegationCredential(ctx, info, nil)
		if err != nil {
			return nil, translate("get user delegation key", err, true)
		}
		return cred, nil
	}
}

// Container returns the container's name.
func (o *Originals) Container() string { return o.name }

// Exists reports whether the original blobName is in the container. An
// invalid name, a missing container or a refused account key is permanent.
func (o *Originals) Exists(ctx context.Context, blobName string) (bool, error) {
	if err := ValidateName(blobName); err != nil {
		return false, order.Permanent(err)
	}
	_, err := o.container.NewBlobClient(blobName).GetProperties(ctx, nil)
	switch {
	case err == nil:
		return true, nil
	case bloberror.HasCode(err, bloberror.ContainerNotFound):
		return false, order.Permanentf("container %q does not exist in storage account %s: create it, or set ORIGINALS_CONTAINER to the container that holds the originals", o.name, o.account)
	case statusOf(err) == http.StatusNotFound:
		return false, nil
	}
	return false, translate("check original "+blobName, err, o.keys != nil)
}

// Upload stores data as the original blobName, replacing any blob of that
// name, with a Content-Type from its extension.
func (o *Originals) Upload(ctx context.Context, blobName string, data []byte) error {
	if err := ValidateName(blobName); err != nil {
		return order.Permanent(err)
	}
	opts := &blockblob.UploadBufferOptions{}
	if ct := mime.TypeByExtension(path.Ext(blobName)); ct != "" {
		opts.HTTPHeaders = &blob.HTTPHeaders{BlobContentType: to.Ptr(ct)}
	}
	_, err := o.container.NewBlockBlobClient(blobName).UploadBuffer(ctx, data, opts)
	return translate("upload original "+blobName, err, o.keys != nil)
}

// CreateContainer creates the (private) container and reports whether it
// was missing.
func (o *Originals) CreateContainer(ctx context.Context) (created bool, err error) {
	_, err = o.container.Create(ctx, nil)
	switch {
	case err == nil:
		return true, nil
	case bloberror.HasCode(err, bloberror.ContainerAlreadyExists):
		return false, nil
	}
	return false, translate("create container "+o.name, err, o.keys != nil)
}

// translate turns a blob SDK error into the domain's, in one line: 404
// wraps order.ErrNotFound; 403 is permanent with an account key (a wrong key
// or a firewall does not fix itself) and retryable with an identity (new
// role assignments take minutes to apply); 429 and 503 are throttling;
// no answer, 408 and other 5xx are order.Transient; anything else is
// retryable.
func translate(what string, err error, identity bool) error {
	if err == nil {
		return nil
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return order.Transient(fmt.Errorf("%s: %w", what, err))
	}
	answer := fmt.Sprintf("storage answered %d %s", re.StatusCode, re.ErrorCode)
	switch re.StatusCode {
	case http.StatusNotFound:
		return fmt.Errorf("%s: %w: %s", what, order.ErrNotFound, answer)
	case http.StatusForbidden:
		if identity {
			return fmt.Errorf("%s: %s: the identity needs the Storage Blob Data Reader role on the container (new role assignments take a few minutes to apply)", what, answer)
		}
		return order.Permanentf("%s: %s: the account refused the key, or its firewall refused this app: check %s", what, answer, ConnectionSetting)
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return order.Throttled(fmt.Errorf("%s: %s", what, answer), ThrottledRetryAfter)
	}
	if storage.Transient(err) {
		return order.Transient(fmt.Errorf("%s: %s", what, answer))
	}
	return fmt.Errorf("%s: %s", what, answer)
}

func statusOf(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}
