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
// wins), validates every setting, and loads the app's function files.
func loadSettings(env Env) (config.Config, functions.App, config.Getenv, error) {
	values, err := config.LocalSettings(settingsFile(env))
	if err != nil {
		return config.Config{}, functions.App{}, nil, &ExitError{Code: ExitConfig, Err: err}
	}
	get := config.Layered(env.Getenv, values)
	cfg, err := config.Load(get)
	if err != nil {
		return cfg, functions.App{}, get, &ExitError{Code: ExitConfig, Err: err}
	}
	app, err := functions.LoadApp(filedrop.AppFiles, get)
	if err != nil {
		return cfg, app, get, &ExitError{Code: ExitConfig, Err: err}
	}
	return cfg, app, get, nil
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
