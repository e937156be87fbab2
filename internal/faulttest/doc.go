// Package faulttest holds the pipeline's fault test: the real handler
// binary, run as handler local against Azurite, is fed signed Checkout
// webhooks (a share of them delivered twice, some concurrently, some
// asynchronous events before their completed event) while it is killed with
// SIGKILL and restarted, while Azurite stops and starts again, and while the
// mail service fails transiently or throttles. Afterwards every paid order
// must have had exactly one mail, every failed payment exactly one notice,
// every unpaid order none, every ledger record must rest in a final state,
// and every queue and poison queue must be empty.
//
// A tenth of the paid orders are refunded in full: the charge.refunded
// event comes before the completed event, while ProcessOrder fulfils the
// order (the Stripe fake holds the session until the refund's ProcessOrder
// looks it up) or after the fulfilment. Meanwhile a probe presses each
// refunded order's download button on handler local's Download function
// (the mails keep their raw links, DOWNLOAD_LINKS=direct, which the run
// checks; the order page is served beside them): no download may succeed
// once the ledger shows the revoke, every refunded record must end revoked
// by its refund, and after settling each refunded order's download is
// refused while a paid order's still works.
//
// The order events go, as signed webhooks, to a receiver of the seller's
// that verifies each as the Standard Webhooks libraries do and answers a
// few with 503 or 429 (in mode outage it is down for an "hour" and heals
// by itself). At the end, the events each order's changes owe are derived
// from its final record, independently of how the handler produces them:
// every one must have been received under the one id that names its
// change, none received that no change owes, and every record must show
// its events delivered.
//
// With -fault.busy a second process spins on every core for the whole run,
// as a noisy neighbour on the instance would; Azurite, which stands in for
// the remote storage service, runs at a higher priority than it.
//
// The test (TestFault) skips unless -fault.orders is set; scripts/fault.sh
// runs it and documents its flags. It prints a table of expected and actual
// counts and fails on any mismatch.
package faulttest
