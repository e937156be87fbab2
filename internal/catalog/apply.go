package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"

	"github.com/filedrop/filedrop/internal/storage/blobstore"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// ErrFileChanged reports a file of the folder that changed between the
// plan and its upload.
var ErrFileChanged = errors.New("the file changed while the sync ran")

// Apply carries out the plan's steps in order, file by file, reading the
// originals to upload from fsys (the folder planned). It records each
// object's id in its item as it is created and counts the steps done in
// Item.Applied; done, when not nil, is called after each item. It stops
// at the first failure, which names the file and the step: running the
// sync again plans what is left.
func (s *Syncer) Apply(ctx context.Context, fsys fs.FS, p *Plan, done func(*Item)) error {
	for _, it := range slices.Concat(p.Items, p.Missing) {
		for it.Applied < len(it.Steps) {
			st := &it.Steps[it.Applied]
			if err := s.apply(ctx, fsys, it, st); err != nil {
				return fmt.Errorf("%s: %s: %w", it.File, st.Say, err)
			}
			it.Applied++
		}
		if done != nil {
			done(it)
		}
	}
	return nil
}

// apply carries out one step of it.
func (s *Syncer) apply(ctx context.Context, fsys fs.FS, it *Item, st *Step) error {
	switch st.Op {
	case OpUpload, OpReplace:
		return s.upload(ctx, fsys, it.entry.File, st.ifMatch)
	case OpCreateProduct:
		pr, err := s.stripe.CreateProduct(ctx, st.fields, idempotencyKey("product-create", fieldsKey(st.fields)...))
		it.Product, it.version = pr.ID, pr.Updated
		return err
	case OpUpdateProduct, OpArchiveProduct:
		f, op := st.fields, "product-update"
		if st.setDefault {
			f.DefaultPrice = it.PriceID
		}
		if st.Op == OpArchiveProduct {
			f, op = stripeapi.ProductFields{Name: it.Name, Original: it.File, Active: false}, "product-archive"
		}
		pr, err := s.stripe.UpdateProduct(ctx, it.Product, f, idempotencyKey(op, append(fieldsKey(f), it.Product, version(it))...))
		if err == nil {
			it.version = pr.Updated
		}
		return err
	case OpCreatePrice:
		np := stripeapi.NewPrice{Product: it.Product, Currency: it.Price.Currency, UnitAmount: it.Price.Amount,
			LookupKey: lookupKey(it.Product), Metadata: map[string]string{stripeapi.OriginalKey: it.File}}
		if st.Target != "" {
			np.Metadata[ReplacesKey] = st.Target
		}
		pr, err := s.stripe.CreatePrice(ctx, np, idempotencyKey("price-create", np.Product, np.Currency,
			strconv.FormatInt(np.UnitAmount, 10), np.LookupKey, it.File, st.Target))
		it.PriceID = pr.ID
		return err
	case OpArchivePrice:
		_, err := s.stripe.ArchivePrice(ctx, st.Target, idempotencyKey("price-archive", st.Target))
		return err
	case OpCreateLink:
		pl, err := s.stripe.CreatePaymentLink(ctx, stripeapi.NewPaymentLink{Price: it.PriceID,
			Metadata: map[string]string{stripeapi.OriginalKey: it.File}}, idempotencyKey("link-create", it.PriceID, it.File))
		it.Link, it.URL = pl.ID, pl.URL
		return err
	case OpActivateLink, OpDeactivateLink:
		active := st.Op == OpActivateLink
		_, err := s.stripe.SetPaymentLinkActive(ctx, st.Target, active,
			idempotencyKey("link-active", st.Target, strconv.FormatBool(active), it.Product, version(it)))
		return err
	}
	return fmt.Errorf("unknown step %q", st.Op)
}

func version(it *Item) string { return strconv.FormatInt(it.version, 10) }

// upload uploads the file f of fsys, hashing what it reads: a file whose
// content is no longer what was planned is an error after the upload, and
// the blob then records the planned hash, which the next run finds
// different and uploads again.
func (s *Syncer) upload(ctx context.Context, fsys fs.FS, f File, ifMatch string) error {
	r, err := fsys.Open(f.Path)
	if err != nil {
		return err
	}
	defer r.Close()
	h := newHasher()
	err = s.blobs.Put(ctx, f.Path, io.TeeReader(r, h), blobstore.Sum{MD5: f.MD5, SHA256: f.SHA256}, ifMatch)
	if err != nil {
		return err
	}
	if got := h.file(); got.SHA256 != f.SHA256 || got.Size != f.Size {
		return fmt.Errorf("%w: run the sync again", ErrFileChanged)
	}
	return nil
}
