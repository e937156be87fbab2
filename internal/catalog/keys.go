package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/filedrop/filedrop/internal/stripeapi"
)

// idempotencyKey is the Idempotency-Key of one Stripe write: a hash of the
// operation and of every value the write sends or depends on, including
// the object it replaces (the old price a new one replaces) and the
// version of the product it read (its updated time). So the same write of
// a run repeated after an interruption has the same key, and Stripe answers
// it once within its 24 hours of keeping keys; and two different writes,
// such as a price changed back to an earlier amount, never share a key,
// which would have Stripe answer the earlier write's result again instead
// of making the change.
func idempotencyKey(op string, parts ...string) string {
	h := sha256.New()
	fmt.Fprintf(h, "filedrop catalog v1\x00%s", op)
	for _, p := range parts {
		fmt.Fprintf(h, "\x00%d:%s", len(p), p) // length-prefixed: no two lists encode alike
	}
	return "filedrop-" + op + "-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// fieldsKey is the parts of a product write's key for its fields.
func fieldsKey(f stripeapi.ProductFields) []string {
	desc := "\x00unchanged"
	if f.Description != nil {
		desc = *f.Description
	}
	return []string{f.Name, desc, f.Original, strconv.FormatBool(f.Active), f.DefaultPrice}
}
