package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/filedrop/filedrop/internal/config"
)

// runConfig shows the effective settings: where each comes from and its
// value, with every secret masked, and whether they are valid.
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
		v := get(*getName)
		if mask(*getName, v) != v {
			return usageErr("%s is a secret; config --get does not print secrets", *getName)
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
	_, loadErr := config.Load(recording)
	type row struct {
		Name   string `json:"name"`
		Source string `json:"source"`
		Value  string `json:"value"`
	}
	var rows []row
	for _, k := range order {
		r := row{Name: k, Value: mask(k, get(k))}
		switch {
		case env.Getenv(k) != "":
			r.Source = "environment"
		case values[k] != "":
			r.Source = "local.settings.json"
		case defaults[k] != "":
			r.Source = "local default"
		default:
			r.Source = "unset (built-in default applies)"
		}
		rows = append(rows, r)
	}
	if *asJSON {
		out := map[string]any{"settings": rows, "valid": loadErr == nil}
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
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, r.Source, r.Value)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if loadErr != nil {
		return describeConfigError(loadErr)
	}
	if !*asJSON {
		fmt.Fprintln(env.Stdout, "\nThe settings are valid.")
	}
	return nil
}

var secretName = regexp.MustCompile(`(?i)(SECRET|KEY|PASSWORD|CONNECTION_STRING|AzureWebJobsStorage$)`)

// mask hides secrets: whole values of secret settings (but a prefix that
// tells the kind, such as sk_test_), passwords in URLs, and account keys
// in connection strings.
func mask(name, v string) string {
	switch {
	case v == "", strings.EqualFold(v, "UseDevelopmentStorage=true"):
		return v
	case strings.Contains(v, "AccountKey=") || strings.Contains(strings.ToLower(v), "accesskey="):
		return regexp.MustCompile(`(?i)(accountkey|accesskey)=[^;]*`).ReplaceAllString(v, "$1=****")
	case secretName.MatchString(name):
		return config.Secret(v).String()
	}
	if u, err := url.Parse(v); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "****")
			return strings.Replace(u.String(), "%2A%2A%2A%2A", "****", 1)
		}
	}
	return v
}
