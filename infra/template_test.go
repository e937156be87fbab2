package infra

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop"
	"github.com/filedrop/filedrop/internal/config"
	"github.com/filedrop/filedrop/internal/functions"
)

// decodeJSON decodes a template or parameters file, keeping numbers as
// json.Number so that an integer stays an integer for the schemas.
func decodeJSON(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	m, err := decodeJSON(b)
	require.NoError(t, err, path)
	return m
}

// instance is one resource the template deploys: a resource as written, or
// one iteration of a copy loop.
type instance struct {
	raw       map[string]any
	copyIndex int // -1 outside a copy loop
	copyName  string
	typ       string
	name      string // evaluated, segments joined by /
	id        string
	// deployed is the evaluated condition (true without one).
	deployed bool
}

// leaf is the last segment of the instance's name.
func (in instance) leaf() string { return in.name[strings.LastIndex(in.name, "/")+1:] }

// eval evaluates v in the instance's copy iteration.
func (in instance) eval(e *evaluator, v any) (any, error) {
	e.copyIndex = in.copyIndex
	defer func() { e.copyIndex = -1 }()
	return e.value(v)
}

// expand evaluates every resource's name, id and condition, one instance per
// iteration of a copy loop.
func expand(e *evaluator) ([]instance, []error) {
	var out []instance
	var errs []error
	resources, _ := e.tpl["resources"].([]any)
	for i, r := range resources {
		raw, ok := r.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Errorf("resource %d is not an object", i))
			continue
		}
		typ, _ := raw["type"].(string)
		count, copyName := 1, ""
		loop := object(raw["copy"])
		if loop != nil {
			copyName, _ = loop["name"].(string)
			n, err := e.value(loop["count"])
			if c, ok := n.(int); err != nil || !ok {
				errs = append(errs, fmt.Errorf("%s: copy count %v: %v", typ, loop["count"], err))
				continue
			} else {
				count = c
			}
		}
		for k := 0; k < count; k++ {
			in := instance{raw: raw, copyIndex: -1, copyName: copyName, typ: typ, deployed: true}
			if loop != nil {
				in.copyIndex = k
			}
			name, err := in.eval(e, raw["name"])
			if err != nil {
				errs = append(errs, fmt.Errorf("%s name: %w", typ, err))
				continue
			}
			in.name = fmt.Sprint(name)
			if in.id, err = instanceID(e, in); err != nil {
				errs = append(errs, fmt.Errorf("%s %s: %w", typ, in.name, err))
				continue
			}
			if c, ok := raw["condition"]; ok {
				v, err := in.eval(e, c)
				if b, isBool := v.(bool); err != nil || !isBool {
					errs = append(errs, fmt.Errorf("%s %s: condition %v: %v", typ, in.name, c, err))
				} else {
					in.deployed = b
				}
			}
			out = append(out, in)
		}
	}
	return out, errs
}

// instanceID is the resource id of in: in the resource group, or, for an
// extension resource with a scope (a role assignment), on that resource,
// as extensionResourceId names it.
func instanceID(e *evaluator, in instance) (string, error) {
	raw, ok := in.raw["scope"]
	if !ok {
		return resourceID(in.typ, strings.Split(in.name, "/"))
	}
	scope, err := in.eval(e, raw)
	if err != nil {
		return "", fmt.Errorf("scope: %w", err)
	}
	segs := strings.Split(fmt.Sprint(scope), "/")
	if len(segs) < 3 || len(segs)%2 == 0 {
		return "", fmt.Errorf("scope %v is not a resource (Namespace/type/name)", scope)
	}
	types := segs[0]
	var names []string
	for i := 1; i+1 < len(segs); i += 2 {
		types += "/" + segs[i]
		names = append(names, segs[i+1])
	}
	base, err := resourceID(types, names)
	if err != nil {
		return "", err
	}
	return extensionID(base, in.typ, strings.Split(in.name, "/"))
}

// deployment is the template evaluated for one set of parameter values.
type deployment struct {
	tpl       map[string]any
	e         *evaluator
	instances []instance
	// settings are the function app's evaluated app settings.
	settings map[string]string
}

func (d *deployment) byType(typ string) []instance {
	var out []instance
	for _, in := range d.instances {
		if strings.EqualFold(in.typ, typ) && in.deployed {
			out = append(out, in)
		}
	}
	return out
}

func (d *deployment) one(typ string) (instance, error) {
	ins := d.byType(typ)
	if len(ins) != 1 {
		return instance{}, fmt.Errorf("the template deploys %d resources of type %s, want 1", len(ins), typ)
	}
	return ins[0], nil
}

// prop evaluates a property of an instance by its path (properties.siteConfig.minTlsVersion).
func (d *deployment) prop(in instance, path string) (any, error) {
	var v any = in.raw
	for _, p := range strings.Split(path, ".") {
		m := object(v)
		if m == nil {
			return nil, fmt.Errorf("%s %s: %s is not set", in.typ, in.name, path)
		}
		if v = m[p]; v == nil {
			return nil, fmt.Errorf("%s %s: %s is not set", in.typ, in.name, path)
		}
	}
	return in.eval(d.e, v)
}

// operatorID stands for the operator's object id in the tests' deployment.
const operatorID = "55555555-5555-5555-5555-555555555555"

// testParameters are the parameter values of the tests' deployment: the
// defaults, with an operator given and both order event sinks on, so that
// every resource and setting is deployed.
var testParameters = map[string]any{"operatorPrincipalId": operatorID, "stripeApiKey": "rk_test_51FromTheDeployer",
	"orderLinkSecret": "an-order-link-secret-of-44-characters-000000", "orderEventsWebhooks": true,
	"orderEventsUrl": "https://hooks.example/filedrop?code=FromTheDeployer0123", "orderEventsSecret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwFromTheDeployer",
	"dataverseUrl": "https://contoso.crm4.dynamics.com", "dataverseOrderTable": "cr1a2_orders"}

// check runs every check on the template and returns every problem found.
func check(tpl map[string]any, sch *schemas) []error {
	var errs []error
	errs = append(errs, checkExpressions(tpl)...)
	resources, _ := tpl["resources"].([]any)
	for _, r := range resources {
		if err := sch.validate(object(r)); err != nil {
			errs = append(errs, err)
		}
	}
	d, err := evaluate(tpl, testParameters)
	if err != nil {
		return append(errs, err)
	}
	for _, c := range []func(*deployment) []error{checkSettings, checkDependsOn, checkRoles, checkStorage, checkApp, checkOutputs, checkReferences, checkEventGrid} {
		errs = append(errs, c(d)...)
	}
	return errs
}

// evaluate expands the template's resources for the parameter values.
func evaluate(tpl map[string]any, params map[string]any) (*deployment, error) {
	e, err := newEvaluator(tpl, params)
	if err != nil {
		return nil, err
	}
	d := &deployment{tpl: tpl, e: e}
	var errs []error
	d.instances, errs = expand(e)
	return d, errors.Join(errs...)
}

// checkExpressions parses every expression in the template (keys too) and
// checks that each parameters('x') and variables('x') names one that exists.
func checkExpressions(tpl map[string]any) []error {
	var errs []error
	params, vars := object(tpl["parameters"]), object(tpl["variables"])
	var visit func(path string, v any)
	check := func(path, s string) {
		if !isExpression(s) {
			if strings.HasPrefix(s, "[") && !strings.HasPrefix(s, "[[") {
				errs = append(errs, fmt.Errorf("%s: %q looks like an expression with unbalanced brackets", path, s))
			}
			return
		}
		n, err := parseExpression(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
			return
		}
		walk(n, func(n node) {
			c, ok := n.(call)
			if !ok || !strings.EqualFold(c.name, "parameters") && !strings.EqualFold(c.name, "variables") {
				return
			}
			lit, ok := c.args[0].(strLit)
			if len(c.args) != 1 || !ok {
				errs = append(errs, fmt.Errorf("%s: %s takes one literal name, not %s", path, c.name, c))
				return
			}
			set, kind := params, "parameter"
			if strings.EqualFold(c.name, "variables") {
				set, kind = vars, "variable"
			}
			if _, ok := set[lit.v]; !ok {
				errs = append(errs, fmt.Errorf("%s: %s refers to the %s %q, which the template does not declare", path, c, kind, lit.v))
			}
		})
	}
	visit = func(path string, v any) {
		switch v := v.(type) {
		case string:
			check(path, v)
		case map[string]any:
			for _, k := range sortedKeys(v) {
				check(path+"/"+k, k)
				visit(path+"/"+k, v[k])
			}
		case []any:
			for i, x := range v {
				visit(fmt.Sprintf("%s/%d", path, i), x)
			}
		}
	}
	for _, k := range []string{"parameters", "variables", "resources", "outputs"} {
		visit(k, tpl[k])
	}
	return errs
}

// checkDependsOn: every dependsOn names a resource of the template (by id) or
// one of its copy loops.
func checkDependsOn(d *deployment) []error {
	ids, loops := map[string]bool{}, map[string]bool{}
	for _, in := range d.instances {
		ids[strings.ToLower(in.id)] = true
		if in.copyName != "" {
			loops[in.copyName] = true
		}
	}
	var errs []error
	for _, in := range d.instances {
		deps, _ := in.raw["dependsOn"].([]any)
		for _, dep := range deps {
			v, err := in.eval(d.e, dep)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s %s dependsOn %v: %w", in.typ, in.name, dep, err))
				continue
			}
			s := fmt.Sprint(v)
			if !ids[strings.ToLower(s)] && !loops[s] {
				errs = append(errs, fmt.Errorf("%s %s dependsOn %s, which is no resource or copy loop of the template", in.typ, in.name, s))
			}
		}
	}
	return errs
}

// checkReferences: every reference() the checks evaluated names a resource
// of the template.
func checkReferences(d *deployment) []error {
	ids := map[string]bool{}
	for _, in := range d.instances {
		ids[strings.ToLower(in.id)] = true
	}
	var errs []error
	for _, id := range d.e.references {
		if !ids[strings.ToLower(id)] {
			errs = append(errs, fmt.Errorf("reference(%s) names no resource of the template", id))
		}
	}
	return errs
}

// hostSettings are app settings the Functions host (not the handler) reads,
// each with the reason it is set.
var hostSettings = map[string]string{
	"APPLICATIONINSIGHTS_CONNECTION_STRING":     "where the host sends telemetry (a locator, not a credential: local auth is off)",
	"APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "the host authenticates its telemetry with the user-assigned identity",
	"AzureWebJobs.OrderEvents.Disabled":         "the host does not poll the order-events queue while no sink is configured",
}

// keyVaultOnly are the settings that hold a secret (the URL of a webhook
// receiver may carry one): set, each must be a Key Vault reference.
var keyVaultOnly = []string{"STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET", "ORDER_LINK_SECRET", "ORDER_EVENTS_URL", "ORDER_EVENTS_SECRET"}

// forbiddenSettings may not be set by the template, each with the reason.
var forbiddenSettings = map[string]string{
	"AzureWebJobsStorage":         "a connection string holds the account key; the template uses the identity (__accountName)",
	"ACS_CONNECTION_STRING":       "an access key; the template uses ACS_ENDPOINT with the identity",
	"SMTP_URL":                    "the template sends through ACS",
	"EMAIL_OUTBOX_DIR":            "for local runs only",
	"FUNCTIONS_WORKER_RUNTIME":    "not allowed on Flex Consumption: functionAppConfig.runtime sets it",
	"FUNCTIONS_EXTENSION_VERSION": "not allowed on Flex Consumption",
	"STRIPE_API_URL":              "for tests against stripe-mock only",
}

// plausibleSecrets stand in for the Key Vault secret behind each setting
// that is a Key Vault reference.
var plausibleSecrets = map[string]string{
	"STRIPE_API_KEY":        "rk_test_51PlausibleRestrictedKey",
	"STRIPE_WEBHOOK_SECRET": "whsec_PlausibleEndpointSecret",
	"ORDER_LINK_SECRET":     "plausible-order-link-secret-0123456789abcdefgh",
	"ORDER_EVENTS_URL":      "https://hooks.zapier.example/hooks/catch/123/abc/",
	"ORDER_EVENTS_SECRET":   "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
}

var keyVaultRef = regexp.MustCompile(`^@Microsoft\.KeyVault\(VaultName=([^;]+);SecretName=([^;)]+)\)$`)

var sharedKey = regexp.MustCompile(`(?i)(accountkey|accesskey|sharedaccesssignature|sig)=`)

// checkSettings evaluates the app settings and feeds them, Key Vault
// references replaced by plausible secrets, to config.Load: the handler's
// own validation in identity mode. Every setting must be one the handler
// knows or one the host reads; every timer function's schedule setting must
// be set; the queues, container and table must be the ones the handler uses.
func checkSettings(d *deployment) []error {
	in, err := d.one("Microsoft.Web/sites/config")
	if err != nil {
		return []error{err}
	}
	v, err := in.eval(d.e, in.raw["properties"])
	if err != nil {
		return []error{fmt.Errorf("app settings: %w", err)}
	}
	var errs []error
	d.settings = map[string]string{}
	vault, _ := d.one("Microsoft.KeyVault/vaults")
	secrets := map[string]bool{}
	for _, s := range d.instances { // deployed or not: a secret set by a later deployment is declared too
		if strings.EqualFold(s.typ, "Microsoft.KeyVault/vaults/secrets") {
			secrets[s.leaf()] = true
		}
	}
	resolved := map[string]string{}
	for name, x := range object(v) {
		s, ok := x.(string)
		if !ok {
			errs = append(errs, fmt.Errorf("app setting %s is %T, not a string", name, x))
			continue
		}
		d.settings[name] = s
		resolved[name] = s
		if why, ok := forbiddenSettings[name]; ok {
			errs = append(errs, fmt.Errorf("app setting %s must not be set: %s", name, why))
		}
		if !config.Known(name) && hostSettings[name] == "" {
			errs = append(errs, fmt.Errorf("app setting %s is not one the handler reads (config's settingKinds) nor one the host reads (hostSettings)", name))
		}
		if sharedKey.MatchString(s) {
			errs = append(errs, fmt.Errorf("app setting %s holds a key or signature", name))
		}
		if m := keyVaultRef.FindStringSubmatch(s); m != nil {
			switch {
			case m[1] != vault.name:
				errs = append(errs, fmt.Errorf("app setting %s refers to vault %s, not the template's %s", name, m[1], vault.name))
			case !secrets[m[2]]:
				errs = append(errs, fmt.Errorf("app setting %s refers to secret %s, which the template does not declare", name, m[2]))
			case plausibleSecrets[name] == "":
				errs = append(errs, fmt.Errorf("app setting %s is a Key Vault reference the tests have no plausible secret for", name))
			}
			resolved[name] = plausibleSecrets[name]
		} else if strings.Contains(s, "@Microsoft.KeyVault") {
			errs = append(errs, fmt.Errorf("app setting %s is a malformed Key Vault reference: %s", name, s))
		}
	}
	for _, name := range keyVaultOnly {
		if s := d.settings[name]; s != "" && !keyVaultRef.MatchString(s) {
			errs = append(errs, fmt.Errorf("app setting %s holds a secret: it must be a Key Vault reference", name))
		}
	}
	get := func(k string) string { return resolved[k] }
	cfg, err := config.Load(get)
	if err != nil {
		errs = append(errs, fmt.Errorf("the handler refuses the template's settings: %w", err))
	}
	switch disabled := d.settings["AzureWebJobs.OrderEvents.Disabled"]; {
	case cfg.Events.Enabled() && disabled != "false":
		errs = append(errs, fmt.Errorf("AzureWebJobs.OrderEvents.Disabled is %q while a sink is configured: the events would wait in their queue", disabled))
	case !cfg.Events.Enabled() && disabled != "true":
		errs = append(errs, fmt.Errorf("AzureWebJobs.OrderEvents.Disabled is %q while no sink is configured: the host would poll an empty queue", disabled))
	}
	if cfg.Events.Dataverse.URL != "" && cfg.Events.Dataverse.ClientID != testClientID {
		errs = append(errs, fmt.Errorf("DATAVERSE_CLIENT_ID must be the user-assigned identity's client id, the identity Dataverse knows as an application user"))
	}
	switch {
	case !cfg.Storage.Identity || !cfg.Storage.ManagedIdentity || cfg.Storage.ClientID != testClientID:
		errs = append(errs, fmt.Errorf("storage must use the user-assigned identity (AzureWebJobsStorage__accountName, __credential=managedidentity, __clientId)"))
	case cfg.Mail.Transport != config.MailACSEntra || cfg.Mail.ACS.ClientID != testClientID:
		errs = append(errs, fmt.Errorf("mail must go through ACS_ENDPOINT with the user-assigned identity (ACS_CLIENT_ID)"))
	}
	app, err := functions.LoadApp(filedrop.AppFiles, get)
	if err != nil {
		return append(errs, err)
	}
	for _, fn := range app.TimerFunctions() {
		if fn.ScheduleSetting != "" && d.settings[fn.ScheduleSetting] == "" {
			errs = append(errs, fmt.Errorf("app setting %s is missing: the host schedules %s from it and does not index the function without it", fn.ScheduleSetting, fn.Name))
		}
	}
	want := map[string]bool{}
	for _, fn := range app.QueueFunctions() {
		want[fn.Queue] = true
		if p := fn.PoisonQueue(); p != "" {
			want[p] = true
		}
	}
	got := map[string]bool{}
	for _, q := range d.byType("Microsoft.Storage/storageAccounts/queueServices/queues") {
		got[q.leaf()] = true
	}
	for q := range want {
		if !got[q] {
			errs = append(errs, fmt.Errorf("queue %s (a function.json's queueName, or its poison queue) is not declared", q))
		}
	}
	for q := range got {
		if !want[q] {
			errs = append(errs, fmt.Errorf("queue %s is declared but no function.json names it", q))
		}
	}
	errs = append(errs, declares(d, "Microsoft.Storage/storageAccounts/blobServices/containers", cfg.Links.Container)...)
	return append(errs, declares(d, "Microsoft.Storage/storageAccounts/tableServices/tables", cfg.Ledger.Table)...)
}

// declares checks that a resource of typ with the leaf name is deployed.
func declares(d *deployment, typ, leaf string) []error {
	for _, in := range d.byType(typ) {
		if in.leaf() == leaf {
			return nil
		}
	}
	return []error{fmt.Errorf("no %s named %s: handler setup would have to create it", typ, leaf)}
}
