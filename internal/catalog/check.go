package catalog

import (
	"context"
	"slices"
	"strings"

	"github.com/filedrop/filedrop/internal/stripeapi"
)

// ProductRef names a product in a Report.
type ProductRef struct {
	Product string `json:"product"`
	Name    string `json:"name"`
	// Original is the blob the product delivers; Named is false when the
	// product does not name it and delivers "<product id>.jpg".
	Original string `json:"original"`
	Named    bool   `json:"named"`
}

// Report is what Check found.
type Report struct {
	// Products counts the active products, Originals the blobs.
	Products  int `json:"products"`
	Originals int `json:"originals"`
	// MissingOriginal are the active products whose original is not in the
	// container: a customer who buys one gets no file.
	MissingOriginal []ProductRef `json:"missing_original"`
	// NoActivePrice are the active products with no active price: nobody
	// can buy them.
	NoActivePrice []ProductRef `json:"no_active_price"`
	// Unsold are the originals that no active product delivers.
	Unsold []string `json:"unsold_originals"`
}

// Problems counts what the report found.
func (r Report) Problems() int { return len(r.MissingOriginal) + len(r.NoActivePrice) + len(r.Unsold) }

// Check reads the Stripe catalog and the container and reports the active
// products whose original is missing, the originals no active product
// delivers, and the active products without an active price. Every product
// of the account counts: one that is not filedrop's delivers "<id>.jpg" all
// the same if someone buys it with the pipeline listening.
func (s *Syncer) Check(ctx context.Context) (Report, error) {
	st, err := s.read(ctx, false)
	if err != nil {
		return Report{}, err
	}
	r := Report{Originals: len(st.blobs), MissingOriginal: []ProductRef{}, NoActivePrice: []ProductRef{}, Unsold: []string{}}
	sold := map[string]bool{}
	for _, p := range st.products {
		if !p.Active {
			continue
		}
		r.Products++
		ref := ProductRef{Product: p.ID, Name: p.Name, Original: p.Original(), Named: p.Metadata[stripeapi.OriginalKey] != ""}
		sold[ref.Original] = true
		if _, ok := st.blobs[ref.Original]; !ok {
			r.MissingOriginal = append(r.MissingOriginal, ref)
		}
		if len(st.prices[p.ID]) == 0 {
			r.NoActivePrice = append(r.NoActivePrice, ref)
		}
	}
	for name := range st.blobs {
		if !sold[name] {
			r.Unsold = append(r.Unsold, name)
		}
	}
	byOriginal := func(a, b ProductRef) int { return strings.Compare(a.Original, b.Original) }
	slices.SortFunc(r.MissingOriginal, byOriginal)
	slices.SortFunc(r.NoActivePrice, byOriginal)
	slices.Sort(r.Unsold)
	return r, nil
}
