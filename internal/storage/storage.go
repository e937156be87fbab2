// Package storage is filedrop's adapter to Azure Storage queues: it builds
// clients for the account behind AzureWebJobsStorage (a key, or a managed
// identity) and moves base64-encoded messages the way the Functions queue
// trigger expects them. Storage errors are translated into the domain's:
// a missing queue or message is order.ErrNotFound, everything else is
// retryable.
//
// The originals' blobs and the ledger's table have adapters of their own
// beside this one (storage/blobsas, storage/ledger), built from the same
// Account.
package storage

import (
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Options name a storage account and how to authenticate to it, in plain
// values: an account key, or an identity.
type Options struct {
	AccountName string
	// AccountKey is set to sign with the account key; zero for an
	// identity-based account.
	AccountKey Key
	// BlobURL, QueueURL and TableURL are the service endpoints, without a
	// trailing slash.
	BlobURL, QueueURL, TableURL string
	// Identity is true for an identity-based account: requests carry tokens
	// of a managed identity (or of the default Azure credential chain).
	Identity bool
	// ClientID is the client id of a user-assigned managed identity.
	ClientID string
	// ManagedIdentity is true to use the managed identity even without a
	// ClientID (the system-assigned one).
	ManagedIdentity bool
}

// Account is a storage account and how to authenticate to it.
type Account struct {
	Options
	// Credential is the token credential of an identity-based connection;
	// nil when the account key is used.
	Credential azcore.TokenCredential
	// Retry bounds the SDK's own retries of every call.
	Retry policy.RetryOptions
	// Transport, when set, replaces the HTTP client (tests, benchmarks).
	Transport policy.Transporter
}

// DefaultRetry is short and bounded: the webhook answers Stripe within
// seconds, and the queue functions are retried by the host anyway.
var DefaultRetry = policy.RetryOptions{
	MaxRetries:    2,
	TryTimeout:    5 * time.Second,
	RetryDelay:    100 * time.Millisecond,
	MaxRetryDelay: time.Second,
}

// NewAccount returns the account of cfg, with a managed-identity (or
// default Azure) credential when cfg is identity-based.
func NewAccount(cfg Options) (Account, error) {
	a := Account{Options: cfg, Retry: DefaultRetry}
	if !cfg.Identity {
		return a, nil
	}
	var err error
	switch {
	case cfg.ManagedIdentity || cfg.ClientID != "":
		var opts azidentity.ManagedIdentityCredentialOptions
		if cfg.ClientID != "" {
			opts.ID = azidentity.ClientID(cfg.ClientID)
		}
		a.Credential, err = azidentity.NewManagedIdentityCredential(&opts)
	default:
		a.Credential, err = azidentity.NewDefaultAzureCredential(nil)
	}
	if err != nil {
		return a, fmt.Errorf("storage credential for %s: %w", cfg.AccountName, err)
	}
	return a, nil
}

// ClientOptions returns the azcore options every client of the account uses.
func (a Account) ClientOptions() azcore.ClientOptions {
	o := azcore.ClientOptions{Retry: a.Retry, Transport: a.Transport}
	o.Telemetry.ApplicationID = "filedrop"
	return o
}

// statusOf returns the HTTP status of an SDK error, or 0.
func statusOf(err error) int {
	if re, ok := asResponseError(err); ok {
		return re.StatusCode
	}
	return 0
}
