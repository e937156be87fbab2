package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/filedrop/filedrop/internal/app"
	"github.com/filedrop/filedrop/internal/config"
)

// runSetup creates what the pipeline needs and is missing, and can upload
// originals from a folder.
func runSetup(ctx context.Context, env Env, args []string) error {
	fs := flags(env, "setup", "setup [--local] [--originals DIR]\n\nCreates the queues, their poison queues, the originals container (private) and\nthe ledger table when missing. Idempotent: says what it created. With\n--originals, uploads every file of DIR that the container does not have yet.\nNeeds only the storage settings: with AzureWebJobsStorage__accountName and no\n__credential or __clientId, your own Azure CLI login is used.")
	local := fs.Bool("local", false, "use handler local's defaults (Azurite, the demo Stripe) for unset settings")
	dir := fs.String("originals", "", "folder of originals to upload (files already in the container are left alone)")
	if done, err := parse(fs, args); done {
		return err
	}
	// Setup needs only the storage settings, so that an operator can run it
	// with nothing but the account's name and an Azure CLI login.
	cfg, fns, _, err := loadSettingsWith(env, *local, config.LoadStorage)
	if err != nil {
		return describeConfigErrorLocalWith(env, *local, err, config.LoadStorage)
	}
	p, err := app.New(cfg, fns, newLogger(cfg, env.Stderr))
	if err != nil {
		return err
	}
	made, err := p.Setup(ctx)
	for _, line := range made {
		fmt.Fprintln(env.Stdout, line)
	}
	if err != nil {
		return err
	}
	if len(made) == 0 {
		fmt.Fprintln(env.Stdout, "setup: everything already exists")
	}
	if *dir != "" {
		return uploadOriginals(ctx, p, *dir, env.Stdout)
	}
	return nil
}

// uploadOriginals uploads the regular files of dir (not recursing) that the
// originals container lacks, saying so for each.
func uploadOriginals(ctx context.Context, p *app.Pipeline, dir string, out io.Writer) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return usageErr("--originals: %v", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	uploaded, err := p.UploadOriginals(ctx, dir, names, func(name string, size int) {
		fmt.Fprintf(out, "uploaded %s to %s (%d bytes)\n", name, p.OriginalsContainer(), size)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "originals: %s uploaded, %d already present\n", plural(uploaded, "file"), len(names)-uploaded)
	return nil
}
