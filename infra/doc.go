// Package infra holds the Azure Resource Manager template that deploys
// filedrop (azuredeploy.json, with an example of its parameters) and the
// tests that check it offline: each resource against Microsoft's own
// resource schemas (testdata/arm-schemas), and the invariants the schemas
// cannot see (expressions that parse and name what exists, dependencies,
// role definitions from an allow-list, queue names from the function.json
// files, app settings the handler knows and validates, no shared key and no
// secret in an output). It also tests scripts/deploy.sh with stand-in az and
// func commands. The package has no code of its own: docs/deploy.md is the
// guide.
package infra
