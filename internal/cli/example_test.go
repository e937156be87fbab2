package cli_test

import (
	"context"
	"fmt"
	"os"

	"github.com/filedrop/filedrop/internal/cli"
)

// The whole program is Run: main passes it the process's arguments and
// environment; tests pass their own.
func ExampleRun() {
	err := cli.Run(context.Background(), cli.Env{
		Args:   []string{"help"},
		Getenv: func(string) string { return "" },
		Stdout: os.Stdout,
		Stderr: os.Stderr,
	})
	fmt.Println("error:", err)
	// Output:
	// handler delivers the files bought through Stripe Checkout.
	//
	// Usage:
	//   handler [command] [flags]
	//
	// Commands:
	//   serve      run as the Azure Functions custom handler (the default with no arguments)
	//   local      run the whole pipeline locally: the webhook on :7071 and the queue functions
	//   setup      create the queues, container and table that are missing; upload originals
	//   config     show the effective settings (secrets masked) and check them
	//   simulate   send a signed checkout.session webhook to a running endpoint, or queue a delivery report
	//   orders     list the orders in the ledger, show one, or index them (orders list, orders show <session>, orders index)
	//   resend     send an order's mail again, optionally with fresh links or to a corrected address
	//   revoke     end an order's access to the order page (revoke <session> --reason R)
	//   grant      reopen an order's access, optionally extended or with downloads reset
	//   events     follow the order events sent to the seller's sinks, send them again, or receive them locally (events list, events redeliver, events receive)
	//   poison     show poisoned queue messages, or move them back (poison list, poison redrive)
	//   reconcile  queue the paid Checkout Sessions that have no mail yet (the webhook safety net)
	//   catalog    sell a folder of originals through Stripe payment links, or check the catalog (catalog sync, catalog check)
	//
	// Run 'handler <command> --help' for a command's flags.
	// error: <nil>
}
