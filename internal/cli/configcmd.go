package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/filedrop/filedrop/internal/config"
)

// runConfig shows the effective settings: where each comes from and its
// value, with every secret masked (config.Redact, which fails closed), the
// built-in default of each unset setting that has one, and whether they are
// valid.
func runConfig(ctx context.Context, env Env, args []string) error {
	fs := flags(env, "config", "config [--local] [--json] [--has NAME] [--get NAME]\n\nShows every setting the program reads, where its value comes from, and the\nvalue with secrets masked; exits 3 when the settings are invalid.")
	local := fs.Bool("local", false, "include handler local's embedded defaults")
	asJSON := fs.Bool("json", false, "print JSON")
	has := fs.String("has", "", "exit 0 if the setting NAME is set (environment or local.settings.json), 1 if not")
	getName := fs.String("get", "", "print the effective value of the setting NAME (refused for secrets)")
	if done, err := parse(fs, args); done {
		return err
	}
	values, err := config.LocalSettings(settingsFile(env))
	if err != nil {
		return &ExitError{Code: ExitConfig, Err: err}
	}
	if *has != "" {
		// Layered treats the example's placeholders as unset, so a copy of
		// local.settings.json.example still runs scripts/run.sh's demo.
		if config.Layered(env.Getenv, values)(*has) != "" {
			return nil
		}
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%s is not set", *has)}
	}
	get, err := settingsGetter(env, *local)
	if err != nil {
		return err
	}
	if *getName != "" {
		// Whether a setting may be printed is decided by its name (and, for a
		// URL, by whether it parses with no room for a credential), never by
		// whether masking changed it.
		v := get(*getName)
		if !config.Printable(*getName, v) {
			return usageErr("%s is a secret or can hold one; config --get does not print secrets (config shows it masked)", *getName)
		}
		fmt.Fprintln(env.Stdout, v)
		return nil
	}
	var defaults map[string]string
	if *local {
		defaults = localDefaults(appDir(env), config.Layered(env.Getenv, values))
	}
	var order []string
	seen := map[string]bool{}
	recording := func(k string) string {
		if !seen[k] {
			seen[k] = true
			order = append(order, k)
		}
		return get(k)
	}
	cfg, loadErr := config.Load(recording)
	var warnings []string
	if loadErr == nil {
		warnings = cfg.Warnings()
	}
	builtin := config.Defaults(get)
	type row struct {
		Name   string `json:"name"`
		Source string `json:"source"`
		Value  string `json:"value"`
		// Default is true when Value is the built-in default of an unset
		// setting.
		Default bool `json:"default,omitempty"`
	}
	var rows []row
	for _, k := range order {
		r := row{Name: k, Value: config.Redact(k, get(k))}
		switch {
		case env.Getenv(k) != "" && !config.Placeholder(k, env.Getenv(k)):
			r.Source = "environment"
		case values[k] != "" && !config.Placeholder(k, values[k]):
			r.Source = "local.settings.json"
		case defaults[k] != "":
			r.Source = "local default"
		case builtin[k] != "":
			r.Source = "unset"
			r.Value, r.Default = config.Redact(k, builtin[k]), true
		default:
			r.Source = "unset"
		}
		if config.Placeholder(k, env.Getenv(k)) || config.Placeholder(k, values[k]) {
			r.Source += " (example placeholder ignored)"
		}
		rows = append(rows, r)
	}
	if *asJSON {
		out := map[string]any{"settings": rows, "valid": loadErr == nil, "warnings": warnings}
		if loadErr != nil {
			out["error"] = loadErr.Error()
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SETTING\tSOURCE\tVALUE")
		for _, r := range rows {
			v := r.Value
			if r.Default {
				v += " (default)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, r.Source, v)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if loadErr != nil {
		return describeConfigErrorLocal(env, *local, loadErr)
	}
	if !*asJSON {
		fmt.Fprintln(env.Stdout, "\nThe settings are valid.")
		for _, w := range warnings {
			fmt.Fprintln(env.Stdout, "Warning: "+w)
		}
	}
	return nil
}
