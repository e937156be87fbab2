package infra

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dlclark/regexp2/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaBase is where Resource Manager publishes its schemas; the tests map
// it to testdata/arm-schemas.
const schemaBase = "https://schema.management.azure.com/schemas/"

// expressionRef is the schemas' own definition of an ARM expression.
const expressionRef = schemaBase + "common/definitions.json#/definitions/expression"

// schemaFiles names the schema file of each provider namespace at each API
// version the template uses.
var schemaFiles = map[string]string{
	"Microsoft.Web@2024-11-01":                 "2024-11-01/Microsoft.Web.json",
	"Microsoft.Storage@2025-01-01":             "2025-01-01/Microsoft.Storage.json",
	"Microsoft.Communication@2025-05-01":       "2025-05-01/Microsoft.Communication.json",
	"Microsoft.KeyVault@2025-05-01":            "2025-05-01/Microsoft.KeyVault.json",
	"Microsoft.ManagedIdentity@2024-11-30":     "2024-11-30/Microsoft.ManagedIdentity.json",
	"Microsoft.Authorization@2022-04-01":       "2022-04-01/Microsoft.Authorization.json",
	"Microsoft.Insights@2020-02-02":            "2020-02-02/Microsoft.Insights.Application.json",
	"Microsoft.OperationalInsights@2025-02-01": "2025-02-01/Microsoft.OperationalInsights.json",
	"Microsoft.EventGrid@2025-02-15":           "2025-02-15/Microsoft.EventGrid.json",
}

// templateKeys are the keys of a template's resource that belong to the
// template language, not to the resource's schema; the invariants check
// them.
var templateKeys = []string{"condition", "copy", "dependsOn", "scope", "comments"}

// schemas validates resources against their resource definitions, loaded
// offline and made strict (see tighten).
type schemas struct {
	compiler *jsonschema.Compiler
	compiled map[string]*jsonschema.Schema
}

func loadSchemas(dir string) (*schemas, error) {
	c := jsonschema.NewCompiler()
	c.UseRegexpEngine(dotnetRegexp)
	c.AssertFormat()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel != "common/definitions.json" { // it defines the expression itself
			doc = tighten(doc, true)
		}
		return c.AddResource(schemaBase+rel, doc)
	})
	if err != nil {
		return nil, err
	}
	return &schemas{compiler: c, compiled: map[string]*jsonschema.Schema{}}, nil
}

// validate checks one resource of the template against the definition of
// its type at its API version.
func (s *schemas) validate(res map[string]any) error {
	typ, _ := res["type"].(string)
	api, _ := res["apiVersion"].(string)
	ns, rest, _ := strings.Cut(typ, "/")
	file, ok := schemaFiles[ns+"@"+api]
	if !ok {
		return fmt.Errorf("%s@%s: no schema in testdata/arm-schemas (copy it from Azure/azure-resource-manager-schemas)", typ, api)
	}
	loc := schemaBase + file + "#/resourceDefinitions/" + strings.ReplaceAll(rest, "/", "_")
	sch, ok := s.compiled[loc]
	if !ok {
		var err error
		if sch, err = s.compiler.Compile(loc); err != nil {
			return fmt.Errorf("%s@%s: %w", typ, api, err)
		}
		s.compiled[loc] = sch
	}
	inst := make(map[string]any, len(res))
	for k, v := range res {
		inst[k] = v
	}
	for _, k := range templateKeys {
		delete(inst, k)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("%s@%s %v: %w", typ, api, res["name"], err)
	}
	return nil
}

// tighten makes a published schema as strict as Resource Manager is about
// what it accepts, for the tests only:
//   - an object with declared properties accepts no other property (the
//     published files allow any, so a misspelt property would pass); where
//     it also has alternatives (oneOf), its properties join each
//     alternative's instead;
//   - oneOf is read as anyOf, because an expression satisfies both a typed
//     alternative and the expression alternative;
//   - every typed value also accepts an expression ("[...]"), as the
//     schemas' README says Resource Manager does; expressions are checked by
//     the tests' own parser.
func tighten(v any, root bool) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	for _, k := range []string{"properties", "definitions", "resourceDefinitions", "subscription_resourceDefinitions",
		"tenant_resourceDefinitions", "managementGroup_resourceDefinitions", "extension_resourceDefinitions", "unknown_resourceDefinitions", "patternProperties"} {
		if sub, ok := m[k].(map[string]any); ok {
			for name, s := range sub {
				sub[name] = tighten(s, false)
			}
		}
	}
	if ap, ok := m["additionalProperties"].(map[string]any); ok {
		m["additionalProperties"] = tighten(ap, false)
	}
	switch items := m["items"].(type) {
	case map[string]any:
		m["items"] = tighten(items, false)
	case []any:
		for i, s := range items {
			items[i] = tighten(s, false)
		}
	}
	if not, ok := m["not"]; ok {
		m["not"] = tighten(not, false)
	}
	if one, ok := m["oneOf"]; ok {
		delete(m, "oneOf")
		m["anyOf"] = one
	}
	for _, k := range []string{"anyOf", "allOf"} {
		if alts, ok := m[k].([]any); ok {
			for i, s := range alts {
				alts[i] = tighten(s, false)
			}
		}
	}
	if props, ok := m["properties"].(map[string]any); ok {
		if _, set := m["additionalProperties"]; !set {
			if alts, ok := m["anyOf"].([]any); ok && inlineAlternatives(alts) {
				for _, a := range alts {
					ap := objectSchema(a)["properties"].(map[string]any)
					for name, s := range props {
						if _, dup := ap[name]; !dup {
							ap[name] = s
						}
					}
				}
			} else {
				m["additionalProperties"] = false
			}
		}
	}
	if _, typed := m["type"]; typed && !root {
		return map[string]any{"anyOf": []any{m, map[string]any{"$ref": expressionRef}}}
	}
	return m
}

// inlineAlternatives reports whether every alternative is an inline object
// schema with properties of its own.
func inlineAlternatives(alts []any) bool {
	for _, a := range alts {
		if objectSchema(a) == nil {
			return false
		}
	}
	return true
}

// objectSchema returns the alternative a as an object schema with
// properties, looking inside the expression wrapper tighten puts around it;
// nil when it is something else (a $ref, say).
func objectSchema(a any) map[string]any {
	m, ok := a.(map[string]any)
	if !ok {
		return nil
	}
	if wrapped, ok := m["anyOf"].([]any); ok && len(m) == 1 && len(wrapped) == 2 {
		if m, ok = wrapped[0].(map[string]any); !ok {
			return nil
		}
	}
	if _, ok := m["properties"].(map[string]any); !ok {
		return nil
	}
	return m
}

// dotnetRegexp compiles the schemas' patterns, some written for .NET, with
// regexp2 in its default (.NET-compatible) mode.
func dotnetRegexp(s string) (jsonschema.Regexp, error) {
	re, err := regexp2.Compile(s, regexp2.None)
	if err != nil {
		return nil, err
	}
	return (*netRegexp)(re), nil
}

type netRegexp regexp2.Regexp

func (re *netRegexp) MatchString(s string) bool {
	ok, err := (*regexp2.Regexp)(re).MatchString(s)
	return err == nil && ok
}

func (re *netRegexp) String() string { return (*regexp2.Regexp)(re).String() }
