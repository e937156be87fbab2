package cli

import (
	"net/http"
	"time"

	"github.com/filedrop/filedrop/internal/config"
	"github.com/filedrop/filedrop/internal/download"
	"github.com/filedrop/filedrop/internal/orderlink"
	"github.com/filedrop/filedrop/internal/storage/blobstore"
)

// fnDownload is the order page's function folder.
const fnDownload = "Download"

// orderLinks returns the signer of order-page links, or nil when no
// ORDER_LINK_SECRET is configured (DOWNLOAD_LINKS=direct).
func orderLinks(c config.Download) (*orderlink.Signer, error) {
	if len(c.LinkSecrets) == 0 {
		return nil, nil
	}
	return orderlink.New(c.PublicBaseURL, c.Secrets())
}

// downloadHandler returns the Download function, or nil when the order page
// is not configured.
func (p *pipeline) downloadHandler() (http.Handler, error) {
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
	h, err := download.New(signer, p.ledger, links, download.Settings{
		Shop: p.cfg.Mail.ShopName, Support: p.cfg.Mail.Support, Window: p.cfg.Download.Window, Limit: p.cfg.Download.Limit,
	}, time.Now, p.log)
	if err != nil {
		return nil, err
	}
	return p.withLostLinks(h, signer), nil
}
