package catalog_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/catalog"
	"github.com/filedrop/filedrop/internal/storage/blobstore"
	"github.com/filedrop/filedrop/internal/stripeapi"
	"github.com/filedrop/filedrop/internal/stripeapi/stripetest"
	"github.com/filedrop/filedrop/internal/testenv"
)

var quiet = slog.New(slog.DiscardHandler)

// rig is a folder, the stateful test Stripe and an originals container of
// its own on Azurite.
type rig struct {
	srv   *stripetest.Server
	blobs *blobstore.Originals
	sync  *catalog.Syncer
	dir   string
}

var containers atomic.Int64

func newRig(t *testing.T, az *testenv.Azurite) *rig {
	t.Helper()
	blobs, err := blobstore.New(az.Account(t), blobstore.Options{Container: fmt.Sprintf("originals-%d", containers.Add(1)), TTL: time.Hour}, time.Now)
	require.NoError(t, err)
	_, err = blobs.CreateContainer(context.Background())
	require.NoError(t, err)
	srv := stripetest.NewServer(t)
	return &rig{srv: srv, blobs: blobs, dir: t.TempDir(),
		sync: catalog.New(stripeapi.New(stripetest.Key, stripeapi.Options{APIURL: srv.URL}, quiet), blobs)}
}

// write puts files (path: content) into the folder; "" deletes one.
func (r *rig) write(t *testing.T, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(r.dir, filepath.FromSlash(name))
		if content == "" {
			require.NoError(t, os.Remove(p))
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

func (r *rig) plan(opts catalog.Options) (*catalog.Plan, error) {
	return r.sync.Plan(context.Background(), os.DirFS(r.dir), opts)
}

// run plans and applies, and returns the plan as applied.
func (r *rig) run(t *testing.T, opts catalog.Options) *catalog.Plan {
	t.Helper()
	p, err := r.plan(opts)
	require.NoError(t, err)
	require.NoError(t, r.sync.Apply(context.Background(), os.DirFS(r.dir), p, nil))
	return p
}

func (r *rig) item(t *testing.T, p *catalog.Plan, file string) *catalog.Item {
	t.Helper()
	for _, it := range slices.Concat(p.Items, p.Missing) {
		if it.File == file {
			return it
		}
	}
	t.Fatalf("no item %s in the plan", file)
	return nil
}

// active returns the ids of the active objects of kind.
func (r *rig) active(kind string) []string {
	var ids []string
	for _, o := range r.srv.Objects(kind) {
		if o["active"] == true {
			ids = append(ids, o["id"].(string))
		}
	}
	return ids
}

func (r *rig) object(t *testing.T, kind, id string) map[string]any {
	for _, o := range r.srv.Objects(kind) {
		if o["id"] == id {
			return o
		}
	}
	t.Fatalf("no %s %s", kind, id)
	return nil
}

func ops(it *catalog.Item) []catalog.Op {
	var out []catalog.Op
	for _, s := range it.Steps {
		out = append(out, s.Op)
	}
	return out
}

var eur = &catalog.Money{Amount: 1200, Currency: "eur"}

const sheet = "file,name,price,currency,description\n" +
	"harbour-at-dawn.jpg,Harbour at dawn,12.00,EUR,\"Morning light, 6000 x 4000 px\"\n" +
	"landscapes/dunes.jpg,Dunes,9.50,eur,\n" +
	"tokyo.jpg,Tokyo at night,1500,JPY,\n"

var photos = map[string]string{
	"harbour-at-dawn.jpg":  "\xff\xd8\xff harbour",
	"landscapes/dunes.jpg": "\xff\xd8\xff dunes",
	"tokyo.jpg":            "\xff\xd8\xff tokyo",
	".DS_Store":            "finder",
	"catalog.csv":          sheet,
}

// TestSync syncs folders against the stateful test Stripe, each with an
// originals container of its own in one Azurite.
func TestSync(t *testing.T) {
	az := testenv.StartAzurite(t)
	for _, tt := range []struct {
		name string
		test func(*testing.T, *testenv.Azurite)
	}{
		{"life of a folder", testLife},
		{"adopts a product made by hand", testAdoptsAProductMadeByHand},
		{"refuses a bad folder", testRefusesABadFolder},
		{"interrupted and repeated", testInterruptedAndRepeated},
		{"keys come from what is written", testKeysComeFromWhatIsWritten},
		{"check", testCheck},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.test(t, az) })
	}
}

// testLife runs the catalog's life against the stateful test Stripe and
// Azurite: a first run, a second that changes nothing, a price and a name
// changed, a file's content changed, a file renamed, a file removed and
// brought back.
func testLife(t *testing.T, az *testenv.Azurite) {
	ctx := context.Background()
	r := newRig(t, az)
	r.write(t, photos)

	// First run: a product, a price and a link per file, originals uploaded.
	p := r.run(t, catalog.Options{})
	require.Len(t, p.Items, 3)
	for _, it := range p.Items {
		require.Equal(t, catalog.StatusNew, it.Status, it.File)
		require.Equal(t, []catalog.Op{catalog.OpUpload, catalog.OpCreateProduct, catalog.OpCreatePrice, catalog.OpCreateLink}, ops(it), it.File)
		require.Equal(t, len(it.Steps), it.Applied)
		prod := r.object(t, "products", it.Product)
		require.Equal(t, it.File, prod["metadata"].(map[string]any)[stripeapi.OriginalKey], "the product names its original")
		price := r.object(t, "prices", it.PriceID)
		require.Equal(t, "filedrop:"+it.Product, price["lookup_key"])
		require.Equal(t, it.Product, price["product"])
		require.True(t, strings.HasPrefix(it.URL, r.srv.URL+"/buy/"), it.URL)
	}
	harbour := r.item(t, p, "harbour-at-dawn.jpg")
	require.Equal(t, "Morning light, 6000 x 4000 px", r.object(t, "products", harbour.Product)["description"])
	require.Equal(t, int64(1200), r.object(t, "prices", harbour.PriceID)["unit_amount"])
	require.Equal(t, int64(1500), r.object(t, "prices", r.item(t, p, "tokyo.jpg").PriceID)["unit_amount"], "JPY is zero-decimal: 1500 yen is 1500")
	blobs := map[string]blobstore.Blob{}
	require.NoError(t, r.blobs.List(ctx, func(b blobstore.Blob) error { blobs[b.Name] = b; return nil }))
	require.Len(t, blobs, 3, "dotfiles and catalog.csv are not originals")
	require.NotEmpty(t, blobs["landscapes/dunes.jpg"].SHA256)
	for _, key := range r.srv.IdempotencyKeys() {
		require.True(t, strings.HasPrefix(key, "filedrop-"), "a key of the catalog's, not stripe-go's random one: %s", key)
	}

	t.Run("a second run changes nothing", func(t *testing.T) {
		writes := r.srv.Writes()
		p := r.run(t, catalog.Options{})
		require.Zero(t, p.Changes())
		for _, it := range p.Items {
			require.Equal(t, catalog.StatusUnchanged, it.Status)
			require.Equal(t, r.item(t, p, it.File).URL, it.URL)
		}
		require.Equal(t, harbour.URL, r.item(t, p, "harbour-at-dawn.jpg").URL, "the same link")
		require.Equal(t, writes, r.srv.Writes())
	})

	csv := sheet
	edit := func(files map[string]string, old, new string) { // old "": append new
		if old == "" {
			csv += new
		} else {
			csv = strings.Replace(csv, old, new, 1)
		}
		files["catalog.csv"] = csv
		r.write(t, files)
	}

	t.Run("a changed price is a new price and a new link", func(t *testing.T) {
		edit(map[string]string{}, "12.00,EUR", "14.50,EUR")
		p := r.run(t, catalog.Options{})
		it := r.item(t, p, "harbour-at-dawn.jpg")
		require.Equal(t, catalog.StatusChanged, it.Status)
		require.Equal(t, []catalog.Op{catalog.OpCreatePrice, catalog.OpCreateLink, catalog.OpDeactivateLink, catalog.OpArchivePrice}, ops(it))
		require.Contains(t, it.Steps[0].Say, "create price 14.50 EUR (was 12.00 EUR, "+harbour.PriceID+")")
		require.Equal(t, harbour.Product, it.Product)
		require.NotEqual(t, harbour.PriceID, it.PriceID)
		require.NotEqual(t, harbour.URL, it.URL)
		require.Equal(t, "filedrop:"+it.Product, r.object(t, "prices", it.PriceID)["lookup_key"], "the lookup key moved to the new price")
		require.Nil(t, r.object(t, "prices", harbour.PriceID)["lookup_key"])
		require.Equal(t, false, r.object(t, "prices", harbour.PriceID)["active"])
		require.Equal(t, false, r.object(t, "payment_links", harbour.Link)["active"])
		require.Equal(t, true, r.object(t, "payment_links", it.Link)["active"])
		_, err := r.srv.Buy(harbour.URL, "jane@example.com")
		require.ErrorContains(t, err, "no longer active", "the old link sells nothing")
		for _, other := range []string{"landscapes/dunes.jpg", "tokyo.jpg"} {
			require.Equal(t, catalog.StatusUnchanged, r.item(t, p, other).Status)
		}
		harbour = it
	})

	t.Run("a changed name and description update the product", func(t *testing.T) {
		edit(map[string]string{}, "Dunes,9.50,eur,", "Dunes at noon,9.50,eur,Hot sand")
		p := r.run(t, catalog.Options{})
		it := r.item(t, p, "landscapes/dunes.jpg")
		require.Equal(t, []catalog.Op{catalog.OpUpdateProduct}, ops(it))
		require.Contains(t, it.Steps[0].Say, `name "Dunes" → "Dunes at noon", new description`)
		prod := r.object(t, "products", it.Product)
		require.Equal(t, "Dunes at noon", prod["name"])
		require.Equal(t, "Hot sand", prod["description"])
		require.Equal(t, 1, p.Changes(), "nothing else changed")
	})

	t.Run("a changed file is uploaded again, saying so", func(t *testing.T) {
		r.write(t, map[string]string{"tokyo.jpg": "\xff\xd8\xff tokyo, retouched"})
		p := r.run(t, catalog.Options{})
		it := r.item(t, p, "tokyo.jpg")
		require.Equal(t, []catalog.Op{catalog.OpReplace}, ops(it))
		require.Regexp(t, `^replace tokyo\.jpg: the file changed \(\d+ bytes, sha256 [0-9a-f]{12} → \d+ bytes, sha256 [0-9a-f]{12}\)$`, it.Steps[0].Say)
		require.Zero(t, r.run(t, catalog.Options{}).Changes(), "the new hash is recorded")
	})

	t.Run("a renamed file keeps its product, price and link", func(t *testing.T) {
		edit(map[string]string{"harbour-at-dawn.jpg": "", "harbour-dawn.jpg": photos["harbour-at-dawn.jpg"]}, "harbour-at-dawn.jpg", "harbour-dawn.jpg")
		dry, err := r.plan(catalog.Options{})
		require.NoError(t, err)
		p := r.run(t, catalog.Options{})
		require.Equal(t, dry.Changes(), p.Changes(), "the dry run's plan is the plan applied")
		it := r.item(t, p, "harbour-dawn.jpg")
		require.Equal(t, catalog.StatusRenamed, it.Status)
		require.Equal(t, "harbour-at-dawn.jpg", it.RenamedFrom)
		require.Equal(t, []catalog.Op{catalog.OpUpload, catalog.OpUpdateProduct}, ops(it))
		require.Contains(t, it.Steps[1].Say, "original harbour-at-dawn.jpg → harbour-dawn.jpg")
		require.Equal(t, harbour.Product, it.Product)
		require.Equal(t, harbour.URL, it.URL, "the link in the gallery keeps working")
		require.Equal(t, "harbour-dawn.jpg", r.object(t, "products", it.Product)["metadata"].(map[string]any)[stripeapi.OriginalKey])
		require.Empty(t, p.Missing)
	})

	t.Run("a removed file is listed, and archived on request", func(t *testing.T) {
		edit(map[string]string{"tokyo.jpg": ""}, "tokyo.jpg,Tokyo at night,1500,JPY,\n", "")
		writes := r.srv.Writes()
		p := r.run(t, catalog.Options{})
		require.Len(t, p.Missing, 1)
		gone := p.Missing[0]
		require.Equal(t, "tokyo.jpg", gone.File)
		require.Equal(t, catalog.StatusMissing, gone.Status)
		require.Empty(t, gone.Steps, "without ArchiveMissing it is left alone")
		require.NotEmpty(t, gone.URL)
		require.Equal(t, writes, r.srv.Writes())

		p = r.run(t, catalog.Options{ArchiveMissing: true})
		gone = p.Missing[0]
		require.Equal(t, []catalog.Op{catalog.OpDeactivateLink, catalog.OpArchiveProduct}, ops(gone))
		require.Equal(t, false, r.object(t, "products", gone.Product)["active"])
		require.Equal(t, false, r.object(t, "payment_links", gone.Link)["active"])
		require.Empty(t, r.run(t, catalog.Options{ArchiveMissing: true}).Missing, "an archived product is no longer missing")

		// Back in the folder: the product and its link come back.
		edit(map[string]string{"tokyo.jpg": "\xff\xd8\xff tokyo, retouched"}, "", "tokyo.jpg,Tokyo at night,1500,JPY,\n")
		p = r.run(t, catalog.Options{})
		back := r.item(t, p, "tokyo.jpg")
		require.Equal(t, []catalog.Op{catalog.OpUpdateProduct, catalog.OpActivateLink}, ops(back))
		require.Equal(t, gone.URL, back.URL, "the same link, active again")
		require.Equal(t, true, r.object(t, "products", back.Product)["active"])
	})

	// Every file has one active product, one active price and one active
	// link; nothing was duplicated.
	require.Len(t, r.active("products"), 3)
	require.Len(t, r.active("prices"), 3)
	require.Len(t, r.active("payment_links"), 3)
	require.Len(t, r.srv.Objects("products"), 3)
}

// testAdoptsAProductMadeByHand: a product made in the Dashboard with
// the photo's id as its id and no metadata delivers "<id>.jpg"; the sync
// finds it by that rule, names its original, keeps its name and its
// default price, and sells it with a new link; a changed price then moves
// its default price before the old one is archived.
func testAdoptsAProductMadeByHand(t *testing.T, az *testenv.Azurite) {
	r := newRig(t, az)
	r.srv.AddProduct("IMG_2041", "Harbour, first light", nil, 1200, "eur")
	old := r.srv.Objects("prices")[0]["id"].(string)
	r.write(t, map[string]string{"IMG_2041.jpg": "\xff\xd8\xff harbour"})

	p := r.run(t, catalog.Options{Default: eur})
	it := r.item(t, p, "IMG_2041.jpg")
	require.Equal(t, []catalog.Op{catalog.OpUpload, catalog.OpUpdateProduct, catalog.OpCreateLink}, ops(it))
	require.Contains(t, it.Steps[1].Say, "name its original IMG_2041.jpg in its metadata")
	require.Equal(t, "IMG_2041", it.Product)
	require.Equal(t, old, it.PriceID, "its own price is kept")
	prod := r.object(t, "products", "IMG_2041")
	require.Equal(t, "Harbour, first light", prod["name"], "a name derived from the file does not overwrite one given by hand")
	require.Equal(t, "IMG_2041.jpg", prod["metadata"].(map[string]any)[stripeapi.OriginalKey])
	require.Zero(t, r.run(t, catalog.Options{Default: eur}).Changes())

	p = r.run(t, catalog.Options{Default: &catalog.Money{Amount: 1500, Currency: "eur"}})
	it = r.item(t, p, "IMG_2041.jpg")
	require.Equal(t, []catalog.Op{catalog.OpCreatePrice, catalog.OpUpdateProduct, catalog.OpCreateLink, catalog.OpDeactivateLink, catalog.OpArchivePrice}, ops(it))
	require.Contains(t, it.Steps[1].Say, "make the new price its default")
	require.Equal(t, it.PriceID, r.object(t, "products", "IMG_2041")["default_price"])
	require.Equal(t, false, r.object(t, "prices", old)["active"])
}

// testRefusesABadFolder: every problem of catalog.csv is reported with
// its line, and nothing is uploaded or written to Stripe.
func testRefusesABadFolder(t *testing.T, az *testenv.Azurite) {
	r := newRig(t, az)
	r.write(t, map[string]string{"harbour.jpg": "h", "dunes.jpg": "d", "Fern.jpg": "f", "catalog.csv": "file,name,price,currency\n" +
		"harbour.jpg,Harbour,12.00,EUR\n" +
		"fern.jpg,Fern,9.00,EUR\n" +
		"dunes.jpg,Dunes,9.5.0,EUR\n" +
		"harbour.jpg,Harbour again,12.00,EUR\n" +
		"Fern.jpg,Fern,9.00,EURO\n"})
	_, err := r.plan(catalog.Options{})
	var ie *catalog.InputError
	require.ErrorAs(t, err, &ie)
	var got []string
	for _, p := range ie.Problems {
		got = append(got, p.String())
	}
	require.Equal(t, []string{
		`catalog.csv line 3: file "fern.jpg" is not in the folder; did you mean "Fern.jpg"?`,
		`catalog.csv line 4: price "9.5.0" is not a decimal number such as 12.50 (digits, at most one '.', no sign, no thousands separator)`,
		`catalog.csv line 5: file "harbour.jpg" is already on line 2`,
		`catalog.csv line 6: currency "EURO" is not one Stripe charges in (a three-letter ISO code such as EUR, USD or JPY)`,
	}, got)
	require.Zero(t, r.srv.Writes())
	require.NoError(t, r.blobs.List(context.Background(), func(b blobstore.Blob) error {
		t.Errorf("uploaded %s", b.Name)
		return nil
	}))
}

// testInterruptedAndRepeated interrupts a sync after each of its Stripe
// writes in turn, as a crash right after Stripe applied the write would (the
// answer never arrives, and nothing more does), then runs it again: the
// repeated run finishes the work, and the catalog it leaves is the one an
// uninterrupted run leaves, with no object made twice. It does so for a
// first sync, and for a sync that changes a price, reprices a product made
// by hand, and archives a product whose file left the folder.
func testInterruptedAndRepeated(t *testing.T, az *testenv.Azurite) {
	first := map[string]string{"a.jpg": "a", "b.jpg": "b", "catalog.csv": "file,name,price,currency\na.jpg,A,5.00,usd\nb.jpg,B,7.00,usd\n"}
	scenarios := []struct {
		name   string
		before func(t *testing.T, r *rig)
		files  map[string]string
		opts   catalog.Options
		writes int
	}{
		{name: "a first sync", files: first, writes: 6},
		{name: "a repricing sync",
			before: func(t *testing.T, r *rig) {
				r.srv.AddProduct("IMG_1", "By hand", nil, 1200, "eur")
				r.write(t, first)
				r.write(t, map[string]string{"IMG_1.jpg": "i"})
				r.run(t, catalog.Options{Default: eur})
			},
			files: map[string]string{"b.jpg": "", "catalog.csv": "file,name,price,currency\na.jpg,A,6.00,usd\n"},
			opts:  catalog.Options{Default: &catalog.Money{Amount: 1500, Currency: "eur"}, ArchiveMissing: true}, writes: 11},
	}
	setUp := func(t *testing.T, sc int) *rig {
		r := newRig(t, az)
		if scenarios[sc].before != nil {
			scenarios[sc].before(t, r)
		}
		r.write(t, scenarios[sc].files)
		return r
	}
	for sc, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			whole := setUp(t, sc)
			before := whole.srv.Writes()
			whole.run(t, s.opts)
			require.Equal(t, s.writes, whole.srv.Writes()-before)
			want := shape(t, whole)
			for n := 1; n <= s.writes; n++ {
				r := setUp(t, sc)
				r.srv.LoseAnswer(n, true)
				p, err := r.plan(s.opts)
				require.NoError(t, err)
				require.Error(t, r.sync.Apply(context.Background(), os.DirFS(r.dir), p, nil), "after write %d", n)
				r.srv.Up()
				r.run(t, s.opts)
				require.Zero(t, r.run(t, s.opts).Changes(), "after write %d", n)
				require.Equal(t, want, shape(t, r), "after write %d", n)
			}
		})
	}

	t.Run("a lost answer is asked again under the same key", func(t *testing.T) {
		r := setUp(t, 0)
		r.srv.LoseAnswer(2, false) // the first price: stripe-go asks again, and Stripe answers from the key
		r.run(t, catalog.Options{})
		require.Equal(t, 6, r.srv.Writes(), "the repeat was answered from its idempotency key, not applied again")
		keys := r.srv.IdempotencyKeys()
		require.Len(t, keys, 7)
		require.Equal(t, keys[1], keys[2], "the repeat carried the same key")
	})
}

// shape is the catalog of r as a seller sees it, by original: whether the
// product is active, the prices it is sold at, its default price, and what
// its active links sell; and how many objects of each kind exist.
func shape(t *testing.T, r *rig) map[string]string {
	t.Helper()
	prices := map[string]map[string]any{}
	for _, p := range r.srv.Objects("prices") {
		prices[p["id"].(string)] = p
	}
	money := func(id any) string {
		if p, ok := prices[fmt.Sprint(id)]; ok {
			return fmt.Sprintf("%v %v active=%v", p["unit_amount"], p["currency"], p["active"])
		}
		return "none"
	}
	out := map[string]string{}
	for _, kind := range []string{"products", "prices", "payment_links"} {
		out[kind] = fmt.Sprint(len(r.srv.Objects(kind)))
	}
	for _, p := range r.srv.Objects("products") {
		var sold, links []string
		for id, pr := range prices {
			if pr["product"] == p["id"] && pr["active"] == true {
				sold = append(sold, money(id))
			}
		}
		for _, l := range r.srv.Objects("payment_links") {
			if items := l["items"].([]map[string]any); l["active"] == true && prices[items[0]["price"].(string)]["product"] == p["id"] {
				links = append(links, money(items[0]["price"]))
			}
		}
		slices.Sort(sold)
		slices.Sort(links)
		named := fmt.Sprint(p["metadata"].(map[string]any)[stripeapi.OriginalKey])
		out[named] = fmt.Sprintf("active=%v sold at %v, default %s, links sell %v", p["active"], sold, money(p["default_price"]), links)
	}
	return out
}

// testKeysComeFromWhatIsWritten: two runs that write the same
// things to two fresh accounts send the same keys, and every write has its
// own.
func testKeysComeFromWhatIsWritten(t *testing.T, az *testenv.Azurite) {
	var runs [2][]string
	for i := range runs {
		r := newRig(t, az)
		r.write(t, photos)
		r.run(t, catalog.Options{})
		runs[i] = r.srv.IdempotencyKeys()
	}
	require.Equal(t, runs[0], runs[1])
	require.Len(t, runs[0], 9)
	slices.Sort(runs[0])
	require.Len(t, slices.Compact(runs[0]), 9, "no two writes share a key")
}

// testCheck: after a sync the catalog is clean; then a product made by hand
// whose original is not uploaded, a product without a price, and an
// original nobody sells are each reported; an archived product is not.
func testCheck(t *testing.T, az *testenv.Azurite) {
	ctx := context.Background()
	r := newRig(t, az)
	r.write(t, photos)
	p := r.run(t, catalog.Options{})
	rep, err := r.sync.Check(ctx)
	require.NoError(t, err)
	require.Zero(t, rep.Problems(), "%+v", rep)
	require.Equal(t, 3, rep.Products)
	require.Equal(t, 3, rep.Originals)

	r.write(t, map[string]string{"tokyo.jpg": "", "catalog.csv": strings.Replace(sheet, "tokyo.jpg,Tokyo at night,1500,JPY,\n", "", 1)})
	r.run(t, catalog.Options{ArchiveMissing: true})
	r.srv.AddProduct("IMG_0001", "Typo", map[string]string{stripeapi.OriginalKey: "harbour-at-dawn.jgp"}, 900, "eur")
	r.srv.AddProduct("IMG_0002", "No price yet", nil, 0, "")
	require.NoError(t, r.blobs.Upload(ctx, "forgotten.jpg", []byte("f")))

	rep, err = r.sync.Check(ctx)
	require.NoError(t, err)
	require.Equal(t, []catalog.ProductRef{
		{Product: "IMG_0002", Name: "No price yet", Original: "IMG_0002.jpg"},
		{Product: "IMG_0001", Name: "Typo", Original: "harbour-at-dawn.jgp", Named: true},
	}, rep.MissingOriginal)
	require.Equal(t, []catalog.ProductRef{{Product: "IMG_0002", Name: "No price yet", Original: "IMG_0002.jpg"}}, rep.NoActivePrice)
	require.Equal(t, []string{"forgotten.jpg", "tokyo.jpg"}, rep.Unsold, "the archived product's original is sold by no product")
	require.Equal(t, 4, rep.Products)
	require.NotEmpty(t, r.item(t, p, "tokyo.jpg").Product)
}
