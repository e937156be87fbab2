package cli

import (
	"io"
	"os"
	"time"
)

// The summary handler reconcile prints: what it saw in Stripe's window, and
// what it did with each session.
func Example_reconcileSummary() {
	sum := &reconcileSummary{
		Since:          time.Date(2024, 1, 20, 12, 0, 0, 0, time.UTC),
		Seen:           7,
		Fulfilled:      1,
		Queued:         2,
		QueuedSessions: []string{"cs_test_a1", "cs_test_b2"},
		Skipped:        map[string]int{"unpaid": 3, "expired": 1},
	}
	_ = printer{out: os.Stdout}.print(sum, func(w io.Writer) { printReconcile(w, sum) })
	// Output:
	// Checkout Sessions created since 2024-01-20T12:00:00Z
	// seen               7
	// already fulfilled  1
	// queued             2
	// skipped            4
	//   expired          1
	//   unpaid           3
	// queued             cs_test_a1
	// queued             cs_test_b2
}
