// Package config loads filedrop's settings once, from the environment and,
// when present, the Values of local.settings.json (the environment wins), and
// validates all of them up front. Every error names the setting and says what
// is wrong with it, so a person can act on it.
//
// Each concern keeps its settings in a file of its own (stripe.go, storage.go,
// mail.go, ...) as a struct and a load function that reads through a
// *loader; Load calls them all and joins every problem into one error.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of the program.
type Config struct {
	Stripe  Stripe
	Storage Storage
	Links   Links
	// Download is the order page (the Download function).
	Download Download
	Mail     Mail
	Ledger   Ledger
	// Retry and Reconcile are how the pipeline heals after an outage.
	Retry     Retry
	Reconcile Reconcile
	// Events are the order events and their sinks (signed webhooks,
	// Dataverse); off when no sink is configured.
	Events Events
	// LogLevel is LOG_LEVEL: debug, info (default), warn or error.
	LogLevel string
	// LogFormat is LOG_FORMAT: text (default) or json.
	LogFormat string
}

// Getenv looks a setting up; "" means unset.
type Getenv func(string) string

// Load reads and validates every setting through get. A setting that
// still holds local.settings.json.example's placeholder counts as unset.
func Load(get Getenv) (Config, error) {
	c, l := loadAll(get)
	return c, l.err()
}

// LoadStorage reads and validates only the settings of the storage account
// and of what lives in it (AzureWebJobsStorage and its identity settings,
// ORIGINALS_CONTAINER, DOWNLOAD_LINK_TTL, DOWNLOAD_BASE_URL, LEDGER_TABLE)
// and the log settings. It is for commands that touch nothing else, such as
// handler setup run from an operator's machine that holds none of the app's
// secrets. The fields of the other concerns are left zero.
func LoadStorage(get Getenv) (Config, error) {
	l := newLoader(get)
	var c Config
	c.Storage = loadStorage(l)
	c.Links = loadLinks(l, c.Storage)
	c.Ledger = loadLedger(l)
	c.loadLogging(l)
	return c, l.err()
}

// Warnings says what valid settings c still leave wanting, for handler
// config to show: nothing stops the program, but a customer would notice.
func (c Config) Warnings() []string {
	var w []string
	if c.Mail.Sender != "" && c.Mail.Support == "" {
		w = append(w, "SUPPORT_EMAIL and EMAIL_REPLY_TO are unset: the mails and the order page name no address a customer can write to "+
			"(EMAIL_SENDER is often a DoNotReply@ address nobody reads); set SUPPORT_EMAIL to your support address")
	}
	return w
}

// Defaults returns, for every setting get leaves unset that has a built-in
// default, the value Load uses in its place, written as a person would set
// it (720h, not 720h0m0s).
func Defaults(get Getenv) map[string]string {
	_, l := loadAll(get)
	return l.defaults
}

func loadAll(get Getenv) (Config, *loader) {
	l := newLoader(get)
	var c Config
	c.Stripe = loadStripe(l)
	c.Storage = loadStorage(l)
	c.Links = loadLinks(l, c.Storage)
	c.Download = loadDownload(l, c.Storage)
	c.Mail = loadMail(l)
	c.Ledger = loadLedger(l)
	c.Retry = loadRetry(l)
	c.Reconcile = loadReconcile(l)
	c.Events = loadEvents(l)
	c.loadLogging(l)
	return c, l
}

// loadLogging reads LOG_LEVEL and LOG_FORMAT.
func (c *Config) loadLogging(l *loader) {
	c.LogLevel = l.oneOf("LOG_LEVEL", "info", "debug", "info", "warn", "error")
	c.LogFormat = l.oneOf("LOG_FORMAT", "text", "text", "json")
}

// Error lists every problem found in the settings.
type Error struct{ Problems []error }

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("invalid configuration:")
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap returns the problems.
func (e *Error) Unwrap() []error { return e.Problems }

// loader reads settings and collects problems, and the built-in defaults
// it used.
type loader struct {
	get      Getenv
	errs     []error
	defaults map[string]string
}

func newLoader(get Getenv) *loader {
	return &loader{get: get, defaults: map[string]string{}}
}

// err returns every problem found, or nil.
func (l *loader) err() error {
	if len(l.errs) > 0 {
		return &Error{Problems: l.errs}
	}
	return nil
}

// str returns the trimmed setting or def. A placeholder counts as unset.
func (l *loader) str(name, def string) string {
	if v := strings.TrimSpace(l.get(name)); v != "" && !Placeholder(name, v) {
		return v
	}
	l.defaulted(name, def)
	return def
}

// defaulted records that the unset setting name stands for def.
func (l *loader) defaulted(name, def string) {
	if def != "" && l.defaults != nil {
		l.defaults[name] = def
	}
}

// required returns the setting, recording a problem (with the hint) when unset.
func (l *loader) required(name, hint string) string {
	v := l.str(name, "")
	if v == "" {
		l.problem(name, "is required: %s", hint)
	}
	return v
}

// problem records that setting name is wrong.
func (l *loader) problem(name, format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf("%s %s", name, fmt.Sprintf(format, args...)))
}

func (l *loader) boolean(name string, def bool) bool {
	v := l.str(name, "")
	if v == "" {
		l.defaulted(name, strconv.FormatBool(def))
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		l.problem(name, "must be true or false, not %q", v)
		return def
	}
	return b
}

func (l *loader) duration(name string, def time.Duration) time.Duration {
	v := l.str(name, "")
	if v == "" {
		l.defaulted(name, FormatDuration(def))
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		l.problem(name, "must be a positive duration such as 720h or 90m, not %q", v)
		return def
	}
	return d
}

func (l *loader) oneOf(name, def string, allowed ...string) string {
	v := strings.ToLower(l.str(name, def))
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	l.problem(name, "must be one of %s, not %q", strings.Join(allowed, ", "), v)
	return def
}

// FormatDuration writes d as a person would set it: 720h rather than
// 720h0m0s.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// LocalSettings reads the Values of a local.settings.json file. A missing
// file gives an empty map and no error.
func LocalSettings(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	var f struct {
		IsEncrypted bool
		Values      map[string]any
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.IsEncrypted {
		return nil, fmt.Errorf("%s: IsEncrypted is true; decrypt it with func settings decrypt", path)
	}
	vals := make(map[string]string, len(f.Values))
	for k, v := range f.Values {
		switch v := v.(type) {
		case string:
			vals[k] = v
		case nil:
		default:
			vals[k] = fmt.Sprint(v)
		}
	}
	return vals, nil
}

// Layered returns a Getenv that reads env first and falls back to values.
// A placeholder (see Placeholder) counts as unset in either, so that the
// next layer, such as handler local's demo defaults, applies.
func Layered(env Getenv, values map[string]string) Getenv {
	return func(k string) string {
		if v := env(k); v != "" && !Placeholder(k, v) {
			return v
		}
		if v := values[k]; !Placeholder(k, v) {
			return v
		}
		return ""
	}
}

// Names lists the settings in values, sorted; for messages that must not
// print the values themselves.
func Names(values map[string]string) []string {
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
