package infra

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// evaluator evaluates the template's expressions the way Resource Manager
// would in one plausible deployment: a resource group rg-shop in a made-up
// subscription, parameters at their defaults unless given, and reference()
// answering with the properties the template reads of each resource type
// (stubs shaped as Azure answers them). What it cannot evaluate is an error,
// so that a new construct in the template needs a deliberate stub here.
type evaluator struct {
	tpl    map[string]any
	params map[string]any
	vars   map[string]any
	// copyIndex is the current iteration of a copy loop, -1 outside one.
	copyIndex int
	// references collects the resource ids reference() was called with.
	references []string
}

const (
	testSubscription = "00000000-0000-0000-0000-00000000abcd"
	testTenant       = "11111111-1111-1111-1111-111111111111"
	testClientID     = "22222222-2222-2222-2222-222222222222"
	testPrincipalID  = "33333333-3333-3333-3333-333333333333"
	testGroup        = "rg-shop"
	// eventGridPrincipalID is the Event Grid system topic's identity.
	eventGridPrincipalID = "66666666-6666-6666-6666-666666666666"
)

func newEvaluator(tpl map[string]any, given map[string]any) (*evaluator, error) {
	e := &evaluator{tpl: tpl, params: map[string]any{}, vars: map[string]any{}, copyIndex: -1}
	for name, p := range object(tpl["parameters"]) {
		if v, ok := given[name]; ok {
			e.params[name] = v
			continue
		}
		def, ok := object(p)["defaultValue"]
		if !ok {
			return nil, fmt.Errorf("parameter %s has no default and no value", name)
		}
		v, err := e.value(def)
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %w", name, err)
		}
		e.params[name] = v
	}
	for name := range given {
		if _, ok := e.params[name]; !ok {
			return nil, fmt.Errorf("no parameter %s", name)
		}
	}
	return e, nil
}

func object(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// value evaluates a JSON value: expressions in strings (and in object keys),
// recursively through objects and arrays.
func (e *evaluator) value(v any) (any, error) {
	switch v := v.(type) {
	case string:
		if strings.HasPrefix(v, "[[") {
			return v[1:], nil
		}
		if !isExpression(v) {
			return v, nil
		}
		n, err := parseExpression(v)
		if err != nil {
			return nil, err
		}
		return e.eval(n)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			key, err := e.value(k)
			if err != nil {
				return nil, err
			}
			ks, ok := key.(string)
			if !ok {
				return nil, fmt.Errorf("key %s is not a string", k)
			}
			if out[ks], err = e.value(x); err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			var err error
			if out[i], err = e.value(x); err != nil {
				return nil, err
			}
		}
		return out, nil
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return int(i), nil
		}
		return nil, fmt.Errorf("number %s is not an integer", v)
	}
	return v, nil
}

func (e *evaluator) eval(n node) (any, error) {
	switch n := n.(type) {
	case strLit:
		return n.v, nil
	case numLit:
		return n.v, nil
	case member:
		x, err := e.eval(n.x)
		if err != nil {
			return nil, err
		}
		m, ok := x.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: not an object", n)
		}
		for k, v := range m { // property names are case-insensitive
			if strings.EqualFold(k, n.name) {
				return v, nil
			}
		}
		return nil, fmt.Errorf("%s: no property %s", n, n.name)
	case index:
		x, err := e.eval(n.x)
		if err != nil {
			return nil, err
		}
		i, err := e.eval(n.i)
		if err != nil {
			return nil, err
		}
		switch x := x.(type) {
		case []any:
			k, ok := i.(int)
			if !ok || k < 0 || k >= len(x) {
				return nil, fmt.Errorf("%s: index %v out of range", n, i)
			}
			return x[k], nil
		case map[string]any:
			k, ok := i.(string)
			if v, found := x[k]; ok && found {
				return v, nil
			}
			return nil, fmt.Errorf("%s: no property %v", n, i)
		}
		return nil, fmt.Errorf("%s: cannot index %T", n, x)
	case call:
		args := make([]any, len(n.args))
		for i, a := range n.args {
			var err error
			if strings.EqualFold(n.name, "if") && i > 0 {
				continue // evaluated lazily below, as Resource Manager does
			}
			if args[i], err = e.eval(a); err != nil {
				return nil, err
			}
		}
		v, err := e.call(n, args)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n.name, err)
		}
		return v, nil
	}
	return nil, fmt.Errorf("unknown node %T", n)
}

func (e *evaluator) call(n call, args []any) (any, error) {
	strs := func() ([]string, error) {
		out := make([]string, len(args))
		for i, a := range args {
			s, ok := a.(string)
			if !ok {
				return nil, fmt.Errorf("argument %d is %T, not a string", i+1, a)
			}
			out[i] = s
		}
		return out, nil
	}
	switch strings.ToLower(n.name) {
	case "parameters", "variables":
		name, ok := args[0].(string)
		if !ok || len(args) != 1 {
			return nil, fmt.Errorf("takes one literal name")
		}
		if strings.EqualFold(n.name, "parameters") {
			v, ok := e.params[name]
			if !ok {
				return nil, fmt.Errorf("no parameter %s", name)
			}
			return v, nil
		}
		if v, ok := e.vars[name]; ok {
			return v, nil
		}
		raw, ok := object(e.tpl["variables"])[name]
		if !ok {
			return nil, fmt.Errorf("no variable %s", name)
		}
		v, err := e.value(raw)
		if err != nil {
			return nil, fmt.Errorf("variable %s: %w", name, err)
		}
		e.vars[name] = v
		return v, nil
	case "if":
		cond, ok := args[0].(bool)
		if !ok {
			return nil, fmt.Errorf("condition is %T", args[0])
		}
		if cond {
			return e.eval(n.args[1])
		}
		return e.eval(n.args[2])
	case "format":
		s, ok := args[0].(string)
		if !ok {
			return nil, fmt.Errorf("format is %T", args[0])
		}
		return formatComposite(s, args[1:])
	case "concat":
		var b strings.Builder
		for _, a := range args {
			b.WriteString(fmt.Sprint(a))
		}
		return b.String(), nil
	case "string":
		switch a := args[0].(type) {
		case string:
			return a, nil
		case bool:
			if a {
				return "True", nil
			}
			return "False", nil
		case int:
			return strconv.Itoa(a), nil
		}
		b, err := json.Marshal(args[0])
		return string(b), err
	case "tolower":
		s, err := strs()
		return strings.ToLower(s[0]), err
	case "empty":
		switch a := args[0].(type) {
		case string:
			return a == "", nil
		case []any:
			return len(a) == 0, nil
		case map[string]any:
			return len(a) == 0, nil
		case nil:
			return true, nil
		}
		return nil, fmt.Errorf("empty of %T", args[0])
	case "not":
		b, ok := args[0].(bool)
		return !b, boolErr(ok)
	case "and", "or":
		and := strings.EqualFold(n.name, "and")
		res := and
		for _, a := range args {
			b, ok := a.(bool)
			if !ok {
				return nil, boolErr(ok)
			}
			if and {
				res = res && b
			} else {
				res = res || b
			}
		}
		return res, nil
	case "equals":
		return fmt.Sprint(args[0]) == fmt.Sprint(args[1]), nil
	case "greater":
		a, ok1 := args[0].(int)
		b, ok2 := args[1].(int)
		return a > b, boolErr(ok1 && ok2)
	case "length":
		switch a := args[0].(type) {
		case string:
			return len(a), nil
		case []any:
			return len(a), nil
		}
		return nil, fmt.Errorf("length of %T", args[0])
	case "createarray":
		return append([]any{}, args...), nil
	case "copyindex":
		if e.copyIndex < 0 {
			return nil, fmt.Errorf("used outside a copy loop")
		}
		return e.copyIndex, nil
	case "uniquestring":
		s, err := strs()
		sum := sha256.Sum256([]byte(strings.Join(s, "|")))
		return hex.EncodeToString(sum[:])[:13], err
	case "guid":
		s, err := strs()
		return uuid.NewSHA1(uuid.NameSpaceURL, []byte(strings.Join(s, "|"))).String(), err
	case "resourcegroup":
		return map[string]any{"id": "/subscriptions/" + testSubscription + "/resourceGroups/" + testGroup, "name": testGroup, "location": "westeurope"}, nil
	case "subscription":
		return map[string]any{"id": "/subscriptions/" + testSubscription, "subscriptionId": testSubscription, "tenantId": testTenant}, nil
	case "resourceid":
		s, err := strs()
		if err != nil {
			return nil, err
		}
		return resourceID(s[0], s[1:])
	case "subscriptionresourceid":
		s, err := strs()
		if err != nil || len(s) != 2 {
			return nil, fmt.Errorf("takes a type and a name")
		}
		return "/subscriptions/" + testSubscription + "/providers/" + s[0] + "/" + s[1], nil
	case "reference":
		id, ok := args[0].(string)
		if !ok {
			return nil, fmt.Errorf("takes a resource id")
		}
		e.references = append(e.references, id)
		props, err := referenceStub(id)
		if err != nil || len(args) < 3 || !strings.EqualFold(fmt.Sprint(args[2]), "full") {
			return props, err
		}
		return fullStub(id, props), nil
	case "extensionresourceid":
		s, err := strs()
		if err != nil || len(s) < 3 {
			return nil, fmt.Errorf("takes a resource id, a type and names")
		}
		return extensionID(s[0], s[1], s[2:])
	}
	return nil, fmt.Errorf("the tests cannot evaluate %s yet: add it to evaluator.call", n.name)
}

func boolErr(ok bool) error {
	if !ok {
		return fmt.Errorf("argument is not a bool")
	}
	return nil
}

// formatComposite is .NET's composite formatting ({0}, {{ and }}), as
// format() uses it.
func formatComposite(f string, args []any) (string, error) {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		switch c := f[i]; {
		case c == '{' && i+1 < len(f) && f[i+1] == '{', c == '}' && i+1 < len(f) && f[i+1] == '}':
			b.WriteByte(c)
			i++
		case c == '{':
			end := strings.IndexByte(f[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("unclosed { in %q", f)
			}
			k, err := strconv.Atoi(f[i+1 : i+end])
			if err != nil || k < 0 || k >= len(args) {
				return "", fmt.Errorf("placeholder %s has no argument in %q", f[i:i+end+1], f)
			}
			fmt.Fprint(&b, args[k])
			i += end
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// resourceID is resourceId(type, names...) in the test resource group:
// Microsoft.Storage/storageAccounts/blobServices with names a, default gives
// .../providers/Microsoft.Storage/storageAccounts/a/blobServices/default.
func resourceID(typ string, names []string) (string, error) {
	segs := strings.Split(typ, "/")
	if len(segs)-1 != len(names) {
		return "", fmt.Errorf("type %s needs %d names, got %d", typ, len(segs)-1, len(names))
	}
	parts := []string{"/subscriptions", testSubscription, "resourceGroups", testGroup, "providers", segs[0]}
	for i, n := range names {
		if n == "" {
			return "", fmt.Errorf("type %s: name %d is empty", typ, i+1)
		}
		parts = append(parts, segs[i+1], n)
	}
	return strings.Join(parts, "/"), nil
}

// typeOf returns the resource type and names of a resource id made by
// resourceID.
func typeOf(id string) (typ string, names []string) {
	_, rest, ok := strings.Cut(id, "/providers/")
	if !ok {
		return "", nil
	}
	segs := strings.Split(rest, "/")
	typ = segs[0]
	for i := 1; i+1 < len(segs); i += 2 {
		typ += "/" + segs[i]
		names = append(names, segs[i+1])
	}
	return typ, names
}

// extensionID is extensionResourceId(scope, type, names...): the id of an
// extension resource (a role assignment) on the resource scope.
func extensionID(scope, typ string, names []string) (string, error) {
	segs := strings.Split(typ, "/")
	if len(segs)-1 != len(names) {
		return "", fmt.Errorf("type %s needs %d names, got %d", typ, len(segs)-1, len(names))
	}
	parts := []string{scope, "providers", segs[0]}
	for i, n := range names {
		parts = append(parts, segs[i+1], n)
	}
	return strings.Join(parts, "/"), nil
}

// fullStub answers reference(id, version, 'full'): the resource with its
// properties, and the system-assigned identity of the types that have one.
func fullStub(id string, props map[string]any) map[string]any {
	full := map[string]any{"id": id, "properties": props}
	if typ, _ := typeOf(id); strings.EqualFold(typ, "Microsoft.EventGrid/systemTopics") {
		full["identity"] = map[string]any{"type": "SystemAssigned", "principalId": eventGridPrincipalID, "tenantId": testTenant}
	}
	return full
}

// referenceStub answers reference(id) with the properties the template reads
// of that resource type, shaped as Azure returns them.
func referenceStub(id string) (map[string]any, error) {
	typ, names := typeOf(id)
	name := ""
	if len(names) > 0 {
		name = names[len(names)-1]
	}
	switch strings.ToLower(typ) {
	case "microsoft.managedidentity/userassignedidentities":
		return map[string]any{"clientId": testClientID, "principalId": testPrincipalID, "tenantId": testTenant}, nil
	case "microsoft.insights/components":
		return map[string]any{"ConnectionString": "InstrumentationKey=44444444-4444-4444-4444-444444444444;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/"}, nil
	case "microsoft.storage/storageaccounts":
		return map[string]any{"primaryEndpoints": map[string]any{"blob": "https://" + name + ".blob.core.windows.net/",
			"queue": "https://" + name + ".queue.core.windows.net/", "table": "https://" + name + ".table.core.windows.net/"}}, nil
	case "microsoft.web/sites":
		return map[string]any{"defaultHostName": name + ".azurewebsites.net"}, nil
	case "microsoft.communication/emailservices/domains":
		return map[string]any{"mailFromSenderDomain": "5f6a7b8c-1234-4d2e-9abc-0123456789ab.azurecomm.net", "fromSenderDomain": name}, nil
	case "microsoft.communication/communicationservices":
		return map[string]any{"hostName": name + ".unitedstates.communication.azure.com"}, nil
	case "microsoft.eventgrid/systemtopics":
		return map[string]any{"topicType": "Microsoft.Communication.CommunicationServices", "provisioningState": "Succeeded"}, nil
	}
	return nil, fmt.Errorf("no stub for reference() to %s: add one to referenceStub", typ)
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
