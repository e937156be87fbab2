package order

// OriginalExt is the extension of the original of a product that names none:
// such a product delivers "<product id>.jpg".
const OriginalExt = ".jpg"

// OriginalOf returns the blob a product delivers: named, the product's
// metadata value "original", when it is set, else "<productID>.jpg".
// ProcessOrder fulfils an order by this rule and the catalog commands match
// products to files by it, so that both agree on what a product sells.
func OriginalOf(productID, named string) string {
	if named != "" {
		return named
	}
	return productID + OriginalExt
}
