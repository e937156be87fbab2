package cli

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/filedrop/filedrop/internal/app"
	"github.com/filedrop/filedrop/internal/catalog"
	"github.com/filedrop/filedrop/internal/order"
)

// runCatalog runs a catalog sub-command.
func runCatalog(ctx context.Context, env Env, args []string) error {
	return runVerb(ctx, env, "catalog", []verb{
		{"sync", "sell the files of a folder: products, prices and payment links in Stripe", runCatalogSync},
		{"check", "list products whose original is missing or that have no price, and originals nobody sells", runCatalogCheck},
	}, args)
}

const catalogSyncUsage = `catalog sync <dir> [--price 12.50 --currency EUR] [--dry-run] [--archive-missing] [--local] [--json | --html]

Sells every file of <dir> (and its sub-folders; not dotfiles): uploads each
original to the originals container when it is missing or changed, and keeps
a Stripe product (metadata.original names the file), a price and a payment
link for it. <dir>/catalog.csv, when present, has a row per file:
  file,name,price,currency[,description]
Files without a row, and rows without a price, sell at --price --currency.
Every problem of catalog.csv is reported, with its line, before anything
changes. A changed price is a new Price and a new payment link (the old ones
are archived and deactivated); a renamed file keeps its product and link.
Run it again whenever the folder changes: with nothing changed it changes
nothing. Products of files no longer in the folder are listed, and with
--archive-missing archived. Exits 5 when --dry-run finds changes to make.
See docs/catalog.md.`

// syncOutput is what catalog sync prints with --json; the names are a
// stable contract for scripts.
type syncOutput struct {
	StripeMode string `json:"stripe_mode"`
	Container  string `json:"container"`
	DryRun     bool   `json:"dry_run"`
	Changes    int    `json:"changes"`
	*catalog.Plan
}

func runCatalogSync(ctx context.Context, env Env, args []string) error {
	op := newOperation(env, "catalog sync", catalogSyncUsage, true)
	price := op.fs.String("price", "", "price of the files without one in catalog.csv, such as 12.50")
	currency := op.fs.String("currency", "", "currency of --price, such as EUR")
	dryRun := op.fs.Bool("dry-run", false, "print the plan and change nothing (exit 5 if it would change anything)")
	archive := op.fs.Bool("archive-missing", false, "archive the products of files no longer in the folder, and deactivate their links")
	asHTML := op.fs.Bool("html", false, "print the payment links as an HTML snippet to paste into a gallery page")
	var dir string
	var def *catalog.Money
	check := func(rest []string) (err error) {
		switch {
		case len(rest) != 1:
			return usageErr("catalog sync takes one folder, got %q", rest)
		case *asHTML && *op.asJSON:
			return usageErr("--html and --json exclude each other")
		}
		dir = rest[0]
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			return usageErr("catalog sync: %s is not a folder", dir)
		}
		def, err = defaultPrice(*price, *currency)
		return err
	}
	return op.run(env, args, check, func(p *app.Pipeline, out printer) error {
		if err := refuseDemo(p); err != nil {
			return err
		}
		sy, fsys := p.Catalog(), os.DirFS(dir)
		plan, err := sy.Plan(ctx, fsys, catalog.Options{Default: def, ArchiveMissing: *archive})
		if ie := (*catalog.InputError)(nil); errors.As(err, &ie) {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("catalog sync %s: %w", dir, err)}
		}
		if err != nil {
			return catalogFailure(fmt.Errorf("catalog sync: %w", err))
		}
		res := &syncOutput{StripeMode: stripeMode(p.Config().Stripe, false), Container: sy.Container(), DryRun: *dryRun, Changes: plan.Changes(), Plan: plan}
		if !*dryRun && res.Changes > 0 {
			prog := newProgress(env.Stderr)
			n := 0
			err = sy.Apply(ctx, fsys, plan, func(*catalog.Item) {
				n++
				prog.step(func() string {
					return fmt.Sprintf("catalog: %d of %d files synced", n, len(plan.Items)+len(plan.Missing))
				})
			})
		}
		switch {
		case *asHTML:
			err = errors.Join(err, printBuyLinks(out.out, res))
		default:
			err = errors.Join(err, out.print(res, func(w io.Writer) { printSync(w, res) }))
		}
		switch {
		case err != nil:
			return catalogFailure(fmt.Errorf("catalog sync: %w\n(run it again to finish: nothing done is done twice)", err))
		case *dryRun && res.Changes > 0:
			return &ExitError{Code: ExitMismatch, Err: fmt.Errorf("dry run: %s to make; run without --dry-run to make them", plural(res.Changes, "change"))}
		}
		return nil
	})
}

// catalogFailure is err as the command's failure: a Stripe key that is
// refused, or lacks a permission, is the settings' fault (ExitConfig).
func catalogFailure(err error) error {
	if _, ok := order.MisconfiguredSetting(err); ok {
		return &ExitError{Code: ExitConfig, Err: err}
	}
	return err
}

// defaultPrice is --price in --currency, or nil when neither is given.
func defaultPrice(price, currency string) (*catalog.Money, error) {
	if price == "" && currency == "" {
		return nil, nil
	}
	if price == "" || currency == "" {
		return nil, usageErr("--price and --currency go together")
	}
	cur, err := catalog.ParseCurrency(currency)
	if err != nil {
		return nil, usageErr("--currency: %v", err)
	}
	amount, err := catalog.ParseAmount(price, cur)
	if err != nil {
		return nil, usageErr("--price: %v", err)
	}
	return &catalog.Money{Amount: amount, Currency: cur}, nil
}

// refuseDemo refuses the demo's Stripe (stripe-mock), which keeps nothing
// it is sent: a catalog needs a Stripe account.
func refuseDemo(p *app.Pipeline) error {
	if p.Config().Stripe.APIKey.Reveal() != DemoStripeKey {
		return nil
	}
	return &ExitError{Code: ExitConfig, Err: errors.New("the catalog needs a Stripe account: with no STRIPE_API_KEY, handler local's demo " +
		"Stripe is stripe-mock, which keeps nothing; put a test key (sk_test_... or rk_test_...) in local.settings.json (see docs/catalog.md)")}
}

func printSync(w io.Writer, res *syncOutput) {
	fmt.Fprintf(w, "Stripe %s mode, container %s\n", res.StripeMode, res.Container)
	fmt.Fprintln(w, "FILE\tSTATUS\tPRODUCT\tPRICE\tPAYMENT LINK")
	row := func(it *catalog.Item) {
		status := string(it.Status)
		if it.RenamedFrom != "" {
			status += " from " + it.RenamedFrom
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", it.File, status, orNew(it.Product), it.Price, orNew(it.URL))
	}
	for _, it := range res.Items {
		row(it)
	}
	if len(res.Missing) > 0 {
		if res.ArchiveMissing {
			fmt.Fprintln(w, "No longer in the folder (archived):")
		} else {
			fmt.Fprintln(w, "No longer in the folder (left alone; --archive-missing archives them):")
		}
		for _, it := range res.Missing {
			row(it)
		}
	}
	for _, n := range res.Notes {
		fmt.Fprintf(w, "Note: %s\n", n)
	}
	if res.Changes == 0 {
		fmt.Fprintln(w, "Nothing to change: Stripe and the container match the folder.")
		return
	}
	if res.DryRun {
		fmt.Fprintf(w, "Dry run: %s planned, nothing changed:\n", plural(res.Changes, "change"))
	} else {
		fmt.Fprintln(w, "Changes:")
	}
	for _, it := range slices.Concat(res.Items, res.Missing) {
		for i, st := range it.Steps {
			state := ""
			if !res.DryRun && i >= it.Applied {
				state = " (not done)"
			}
			fmt.Fprintf(w, "  %s: %s%s\n", it.File, st.Say, state)
		}
	}
}

func orNew(id string) string {
	if id == "" {
		return "(new)"
	}
	return id
}

// printBuyLinks writes the payment links as HTML a seller pastes into a
// gallery page; a file without a link yet (a dry run) is left out.
func printBuyLinks(w io.Writer, res *syncOutput) error {
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- Buy links made by handler catalog sync (Stripe %s mode): paste each beside its photo. -->\n", res.StripeMode)
	b.WriteString("<ul class=\"filedrop-buy-links\">\n")
	for _, it := range res.Items {
		if it.URL != "" {
			fmt.Fprintf(&b, "  <li><a href=\"%s\" data-file=\"%s\">Buy %s (%s)</a></li>\n",
				html.EscapeString(it.URL), html.EscapeString(it.File), html.EscapeString(it.Name), it.Price)
		}
	}
	b.WriteString("</ul>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// checkOutput is what catalog check prints with --json.
type checkOutput struct {
	StripeMode string `json:"stripe_mode"`
	Container  string `json:"container"`
	catalog.Report
}

func runCatalogCheck(ctx context.Context, env Env, args []string) error {
	op := newOperation(env, "catalog check", "catalog check [--local] [--json]\n\nReads the Stripe catalog and the originals container and lists every active\nproduct whose original is missing (a buyer would get no file), every active\nproduct with no active price, and every original no active product sells.\nExits 5 when it finds any.", false)
	check := func(rest []string) error {
		if len(rest) > 0 {
			return usageErr("catalog check takes no arguments, got %q", rest)
		}
		return nil
	}
	return op.run(env, args, check, func(p *app.Pipeline, out printer) error {
		if err := refuseDemo(p); err != nil {
			return err
		}
		sy := p.Catalog()
		rep, err := sy.Check(ctx)
		if err != nil {
			return catalogFailure(fmt.Errorf("catalog check: %w", err))
		}
		res := checkOutput{StripeMode: stripeMode(p.Config().Stripe, false), Container: sy.Container(), Report: rep}
		if err := out.print(res, func(w io.Writer) { printCheck(w, res) }); err != nil {
			return err
		}
		if n := rep.Problems(); n > 0 {
			return &ExitError{Code: ExitMismatch, Err: fmt.Errorf("catalog check: %s", plural(n, "problem"))}
		}
		return nil
	})
}

func printCheck(w io.Writer, res checkOutput) {
	fmt.Fprintf(w, "Stripe %s mode: %s; container %s: %s\n", res.StripeMode, plural(res.Products, "active product"),
		res.Container, plural(res.Originals, "original"))
	products := func(title, hint string, refs []catalog.ProductRef) {
		if len(refs) == 0 {
			return
		}
		fmt.Fprintf(w, "%s (%s):\n", title, hint)
		for _, r := range refs {
			named := r.Original
			if !r.Named {
				named += " (no metadata.original: its id + .jpg)"
			}
			fmt.Fprintf(w, "  %s\t%q\t%s\n", r.Product, r.Name, named)
		}
	}
	products("Products whose original is not in the container", "a buyer gets no file: upload it, or fix metadata.original", res.MissingOriginal)
	products("Products with no active price", "nobody can buy them", res.NoActivePrice)
	if len(res.Unsold) > 0 {
		fmt.Fprintln(w, "Originals no active product sells:")
		for _, name := range res.Unsold {
			fmt.Fprintf(w, "  %s\n", name)
		}
	}
	if res.Problems() == 0 {
		fmt.Fprintln(w, "No problems found.")
	}
}
