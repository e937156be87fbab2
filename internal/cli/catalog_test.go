package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/stripeapi/stripetest"
)

// gallery is a photographer's folder: three originals and their
// catalog.csv.
var gallery = map[string]string{
	"harbour-at-dawn.jpg":  "\xff\xd8\xff harbour",
	"landscapes/dunes.jpg": "\xff\xd8\xff dunes",
	"tokyo.jpg":            "\xff\xd8\xff tokyo",
	"catalog.csv": "file,name,price,currency,description\n" +
		"harbour-at-dawn.jpg,Harbour at dawn,12.00,EUR,Morning light\n" +
		"landscapes/dunes.jpg,Dunes,9.50,EUR,\n" +
		"tokyo.jpg,Tokyo <at> night,1500,JPY,\n",
}

func writeFolder(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

// TestCatalogCommands runs catalog sync and catalog check as a seller does,
// against the stateful test Stripe and Azurite: usage errors, a bad
// catalog.csv, a dry run, a sync, a second sync, the HTML snippet, and the
// check before and after a mistake made by hand.
func TestCatalogCommands(t *testing.T) {
	srv := stripetest.NewServer(t)
	o := newOps(t, map[string]string{"STRIPE_API_KEY": stripetest.Key, "STRIPE_API_URL": srv.URL})
	dir := writeFolder(t, gallery)

	t.Run("usage", func(t *testing.T) {
		tests := []struct {
			args []string
			code int
			err  string
		}{
			{args: []string{"catalog"}, code: ExitUsage, err: "catalog needs a sub-command"},
			{args: []string{"catalog", "sync"}, code: ExitUsage, err: "catalog sync takes one folder"},
			{args: []string{"catalog", "sync", filepath.Join(dir, "nope")}, code: ExitUsage, err: "is not a folder"},
			{args: []string{"catalog", "sync", dir, "--price", "12"}, code: ExitUsage, err: "--price and --currency go together"},
			{args: []string{"catalog", "sync", dir, "--price", "12,50", "--currency", "eur"}, code: ExitUsage, err: `--price: price "12,50" is not a decimal number`},
			{args: []string{"catalog", "sync", dir, "--price", "12", "--currency", "euro"}, code: ExitUsage, err: `--currency: currency "euro"`},
			{args: []string{"catalog", "sync", dir, "--json", "--html"}, code: ExitUsage, err: "exclude each other"},
			{args: []string{"catalog", "check", "x"}, code: ExitUsage, err: "catalog check takes no arguments"},
		}
		for _, tt := range tests {
			_, _, err := o.run(t, tt.args...)
			require.Equal(t, tt.code, exitCode(err), "%v: %v", tt.args, err)
			require.ErrorContains(t, err, tt.err)
		}
		require.Zero(t, srv.Writes())
	})

	t.Run("a bad catalog.csv changes nothing", func(t *testing.T) {
		bad := maps.Clone(gallery)
		bad["catalog.csv"] = "file,name,price,currency\nharbour-at-dawn.jpg,Harbour,12.00,EUR\nharbour-at-dawn.jpg,Again,12.00,EUR\ndunes.jpg,Dunes,9.5,EUR\n"
		_, _, err := o.run(t, "catalog", "sync", writeFolder(t, bad))
		require.Equal(t, ExitUsage, exitCode(err))
		for _, want := range []string{
			`catalog.csv line 3: file "harbour-at-dawn.jpg" is already on line 2`,
			`catalog.csv line 4: file "dunes.jpg" is not in the folder`,
			"landscapes/dunes.jpg: has no row in catalog.csv and no default price is given",
			"tokyo.jpg: has no row in catalog.csv",
		} {
			require.ErrorContains(t, err, want)
		}
		require.Zero(t, srv.Writes())
	})

	t.Run("a dry run prints the plan", func(t *testing.T) {
		stdout, _, err := o.run(t, "catalog", "sync", dir, "--dry-run")
		require.Equal(t, ExitMismatch, exitCode(err), "%v", err)
		require.Contains(t, stdout, "Dry run: 12 changes planned, nothing changed:")
		require.Contains(t, stdout, "  tokyo.jpg: create price 1500 JPY\n")
		require.Regexp(t, `landscapes/dunes\.jpg\s+new\s+\(new\)\s+9\.50 EUR\s+\(new\)`, stdout)
		require.Zero(t, srv.Writes())
	})

	var synced syncOutput
	t.Run("sync", func(t *testing.T) {
		stdout, stderr, err := o.run(t, "catalog", "sync", dir, "--json")
		require.NoError(t, err, stderr)
		require.NoError(t, json.Unmarshal([]byte(stdout), &synced), stdout)
		require.Equal(t, "test", synced.StripeMode)
		require.Equal(t, "originals", synced.Container)
		require.Equal(t, 12, synced.Changes)
		require.Len(t, synced.Items, 3)
		for _, it := range synced.Items {
			require.Equal(t, "new", string(it.Status))
			require.True(t, strings.HasPrefix(it.URL, srv.URL+"/buy/"), it.URL)
			require.Equal(t, len(it.Steps), it.Applied)
		}
	})

	t.Run("a second sync changes nothing", func(t *testing.T) {
		writes := srv.Writes()
		stdout, _, err := o.run(t, "catalog", "sync", dir)
		require.NoError(t, err)
		require.Contains(t, stdout, "Stripe test mode, container originals\n")
		require.Contains(t, stdout, "Nothing to change: Stripe and the container match the folder.")
		require.Regexp(t, `tokyo\.jpg\s+unchanged\s+prod_\w+\s+1500 JPY\s+`+srv.URL+`/buy/plink_\w+`, stdout)
		require.Equal(t, writes, srv.Writes())
	})

	t.Run("the buy links as HTML", func(t *testing.T) {
		stdout, _, err := o.run(t, "catalog", "sync", dir, "--html")
		require.NoError(t, err)
		require.Contains(t, stdout, `<a href="`+synced.Items[0].URL+`" data-file="harbour-at-dawn.jpg">Buy Harbour at dawn (12.00 EUR)</a>`)
		require.Contains(t, stdout, `>Buy Tokyo &lt;at&gt; night (1500 JPY)</a>`, "names are escaped")
		require.True(t, strings.HasPrefix(stdout, "<!-- Buy links made by handler catalog sync (Stripe test mode)"), stdout)
		require.NotContains(t, stdout, "Nothing to change", "only the snippet")
	})

	t.Run("check", func(t *testing.T) {
		stdout, _, err := o.run(t, "catalog", "check")
		require.NoError(t, err)
		require.Contains(t, stdout, "Stripe test mode: 3 active products; container originals: 3 originals\nNo problems found.\n")

		srv.AddProduct("IMG_0001", "Made by hand", nil, 900, "eur")
		stdout, _, err = o.run(t, "catalog", "check")
		require.Equal(t, ExitMismatch, exitCode(err), "%v", err)
		require.Contains(t, stdout, "Products whose original is not in the container (a buyer gets no file: upload it, or fix metadata.original):\n")
		require.Regexp(t, `IMG_0001\s+"Made by hand"\s+IMG_0001\.jpg \(no metadata\.original: its id \+ \.jpg\)`, stdout)
		stdout, _, _ = o.run(t, "catalog", "check", "--json")
		var rep checkOutput
		require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
		require.Len(t, rep.MissingOriginal, 1)
		require.Empty(t, rep.Unsold)
	})

	t.Run("a refused key is the settings' fault", func(t *testing.T) {
		wrong := &ops{settings: maps.Clone(o.settings), dir: o.dir}
		wrong.settings["STRIPE_API_KEY"] = "sk_test_NotTheFixtureKey"
		for _, cmd := range [][]string{{"catalog", "sync", dir}, {"catalog", "check"}} {
			_, _, err := wrong.run(t, cmd...)
			require.Equal(t, ExitConfig, exitCode(err), "%v", err)
			require.ErrorContains(t, err, "Stripe refused STRIPE_API_KEY")
		}
	})

	t.Run("the demo Stripe is refused", func(t *testing.T) {
		demo := &ops{settings: maps.Clone(o.settings), dir: o.dir}
		demo.settings["STRIPE_API_KEY"], demo.settings["STRIPE_API_URL"] = DemoStripeKey, DemoStripeURL
		_, _, err := demo.run(t, "catalog", "sync", dir)
		require.Equal(t, ExitConfig, exitCode(err))
		require.ErrorContains(t, err, "the catalog needs a Stripe account")
	})
}

// TestCatalogSaleEndToEnd sells a folder and buys from it: catalog sync
// makes the payment links, a customer pays through one of them on the test
// Stripe, the signed webhook of that Checkout Session runs the whole
// pipeline in handler local, and the mail's order page downloads the file
// that link sold.
func TestCatalogSaleEndToEnd(t *testing.T) {
	srv := stripetest.NewServer(t)
	o := newOps(t, map[string]string{"STRIPE_API_KEY": stripetest.Key, "STRIPE_API_URL": srv.URL})
	delete(o.settings, "PUBLIC_BASE_URL") // handler local uses its own address
	stdout, stderr, err := o.run(t, "catalog", "sync", writeFolder(t, gallery), "--json", "--local")
	require.NoError(t, err, stderr)
	var synced syncOutput
	require.NoError(t, json.Unmarshal([]byte(stdout), &synced))
	var link string
	for _, it := range synced.Items {
		if it.File == "landscapes/dunes.jpg" {
			link = it.URL
		}
	}
	session, err := srv.Buy(link, "jane.doe@example.com")
	require.NoError(t, err)

	local, base := startLocal(t, o.settings)
	_, stderr, err = o.run(t, "simulate", "checkout", "--session", session, "--url", base+"/api/CheckoutComplete")
	require.NoError(t, err, stderr)
	waitFor(t, local, "the mail of "+session, func() bool { return o.sent(t, session) == 1 })
	raw, err := os.ReadFile(filepath.Join(o.settings["EMAIL_OUTBOX_DIR"], order.MailKey(session, order.MailDownloadLinks, 1)+".eml"))
	require.NoError(t, err)
	eml, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
	require.NoError(t, err)
	require.Contains(t, string(eml), "jane.doe@example.com")
	require.Contains(t, string(eml), "Dunes", "the mail names what was bought")
	page := orderLink.FindString(string(eml))
	require.NotEmpty(t, page, "the mail links to the order page:\n%s", eml)

	file, got := downloadFirst(t, page)
	require.Equal(t, gallery["landscapes/dunes.jpg"], string(got), "the file the link sold")
	require.Contains(t, file.Header.Get("Content-Disposition"), "dunes.jpg")
	rec := o.record(t, session)
	require.Equal(t, []string{"landscapes/dunes.jpg"}, []string{rec.Files[0].Blob})
	local.stop(t)
}
