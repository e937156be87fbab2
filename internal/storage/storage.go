// Package storage is filedrop's adapter to Azure Storage queues: it builds
// clients for the account behind AzureWebJobsStorage (a key, or a managed
// identity) and moves base64-encoded messages the way the Functions queue
// trigger expects them. Storage errors are translated into the domain's:
// a missing queue or message is order.ErrNotFound, everything else is
// retryable.
//
// The originals' blobs and the ledger's table have adapters of their own
// beside this one (storage/blobstore, storage/ledger), built from the same
// Account.
package storage

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/filedrop/filedrop/internal/secret"
)

// Options name a storage account and how to authenticate to it, in plain
// values: an account key, or an identity.
type Options struct {
	AccountName string
	// AccountKey is set to sign with the account key; zero for an
	// identity-based account.
	AccountKey secret.Value
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
	// Transport is the HTTP client of every call: NewAccount sets one from
	// NewHTTPClient; nil uses azcore's default (tests, benchmarks replace it).
	Transport policy.Transporter
}

// IdleConnsPerHost is how many idle connections to each storage endpoint
// (queue, table, blob) the account's HTTP client keeps. azcore's default
// client keeps 10: with more calls in flight than that (the Functions host
// forwards up to 16 webhooks at once per instance, and runs up to 24 queue
// messages), each answer that finds the pool full closes its connection and
// a later call opens a new one, a TCP and TLS handshake on both sides.
const IdleConnsPerHost = 64

// NewHTTPClient returns the HTTP client for an account's calls: azcore's
// default transport's settings (timeouts, TLS 1.2 or later, proxy from the
// environment), with IdleConnsPerHost idle connections per endpoint.
//
// It deliberately leaves net/http to write a request's headers and body in
// two writes (azcore's bodies are not a type net/http knows to be in
// memory). Sending both in one write saved a syscall a call, no CPU this
// machine could measure, and Azurite 3.37 then corrupted table writes now
// and then (a UTF-8 character came back as two U+FFFD); the cause is not
// confirmed (docs/reference-notes.md).
func NewHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          3 * IdleConnsPerHost,
		MaxIdleConnsPerHost:   IdleConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12, Renegotiation: tls.RenegotiateFreelyAsClient},
	}}
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
	a := Account{Options: cfg, Retry: DefaultRetry, Transport: NewHTTPClient()}
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
