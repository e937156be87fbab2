package catalog

import (
	"fmt"
	"slices"
	"strings"

	"github.com/filedrop/filedrop/internal/storage/blobstore"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// planFile plans the file of e, sold by prod (nil: none yet), which was
// renamed from renamedFrom ("": not renamed). The steps come in an order
// in which every state between two of them is one a repeated run repairs:
// the original before the product that names it, the new price before the
// product points at it, the new link before the old one is deactivated,
// and that before its price is archived.
func planFile(e Entry, prod *stripeapi.Product, renamedFrom string, st state) *Item {
	it := &Item{File: e.Path, Name: e.Name, Price: e.Price, RenamedFrom: renamedFrom, entry: e}
	planBlob(it, st.blobs)
	if prod == nil {
		it.add(Step{Op: OpCreateProduct, Say: fmt.Sprintf("create product %q", e.Name),
			fields: stripeapi.ProductFields{Name: e.Name, Description: e.Description, Original: e.Path, Active: true}})
		it.add(Step{Op: OpCreatePrice, Say: "create price " + e.Price.String()})
		it.add(Step{Op: OpCreateLink, Say: "create payment link"})
		it.Status = StatusNew
		return it
	}
	it.Product, it.version = prod.ID, prod.Updated
	if !e.NameGiven && prod.Name != nameOf(prod.Original()) {
		it.Name = prod.Name // renamed by hand: a name derived from the file does not overwrite it
	}
	cur, keep := currentPrice(*prod, st.prices[prod.ID], e.Price)
	archive := map[string]stripeapi.Price{}
	if keep {
		it.PriceID = cur.ID
	} else {
		say, target := "create price "+e.Price.String(), ""
		if cur != nil {
			say, target = fmt.Sprintf("%s (was %s, %s)", say, money(*cur), cur.ID), cur.ID
			archive[cur.ID] = *cur
		}
		it.add(Step{Op: OpCreatePrice, Target: target, Say: say})
	}
	for _, p := range st.prices[prod.ID] {
		// A price of the catalog's other than the current one, or the one
		// the current one replaced: left active by an interrupted run.
		if p.ID != it.PriceID && (p.Metadata[stripeapi.OriginalKey] != "" || cur != nil && p.ID == cur.Metadata[ReplacesKey]) {
			archive[p.ID] = p
		}
	}
	_, defaultArchived := archive[prod.DefaultPrice]
	planProduct(it, e, *prod, defaultArchived)
	planLinks(it, prod.ID, st.links, archive)
	for _, p := range sortedPrices(archive) {
		it.add(Step{Op: OpArchivePrice, Target: p.ID, Say: fmt.Sprintf("archive price %s (%s)", p.ID, money(p))})
	}
	switch {
	case renamedFrom != "":
		it.Status = StatusRenamed
	case len(it.Steps) == 0:
		it.Status = StatusUnchanged
	default:
		it.Status = StatusChanged
	}
	return it
}

// planBlob adds the upload of the file when the container lacks it or
// holds other content under its name.
func planBlob(it *Item, blobs map[string]blobstore.Blob) {
	f := it.entry.File
	b, ok := blobs[f.Path]
	switch {
	case !ok:
		it.add(Step{Op: OpUpload, Say: fmt.Sprintf("upload %s (%s)", f.Path, size(f.Size))})
	case b.SHA256 != "" || b.MD5 != nil:
		if !sameContent(b, f) {
			it.add(Step{Op: OpReplace, ifMatch: b.ETag, Say: fmt.Sprintf("replace %s: the file changed (%s, %s → %s, %s)",
				f.Path, size(b.Size), short(b.SHA256, b.MD5), size(f.Size), short(f.SHA256, nil))})
		}
	case b.Size != f.Size:
		it.add(Step{Op: OpReplace, ifMatch: b.ETag, Say: fmt.Sprintf("replace %s: the file changed (%s → %s)", f.Path, size(b.Size), size(f.Size))})
	default:
		it.add(Step{Op: OpReplace, ifMatch: b.ETag, Say: fmt.Sprintf("replace %s: the container's copy has no content hash to compare; "+
			"uploading it again records one", f.Path)})
	}
}

// ReplacesKey is the metadata key of a price the catalog creates that names
// the price it replaces, so that a run interrupted before archiving that one
// still finds it, whoever made it.
const ReplacesKey = "replaces"

// currentPrice is the price the catalog sells prod at: its active price
// with the catalog's lookup key, else its default price when that is an
// active one-time price (a product made by hand). keep reports whether it
// is want.
func currentPrice(prod stripeapi.Product, active []stripeapi.Price, want Money) (cur *stripeapi.Price, keep bool) {
	for i, p := range active {
		if p.LookupKey == lookupKey(prod.ID) {
			cur = &active[i]
		}
	}
	for i, p := range active {
		if cur == nil && p.ID == prod.DefaultPrice && p.OneTime {
			cur = &active[i]
		}
	}
	return cur, cur != nil && cur.OneTime && cur.Currency == want.Currency && cur.UnitAmount == want.Amount
}

// planProduct adds the update of the product when its name, description,
// original or active flag differ from the entry's, or its default price is
// archived.
func planProduct(it *Item, e Entry, prod stripeapi.Product, defaultArchived bool) {
	var changes []string
	if prod.Name != it.Name {
		changes = append(changes, fmt.Sprintf("name %q → %q", prod.Name, it.Name))
	}
	if e.Description != nil && *e.Description != prod.Description {
		changes = append(changes, "new description")
	}
	switch named := prod.Metadata[stripeapi.OriginalKey]; {
	case named == "":
		changes = append(changes, fmt.Sprintf("name its original %s in its metadata", e.Path))
	case named != e.Path:
		changes = append(changes, fmt.Sprintf("original %s → %s", named, e.Path))
	}
	if !prod.Active {
		changes = append(changes, "reactivate it (it was archived)")
	}
	if defaultArchived {
		changes = append(changes, "make the new price its default")
	}
	if len(changes) == 0 {
		return
	}
	it.add(Step{Op: OpUpdateProduct, Target: prod.ID, setDefault: defaultArchived,
		Say:    fmt.Sprintf("update product %s: %s", prod.ID, strings.Join(changes, ", ")),
		fields: stripeapi.ProductFields{Name: it.Name, Description: e.Description, Original: e.Path, Active: true}})
}

// planLinks keeps, reactivates or creates the payment link of the item's
// price, and deactivates the product's active links to archived prices.
func planLinks(it *Item, product string, links []stripeapi.PaymentLink, archive map[string]stripeapi.Price) {
	if it.PriceID != "" {
		var inactive *stripeapi.PaymentLink
		for i, l := range links {
			switch {
			case !sells(l, it.PriceID):
			case l.Active:
				it.Link, it.URL = l.ID, l.URL
			case inactive == nil:
				inactive = &links[i]
			}
			if it.Link != "" {
				break
			}
		}
		if it.Link == "" && inactive != nil {
			it.Link, it.URL = inactive.ID, inactive.URL
			it.add(Step{Op: OpActivateLink, Target: inactive.ID, Say: "reactivate payment link " + inactive.ID})
		}
	}
	if it.Link == "" {
		it.add(Step{Op: OpCreateLink, Say: "create payment link"})
	}
	for _, l := range links {
		if l.Active && l.ID != it.Link && stale(l, product, archive) {
			it.add(Step{Op: OpDeactivateLink, Target: l.ID, Say: fmt.Sprintf("deactivate payment link %s (%s): its price is archived", l.ID, l.URL)})
		}
	}
}

// sells reports whether the link sells exactly one unit of price and
// nothing else.
func sells(l stripeapi.PaymentLink, price string) bool {
	return len(l.Items) == 1 && !l.MoreItems && l.Items[0].Price.ID == price && l.Items[0].Quantity == 1
}

// stale reports whether the link sells a price of product that is archived
// or about to be.
func stale(l stripeapi.PaymentLink, product string, archive map[string]stripeapi.Price) bool {
	for _, li := range l.Items {
		if _, archived := archive[li.Price.ID]; li.Price.Product == product && (archived || !li.Price.Active) {
			return true
		}
	}
	return false
}

// planGone lists the product whose file left the folder, with its price and
// link, and with archive the steps that stop selling it.
func planGone(prod stripeapi.Product, st state, archive bool) *Item {
	it := &Item{File: prod.Original(), Name: prod.Name, Product: prod.ID, Status: StatusMissing, version: prod.Updated}
	if cur, _ := currentPrice(prod, st.prices[prod.ID], Money{}); cur != nil {
		it.Price, it.PriceID = Money{Amount: cur.UnitAmount, Currency: cur.Currency}, cur.ID
	}
	for _, l := range st.links {
		if !l.Active || !sellsProduct(l, prod.ID) {
			continue
		}
		if it.Link == "" {
			it.Link, it.URL = l.ID, l.URL
		}
		if archive {
			it.add(Step{Op: OpDeactivateLink, Target: l.ID, Say: fmt.Sprintf("deactivate payment link %s (%s)", l.ID, l.URL)})
		}
	}
	if archive {
		it.add(Step{Op: OpArchiveProduct, Target: prod.ID, Say: fmt.Sprintf("archive product %s (%q): its file left the folder", prod.ID, prod.Name)})
	}
	return it
}

func sellsProduct(l stripeapi.PaymentLink, product string) bool {
	for _, li := range l.Items {
		if li.Price.Product == product {
			return true
		}
	}
	return false
}

func money(p stripeapi.Price) string {
	return Money{Amount: p.UnitAmount, Currency: p.Currency}.String()
}

// short is a hash for people: the first 12 hex digits of the SHA-256, else
// of the MD5.
func short(sha string, md5 []byte) string {
	if sha == "" {
		return fmt.Sprintf("md5 %.12x", md5)
	}
	return "sha256 " + sha[:min(12, len(sha))]
}

// size is n bytes for people.
func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// sortedPrices is the prices of m by id.
func sortedPrices(m map[string]stripeapi.Price) []stripeapi.Price {
	out := make([]stripeapi.Price, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b stripeapi.Price) int { return strings.Compare(a.ID, b.ID) })
	return out
}
