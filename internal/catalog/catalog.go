// Package catalog keeps a folder of originals for sale: each file uploaded
// to the originals container, a Stripe product that delivers it, a price and
// a payment link that sells it. It also checks the Stripe catalog against
// the container for the mistakes that otherwise surface only as an order
// that needs attention after someone paid.
//
// Input: a folder (fs.FS) of originals and optionally its catalog.csv (see
// Load). Output: a Plan, computed from the folder and what Stripe and the
// container hold, that Apply then carries out; a dry run prints the same
// Plan without applying it.
//
// A product is found again by the original it delivers: its metadata
// "original", or by order.OriginalOf's rule for a product that names none
// (which the sync then names), so the catalog and ProcessOrder agree on what
// a product sells. A file renamed in the folder keeps its product, price and
// link when its content matches the original of exactly one product whose
// file is gone. Prices cannot change in Stripe: a new price is a new Price,
// which takes over the product's lookup key ("filedrop:<product id>"),
// names the price it replaces in its metadata and becomes the default price
// where the old one was; a new payment link sells it, and the old link is
// deactivated and the old price archived. A link is reused while its price
// stands. Products whose file left the folder are listed, and with
// ArchiveMissing archived with their links deactivated.
//
// Every Stripe write carries an idempotency key derived from what it writes
// (see idempotencyKey), and every run plans from the current state, which
// Stripe's list endpoints give consistently: a run interrupted anywhere and
// repeated finishes the work without duplicating any object. An original is
// uploaded only when it is missing or its content hash differs from the
// blob's, never over a blob that changed since the plan was made.
//
// The package speaks to Stripe and Blob storage only through the small
// interfaces below, which stripeapi.Client and blobstore.Originals
// implement; it imports no SDK.
package catalog

import (
	"context"
	"io"

	"github.com/filedrop/filedrop/internal/storage/blobstore"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// catalogReader lists the Stripe catalog.
type catalogReader interface {
	ListProducts(ctx context.Context, fn func(stripeapi.Product) error) error
	ListActivePrices(ctx context.Context, fn func(stripeapi.Price) error) error
}

// linkReader lists the payment links.
type linkReader interface {
	ListPaymentLinks(ctx context.Context, fn func(stripeapi.PaymentLink) error) error
}

// productWriter creates and updates products.
type productWriter interface {
	CreateProduct(ctx context.Context, f stripeapi.ProductFields, key string) (stripeapi.Product, error)
	UpdateProduct(ctx context.Context, id string, f stripeapi.ProductFields, key string) (stripeapi.Product, error)
}

// priceWriter creates and archives prices.
type priceWriter interface {
	CreatePrice(ctx context.Context, p stripeapi.NewPrice, key string) (stripeapi.Price, error)
	ArchivePrice(ctx context.Context, id, key string) (stripeapi.Price, error)
}

// linkWriter creates payment links and turns them on and off.
type linkWriter interface {
	CreatePaymentLink(ctx context.Context, l stripeapi.NewPaymentLink, key string) (stripeapi.PaymentLink, error)
	SetPaymentLinkActive(ctx context.Context, id string, active bool, key string) (stripeapi.PaymentLink, error)
}

// stripeCatalog is Stripe as the syncer uses it.
type stripeCatalog interface {
	catalogReader
	linkReader
	productWriter
	priceWriter
	linkWriter
}

// originals is the originals container.
type originals interface {
	List(ctx context.Context, fn func(blobstore.Blob) error) error
	Put(ctx context.Context, name string, body io.Reader, sum blobstore.Sum, ifMatch string) error
	Container() string
}

var (
	_ stripeCatalog = (*stripeapi.Client)(nil)
	_ originals     = (*blobstore.Originals)(nil)
)

// Syncer plans and applies the sync of a folder, and checks the catalog.
// It holds no state between calls.
type Syncer struct {
	stripe stripeCatalog
	blobs  originals
}

// New returns a Syncer that works on the Stripe account s and the
// originals container b.
func New(s stripeCatalog, b originals) *Syncer { return &Syncer{stripe: s, blobs: b} }

// Container is the name of the originals container.
func (s *Syncer) Container() string { return s.blobs.Container() }

// state is what Stripe and the container hold.
type state struct {
	products []stripeapi.Product
	// prices are the active prices, by product.
	prices map[string][]stripeapi.Price
	links  []stripeapi.PaymentLink
	blobs  map[string]blobstore.Blob
}

// read reads the products, active prices and originals, and with links
// the payment links too.
func (s *Syncer) read(ctx context.Context, links bool) (state, error) {
	st := state{prices: map[string][]stripeapi.Price{}, blobs: map[string]blobstore.Blob{}}
	err := s.stripe.ListProducts(ctx, func(p stripeapi.Product) error {
		st.products = append(st.products, p)
		return nil
	})
	if err == nil {
		err = s.stripe.ListActivePrices(ctx, func(p stripeapi.Price) error {
			st.prices[p.Product] = append(st.prices[p.Product], p)
			return nil
		})
	}
	if err == nil && links {
		err = s.stripe.ListPaymentLinks(ctx, func(l stripeapi.PaymentLink) error {
			st.links = append(st.links, l)
			return nil
		})
	}
	if err == nil {
		err = s.blobs.List(ctx, func(b blobstore.Blob) error {
			st.blobs[b.Name] = b
			return nil
		})
	}
	return st, err
}
