package catalog

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/filedrop/filedrop/internal/storage/blobstore"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// Op is one kind of change a plan makes. The names are a stable contract of
// the command's JSON.
type Op string

// The changes a plan is made of.
const (
	OpUpload         Op = "upload"         // an original the container lacks
	OpReplace        Op = "replace"        // an original whose content changed
	OpCreateProduct  Op = "create_product" // a new product for a file
	OpUpdateProduct  Op = "update_product" // name, description, original, active, default price
	OpCreatePrice    Op = "create_price"   // the new price, with the product's lookup key
	OpCreateLink     Op = "create_payment_link"
	OpActivateLink   Op = "activate_payment_link"
	OpDeactivateLink Op = "deactivate_payment_link"
	OpArchivePrice   Op = "archive_price"
	OpArchiveProduct Op = "archive_product"
)

// Step is one change: Op on Target (the id of the object changed or
// replaced; "" for one the plan creates), said for a person in Say.
type Step struct {
	Op     Op     `json:"op"`
	Target string `json:"target,omitempty"`
	Say    string `json:"say"`

	fields stripeapi.ProductFields // OpCreateProduct, OpUpdateProduct
	// setDefault makes the item's price the product's default price
	// (OpUpdateProduct), once it is known.
	setDefault bool
	ifMatch    string // OpReplace: the ETag of the blob replaced
}

// Status is what a plan does with a file. The names are a stable contract
// of the command's JSON.
type Status string

// The statuses of an Item.
const (
	StatusNew       Status = "new"       // a product is created for the file
	StatusChanged   Status = "changed"   // something of the file's is changed
	StatusRenamed   Status = "renamed"   // the product of a renamed file follows it
	StatusUnchanged Status = "unchanged" // nothing to do
	StatusMissing   Status = "missing"   // a product whose file left the folder
)

// Item is one file of the folder, or one product whose file left it, with
// the steps that bring Stripe and the container in line. The ids are those
// the file ends with; "" for an object a step creates, until Apply runs it.
type Item struct {
	File        string `json:"file"`
	Name        string `json:"name"`
	Price       Money  `json:"price"`
	Product     string `json:"product,omitempty"`
	PriceID     string `json:"price_id,omitempty"`
	Link        string `json:"payment_link,omitempty"`
	URL         string `json:"url,omitempty"`
	Status      Status `json:"status"`
	RenamedFrom string `json:"renamed_from,omitempty"`
	Steps       []Step `json:"changes"`
	// Applied counts the steps Apply has carried out.
	Applied int `json:"applied"`

	entry Entry
	// version is the product's updated time as last read or written,
	// part of the idempotency keys of the writes that follow.
	version int64
}

func (it *Item) add(s Step) { it.Steps = append(it.Steps, s) }

// Plan is what a sync does: an Item per file, by path, and an Item per
// product whose file left the folder.
type Plan struct {
	Items          []*Item `json:"items"`
	Missing        []*Item `json:"missing"`
	ArchiveMissing bool    `json:"archive_missing"`
	// Notes are things a person should know that change nothing.
	Notes []string `json:"notes,omitempty"`
}

// Changes counts the plan's steps.
func (p *Plan) Changes() int {
	n := 0
	for _, it := range slices.Concat(p.Items, p.Missing) {
		n += len(it.Steps)
	}
	return n
}

// Options tune a sync.
type Options struct {
	// Default is the price of a file without a row in catalog.csv, or with
	// no price in its row; nil for none.
	Default *Money
	// ArchiveMissing archives the products of files that left the folder
	// and deactivates their payment links; otherwise they are only listed.
	ArchiveMissing bool
}

// Plan reads the folder fsys (see Load), then Stripe and the container,
// and returns what a sync would change. Problems with the folder are one
// *InputError.
func (s *Syncer) Plan(ctx context.Context, fsys fs.FS, opts Options) (*Plan, error) {
	entries, err := Load(fsys, opts.Default)
	if err != nil {
		return nil, err
	}
	st, err := s.read(ctx, true)
	if err != nil {
		return nil, err
	}
	return plan(entries, st, opts.ArchiveMissing), nil
}

// plan computes the plan for entries over st.
func plan(entries []Entry, st state, archiveMissing bool) *Plan {
	p := &Plan{ArchiveMissing: archiveMissing, Items: []*Item{}, Missing: []*Item{}}
	products, renamed, gone := match(entries, st, p)
	for i, e := range entries {
		p.Items = append(p.Items, planFile(e, products[i], renamed[i], st))
	}
	for _, g := range gone {
		p.Missing = append(p.Missing, planGone(g, st, archiveMissing))
	}
	return p
}

// match finds each entry's product: the one that delivers its file, or,
// for a renamed file, the one whose gone original has the same content.
// gone are the active products, named by their metadata, whose file is not
// in the folder.
func match(entries []Entry, st state, p *Plan) (products []*stripeapi.Product, renamedFrom []string, gone []stripeapi.Product) {
	byOriginal := map[string][]stripeapi.Product{}
	for _, pr := range st.products {
		byOriginal[pr.Original()] = append(byOriginal[pr.Original()], pr)
	}
	products, renamedFrom = make([]*stripeapi.Product, len(entries)), make([]string, len(entries))
	inFolder := map[string]bool{}
	for i, e := range entries {
		inFolder[e.Path] = true
		if c := byOriginal[e.Path]; len(c) > 0 {
			products[i] = best(c, p)
		}
	}
	var candidates []stripeapi.Product
	for _, pr := range st.products {
		if pr.Metadata[stripeapi.OriginalKey] != "" && !inFolder[pr.Original()] {
			candidates = append(candidates, pr)
		}
	}
	// A renamed file: its content is the original of exactly one product
	// whose file is gone, and that original's content is no other new
	// file's.
	byFile, byProduct := map[int][]int{}, map[int][]int{}
	for i, e := range entries {
		for j, c := range candidates {
			if b, ok := st.blobs[c.Original()]; products[i] == nil && ok && sameContent(b, e.File) {
				byFile[i], byProduct[j] = append(byFile[i], j), append(byProduct[j], i)
			}
		}
	}
	taken := map[int]bool{}
	for i, js := range byFile {
		if len(js) == 1 && len(byProduct[js[0]]) == 1 {
			products[i], renamedFrom[i], taken[js[0]] = &candidates[js[0]], candidates[js[0]].Original(), true
		}
	}
	for j, c := range candidates {
		if !taken[j] && c.Active {
			gone = append(gone, c)
		}
	}
	slices.SortFunc(gone, func(a, b stripeapi.Product) int { return strings.Compare(a.Original(), b.Original()) })
	return products, renamedFrom, gone
}

// best is the product the sync keeps of several that deliver one file: an
// active one, then one that names its original, then the oldest. More than
// one is noted.
func best(c []stripeapi.Product, p *Plan) *stripeapi.Product {
	c = slices.Clone(c)
	slices.SortStableFunc(c, func(a, b stripeapi.Product) int {
		switch {
		case a.Active != b.Active:
			return boolOrder(a.Active)
		case (a.Metadata[stripeapi.OriginalKey] != "") != (b.Metadata[stripeapi.OriginalKey] != ""):
			return boolOrder(a.Metadata[stripeapi.OriginalKey] != "")
		case a.Created != b.Created:
			return cmp.Compare(a.Created, b.Created)
		}
		return strings.Compare(a.ID, b.ID)
	})
	if len(c) > 1 {
		ids := make([]string, len(c))
		for i, pr := range c {
			ids[i] = pr.ID
		}
		p.Notes = append(p.Notes, fmt.Sprintf("%d products deliver %s (%s): the sync keeps %s and leaves the others alone",
			len(c), c[0].Original(), strings.Join(ids, ", "), c[0].ID))
	}
	return &c[0]
}

func boolOrder(first bool) int {
	if first {
		return -1
	}
	return 1
}

// sameContent reports whether blob b holds the bytes of f, by the best hash
// the blob has.
func sameContent(b blobstore.Blob, f File) bool {
	switch {
	case b.SHA256 != "":
		return b.SHA256 == f.SHA256
	case b.MD5 != nil:
		return bytes.Equal(b.MD5, f.MD5)
	}
	return false
}

// lookupKey is the lookup key of the price the catalog sells a product at.
func lookupKey(productID string) string { return "filedrop:" + productID }
