package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/filedrop/filedrop"
	"github.com/filedrop/filedrop/internal/config"
	"github.com/filedrop/filedrop/internal/functions"
)

// loadSettings reads local.settings.json (when present; the environment
// wins), validates every setting, and loads the app's function files. With
// local set, handler local's embedded defaults fill what neither sets.
func loadSettings(env Env, local bool) (config.Config, functions.App, config.Getenv, error) {
	return loadSettingsWith(env, local, config.Load)
}

// loader is config.Load or config.LoadStorage.
type loader func(config.Getenv) (config.Config, error)

// loadSettingsWith is loadSettings with the settings read and validated by
// load.
func loadSettingsWith(env Env, local bool, load loader) (config.Config, functions.App, config.Getenv, error) {
	get, err := settingsGetter(env, local)
	if err != nil {
		return config.Config{}, functions.App{}, nil, err
	}
	cfg, err := load(get)
	if err != nil {
		return cfg, functions.App{}, get, &ExitError{Code: ExitConfig, Err: err}
	}
	fns, err := functions.LoadApp(filedrop.AppFiles, get)
	if err != nil {
		return cfg, fns, get, &ExitError{Code: ExitConfig, Err: err}
	}
	return cfg, fns, get, nil
}

// settingsGetter layers the environment over local.settings.json and, with
// local set, over handler local's defaults.
func settingsGetter(env Env, local bool) (config.Getenv, error) {
	values, err := config.LocalSettings(settingsFile(env))
	if err != nil {
		return nil, &ExitError{Code: ExitConfig, Err: err}
	}
	get := config.Layered(env.Getenv, values)
	if local {
		get = config.Layered(get, localDefaults(appDir(env), get))
	}
	return get, nil
}

// newLogger builds the program's one logger. Under the Functions host,
// stdout lines are logged at Information and stderr lines at Error.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// describeConfigError adds a hint for a person to a configuration error.
func describeConfigError(err error) error {
	var ce *config.Error
	if !errors.As(err, &ce) {
		return err
	}
	var b strings.Builder
	b.WriteString(ce.Error())
	b.WriteString("\n\nSettings come from the environment and from local.settings.json (Values); see local.settings.json.example and the README.")
	return &ExitError{Code: ExitConfig, Err: fmt.Errorf("%s", b.String())}
}

// describeConfigErrorLocal is describeConfigError for a command that takes
// --local: run without it, and with settings that handler local's defaults
// would make valid, the error ends with the hint to add --local.
func describeConfigErrorLocal(env Env, local bool, err error) error {
	return describeConfigErrorLocalWith(env, local, err, config.Load)
}

// describeConfigErrorLocalWith is describeConfigErrorLocal for a command
// whose settings load reads and validates.
func describeConfigErrorLocalWith(env Env, local bool, err error, load loader) error {
	described := describeConfigError(err)
	var ce *config.Error
	if local || !errors.As(err, &ce) {
		return described
	}
	get, gerr := settingsGetter(env, true)
	if gerr != nil {
		return described
	}
	if _, lerr := load(get); lerr != nil {
		return described
	}
	return &ExitError{Code: ExitConfig, Err: fmt.Errorf("%w\nOn this machine, add --local to use handler local's defaults (Azurite, the outbox, the demo Stripe) for the unset settings", described)}
}
