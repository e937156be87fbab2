// Package order is the domain of filedrop: the messages that cross the two
// queues, an order's record and its states, and the classification of errors
// into permanent, throttled and retryable.
//
// It imports no Azure, Stripe or HTTP package. Every adapter (Functions host,
// storage, Stripe, mail) translates its own errors into the ones declared here,
// and every stage speaks in these types.
package order
