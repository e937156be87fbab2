// Package functions speaks the Azure Functions custom-handler protocol: it
// reads the app's host.json and function.json files, decodes the invocations
// the host POSTs (every shape the real host sends), answers them the way the
// host needs (application/json, never empty), and classifies a stage's error
// into acknowledge, re-schedule or retry. It imports no storage or Azure
// package; package hostemu plays the host's part for local runs.
package functions

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// App is the Functions app as its files describe it.
type App struct {
	// FunctionTimeout is host.json functionTimeout; 0 when it is -1
	// (unbounded, allowed on the Premium and Dedicated plans).
	FunctionTimeout time.Duration
	// Queues is host.json extensions.queues.
	Queues QueueSettings
	// Functions by folder name.
	Functions map[string]Function
}

// QueueSettings are the queue trigger's host.json settings, with the
// extension's defaults for what the file leaves out.
type QueueSettings struct {
	MessageEncoding    string
	MaxDequeueCount    int
	VisibilityTimeout  time.Duration
	MaxPollingInterval time.Duration
	BatchSize          int
}

// Function is one function folder's function.json.
type Function struct {
	Name string
	// Trigger is the trigger binding's type: httpTrigger, queueTrigger or
	// timerTrigger.
	Trigger string
	// Binding is the trigger binding's name (the key under Data).
	Binding string
	// Queue is the queueName of a queue trigger.
	Queue string
	// Connection is the queue trigger's connection setting name.
	Connection string
	// DataType is the trigger's dataType ("binary" for the queue functions).
	DataType string
	// Methods are an HTTP trigger's methods, lower case.
	Methods []string
	// Route is an HTTP trigger's route template (download/{*rest}); "" means
	// the function's name. The host serves it under /api/.
	Route string
	// Bindings counts all bindings (forwarding needs exactly two).
	Bindings int
	// Schedule is a timer trigger's NCRONTAB schedule, resolved when it
	// names a setting (%Setting%) that getenv knows; ScheduleSetting is that
	// setting's name ("" for a literal schedule), so that the caller can
	// apply the setting's default when it is unset.
	Schedule        string
	ScheduleSetting string
	// RunOnStartup is a timer trigger's runOnStartup: run once when the
	// host starts (Reconcile's is false).
	RunOnStartup bool
}

// PoisonQueue returns the queue a message goes to after maxDequeueCount
// failed deliveries, or "" when the name would be too long.
func (f Function) PoisonQueue() string {
	if f.Queue == "" || len(f.Queue)+len("-poison") > 63 {
		return ""
	}
	return f.Queue + "-poison"
}

// QueueFunctions returns the queue-triggered functions, sorted by name.
func (a App) QueueFunctions() []Function { return a.triggeredBy("queueTrigger") }

// TimerFunctions returns the timer-triggered functions, sorted by name.
func (a App) TimerFunctions() []Function { return a.triggeredBy("timerTrigger") }

// triggeredBy returns the functions whose trigger is trigger, sorted by name.
func (a App) triggeredBy(trigger string) []Function {
	var fns []Function
	for _, f := range a.Functions {
		if f.Trigger == trigger {
			fns = append(fns, f)
		}
	}
	sort.Slice(fns, func(i, j int) bool { return fns[i].Name < fns[j].Name })
	return fns
}

// QueueOf returns the queue name of the named queue-triggered function.
func (a App) QueueOf(function string) (string, error) {
	f, ok := a.Functions[function]
	if !ok || f.Queue == "" {
		return "", fmt.Errorf("function %s has no queue trigger in its function.json", function)
	}
	return f.Queue, nil
}

// LoadApp reads host.json and every */function.json of fsys. A queueName of
// the form %Setting% is resolved through getenv.
func LoadApp(fsys fs.FS, getenv func(string) string) (App, error) {
	var host struct {
		Version         string `json:"version"`
		FunctionTimeout string `json:"functionTimeout"`
		Extensions      struct {
			Queues struct {
				MessageEncoding    *string `json:"messageEncoding"`
				MaxDequeueCount    *int    `json:"maxDequeueCount"`
				VisibilityTimeout  *string `json:"visibilityTimeout"`
				MaxPollingInterval *string `json:"maxPollingInterval"`
				BatchSize          *int    `json:"batchSize"`
			} `json:"queues"`
		} `json:"extensions"`
	}
	b, err := fs.ReadFile(fsys, "host.json")
	if err != nil {
		return App{}, fmt.Errorf("read host.json: %w", err)
	}
	if err := json.Unmarshal(b, &host); err != nil {
		return App{}, fmt.Errorf("host.json: %w", err)
	}
	if host.Version != "2.0" {
		return App{}, fmt.Errorf("host.json: version is %q, want 2.0", host.Version)
	}
	app := App{
		FunctionTimeout: 5 * time.Minute,
		Queues: QueueSettings{MessageEncoding: "base64", MaxDequeueCount: 5,
			MaxPollingInterval: time.Minute, BatchSize: 16},
		Functions: map[string]Function{},
	}
	q := host.Extensions.Queues
	switch host.FunctionTimeout {
	case "": // the default, 5 minutes
	case "-1":
		app.FunctionTimeout = 0
	default:
		if app.FunctionTimeout, err = parseTimeSpan(host.FunctionTimeout); err != nil {
			return App{}, fmt.Errorf("host.json functionTimeout: %w", err)
		}
	}
	if q.MessageEncoding != nil {
		app.Queues.MessageEncoding = strings.ToLower(*q.MessageEncoding)
	}
	if q.MaxDequeueCount != nil {
		app.Queues.MaxDequeueCount = *q.MaxDequeueCount
	}
	if q.BatchSize != nil {
		app.Queues.BatchSize = *q.BatchSize
	}
	for name, p := range map[string]*string{"visibilityTimeout": q.VisibilityTimeout, "maxPollingInterval": q.MaxPollingInterval} {
		if p == nil {
			continue
		}
		d, err := parseTimeSpan(*p)
		if err != nil {
			return App{}, fmt.Errorf("host.json extensions.queues.%s: %w", name, err)
		}
		if name == "visibilityTimeout" {
			app.Queues.VisibilityTimeout = d
		} else {
			app.Queues.MaxPollingInterval = d
		}
	}
	files, err := fs.Glob(fsys, "*/function.json")
	if err != nil {
		return App{}, err
	}
	for _, file := range files {
		f, err := loadFunction(fsys, file, getenv)
		if err != nil {
			return App{}, err
		}
		app.Functions[f.Name] = f
	}
	if len(app.Functions) == 0 {
		return App{}, fmt.Errorf("no */function.json files")
	}
	return app, nil
}

func loadFunction(fsys fs.FS, file string, getenv func(string) string) (Function, error) {
	var doc struct {
		Bindings []struct {
			Type         string   `json:"type"`
			Direction    string   `json:"direction"`
			Name         string   `json:"name"`
			QueueName    string   `json:"queueName"`
			Connection   string   `json:"connection"`
			DataType     string   `json:"dataType"`
			Methods      []string `json:"methods"`
			Route        string   `json:"route"`
			Schedule     string   `json:"schedule"`
			RunOnStartup bool     `json:"runOnStartup"`
		} `json:"bindings"`
	}
	b, err := fs.ReadFile(fsys, file)
	if err != nil {
		return Function{}, err
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return Function{}, fmt.Errorf("%s: %w", file, err)
	}
	f := Function{Name: path.Dir(file), Bindings: len(doc.Bindings)}
	for _, bd := range doc.Bindings {
		if bd.Direction != "in" || !strings.HasSuffix(bd.Type, "Trigger") {
			continue
		}
		f.Trigger, f.Binding, f.Connection, f.DataType = bd.Type, bd.Name, bd.Connection, bd.DataType
		for _, m := range bd.Methods {
			f.Methods = append(f.Methods, strings.ToLower(m))
		}
		f.Schedule, f.RunOnStartup = bd.Schedule, bd.RunOnStartup
		if setting, ok := settingRef(f.Schedule); ok {
			f.ScheduleSetting = setting
			if v := getenv(setting); v != "" {
				f.Schedule = v
			}
		}
		f.Queue, f.Route = bd.QueueName, strings.Trim(bd.Route, "/")
		if setting, ok := settingRef(f.Queue); ok {
			if f.Queue = getenv(setting); f.Queue == "" {
				return Function{}, fmt.Errorf("%s: queueName refers to setting %s, which is not set", file, setting)
			}
		}
	}
	if f.Trigger == "" {
		return Function{}, fmt.Errorf("%s: no trigger binding", file)
	}
	if f.Trigger == "timerTrigger" && f.Schedule == "" {
		return Function{}, fmt.Errorf("%s: a timerTrigger needs a schedule", file)
	}
	if f.Trigger == "queueTrigger" && !validQueueName(f.Queue) {
		return Function{}, fmt.Errorf("%s: queueName %q is not a valid queue name (3-63 lower-case letters, digits and single hyphens)", file, f.Queue)
	}
	return f, nil
}

// settingRef reports whether v names an app setting, %Setting%, and which.
func settingRef(v string) (string, bool) {
	if len(v) > 2 && strings.HasPrefix(v, "%") && strings.HasSuffix(v, "%") {
		return strings.Trim(v, "%"), true
	}
	return "", false
}

// MatchRoute reports whether path (as the host receives it, /api/...) is
// one of the function's: the host's api prefix, then the route template
// (literal segments, case-insensitive; {name} one segment; {*name} the rest,
// possibly empty), or the function's name when it has no route.
func (f Function) MatchRoute(path string) bool {
	rest, ok := cutFold(path, "/api/")
	if !ok {
		return false
	}
	route := f.Route
	if route == "" {
		route = f.Name
	}
	tmpl := strings.Split(route, "/")
	segs := strings.Split(rest, "/")
	for i, t := range tmpl {
		if strings.HasPrefix(t, "{*") && strings.HasSuffix(t, "}") {
			return true
		}
		if i >= len(segs) || segs[i] == "" {
			return false
		}
		if !(strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}")) && !strings.EqualFold(t, segs[i]) {
			return false
		}
	}
	return len(segs) == len(tmpl)
}

// cutFold is strings.CutPrefix, ignoring case.
func cutFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

func validQueueName(s string) bool {
	if len(s) < 3 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// parseTimeSpan reads a .NET TimeSpan as host.json writes it: [d.]hh:mm:ss[.fff].
func parseTimeSpan(s string) (time.Duration, error) {
	var days time.Duration
	rest := s
	if d, r, ok := strings.Cut(s, "."); ok && strings.Count(r, ":") == 2 && !strings.Contains(d, ":") {
		n, err := strconv.Atoi(d)
		if err != nil {
			return 0, fmt.Errorf("%q is not a time span such as 00:05:00", s)
		}
		days, rest = time.Duration(n)*24*time.Hour, r
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("%q is not a time span such as 00:05:00", s)
	}
	h, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	sec, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil || h < 0 || m < 0 || m > 59 || sec < 0 || sec >= 60 {
		return 0, fmt.Errorf("%q is not a time span such as 00:05:00", s)
	}
	return days + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec*float64(time.Second)), nil
}
