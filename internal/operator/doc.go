// Package operator is what a person does to the pipeline by hand: find an
// order, send its mail again (or have ProcessOrder mint fresh links),
// queue the paid Checkout Sessions whose webhook never arrived (reconcile),
// and look at and move back the messages the host gave up on (poison).
//
// The rules are the domain's (internal/order): which orders count as
// fulfilled, the next mail generation, the resend transition. This package
// applies them and talks to the ledger, the queues and Stripe through small
// interfaces declared beside their use, which the storage adapters and
// stripeapi implement. The command line (internal/cli) parses flags, wires
// the adapters in and prints; it holds no rule of its own.
//
// Everything here is safe to repeat: a resend is a new mail generation with
// its own idempotency key, reconcile queues messages ProcessOrder fulfils
// once however often they come, and a redriven message is sent before it is
// deleted, so a failure in between leaves a duplicate the pipeline
// deduplicates, never a loss.
package operator
