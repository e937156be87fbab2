// Package filedrop holds the Azure Functions app files (host.json and each
// function's function.json) so that the handler binary reads the very files
// that are deployed beside it. They are the single source of the queue names.
package filedrop

import "embed"

// AppFiles holds host.json and every <Function>/function.json of the app.
//
//go:embed host.json CheckoutComplete/function.json ProcessOrder/function.json SendLink/function.json Download/function.json Reconcile/function.json DeliveryReport/function.json OrderEvents/function.json
var AppFiles embed.FS
