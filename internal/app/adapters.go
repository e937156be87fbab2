package app

import (
	"log/slog"

	"github.com/filedrop/filedrop/internal/config"
	"github.com/filedrop/filedrop/internal/storage"
	"github.com/filedrop/filedrop/internal/storage/blobstore"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// The settings package reads and checks the settings; the functions below
// map them onto each adapter's own options, so that no adapter imports
// config. (The mail transports are mapped in mail.go.)

// storageOptions maps the AzureWebJobsStorage settings onto the storage
// adapters' options.
func storageOptions(s config.Storage) storage.Options {
	return storage.Options{
		AccountName:     s.AccountName,
		AccountKey:      s.AccountKey,
		BlobURL:         s.BlobURL,
		QueueURL:        s.QueueURL,
		TableURL:        s.TableURL,
		Identity:        s.Identity,
		ClientID:        s.ClientID,
		ManagedIdentity: s.ManagedIdentity,
	}
}

// originalsOptions maps the download-link settings onto the originals'
// options.
func originalsOptions(l config.Links) blobstore.Options {
	return blobstore.Options{Container: l.Container, TTL: l.TTL, BaseURL: l.BaseURL}
}

// newStripe returns a Stripe client for the Stripe settings.
func newStripe(s config.Stripe, log *slog.Logger) *stripeapi.Client {
	return stripeapi.New(s.APIKey.Reveal(), stripeapi.Options{APIURL: s.APIURL, Livemode: s.Livemode}, log)
}
