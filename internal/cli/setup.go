package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

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
	cfg, app, _, err := loadSettingsWith(env, *local, config.LoadStorage)
	if err != nil {
		return describeConfigErrorLocalWith(env, *local, err, config.LoadStorage)
	}
	p, err := newPipeline(cfg, app, newLogger(cfg, env.Stderr))
	if err != nil {
		return err
	}
	made, err := p.setup(ctx)
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
		return p.uploadOriginals(ctx, *dir, env.Stdout)
	}
	return nil
}

// setup creates every queue function's queue and poison queue, the
// originals container and the ledger table when missing, and returns a line
// for each thing it made (none: everything existed). It is idempotent.
func (p *pipeline) setup(ctx context.Context) (made []string, err error) {
	for _, fn := range p.app.QueueFunctions() {
		for _, name := range []string{fn.Queue, fn.PoisonQueue()} {
			if name == "" {
				continue
			}
			created, err := p.queues.Create(ctx, name)
			if err != nil {
				return made, fmt.Errorf("setup: %w", err)
			}
			if created {
				made = append(made, "created queue "+name)
			}
		}
	}
	created, err := p.originals.CreateContainer(ctx)
	if err != nil {
		return made, fmt.Errorf("setup: %w", err)
	}
	if created {
		made = append(made, fmt.Sprintf("created container %s (private)", p.originals.Container()))
	}
	created, err = p.ledger.CreateTable(ctx)
	if err != nil {
		return made, fmt.Errorf("setup: %w", err)
	}
	if created {
		made = append(made, "created table "+p.cfg.Ledger.Table)
	}
	return made, nil
}

// uploadOriginals uploads the regular files of dir (not recursing) that the
// container lacks.
func (p *pipeline) uploadOriginals(ctx context.Context, dir string, out io.Writer) error {
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
	uploaded := 0
	for _, name := range names {
		exists, err := p.originals.Exists(ctx, name)
		if err != nil {
			return fmt.Errorf("upload %s: %w", name, err)
		}
		if exists {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if err := p.originals.Upload(ctx, name, data); err != nil {
			return fmt.Errorf("upload %s: %w", name, err)
		}
		uploaded++
		fmt.Fprintf(out, "uploaded %s to %s (%d bytes)\n", name, p.originals.Container(), len(data))
	}
	fmt.Fprintf(out, "originals: %s uploaded, %d already present\n", plural(uploaded, "file"), len(names)-uploaded)
	return nil
}
