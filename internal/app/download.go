package app

import (
	"net/http"
	"time"

	"github.com/filedrop/filedrop/internal/config"
	"github.com/filedrop/filedrop/internal/download"
	"github.com/filedrop/filedrop/internal/orderlink"
	"github.com/filedrop/filedrop/internal/storage/blobstore"
)

// orderLinks returns the signer of order-page links, or nil when no
// ORDER_LINK_SECRET is configured (DOWNLOAD_LINKS=direct).
func orderLinks(c config.Download) (*orderlink.Signer, error) {
	if len(c.LinkSecrets) == 0 {
		return nil, nil
	}
	return orderlink.New(c.PublicBaseURL, c.Secrets())
}

// downloadHandler returns the Download function, with its "Lost your
// link?" page, or nil when the order page is not configured.
func (p *Pipeline) downloadHandler() (http.Handler, error) {
	signer, err := orderLinks(p.cfg.Download)
	if signer == nil || err != nil {
		return nil, err
	}
	// The originals again, signing links that live DOWNLOAD_SAS_TTL: one
	// per click.
	opts := originalsOptions(p.cfg.Links)
	opts.TTL = p.cfg.Download.SASTTL
	links, err := blobstore.New(p.account, opts, time.Now)
	if err != nil {
		return nil, err
	}
	// The "Lost your link?" page: the ledger's index of orders by email,
	// SendLink's queue, and the order page links signed with the first
	// ORDER_LINK_SECRET.
	lost := &download.LostLinks{Customers: p.ledger, Mails: p.mails, Link: signer.URL}
	return download.New(download.Deps{Refs: signer, Records: p.records(), Links: links, Settings: download.Settings{
		Shop: p.cfg.Mail.ShopName, Support: p.cfg.Mail.Support, Window: p.cfg.Download.Window, Limit: p.cfg.Download.Limit,
	}, LostLinks: lost, Log: p.log})
}
