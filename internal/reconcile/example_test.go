package reconcile_test

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/operator"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/reconcile"
)

// A run finds two paid sessions whose webhook never came, queues them for
// ProcessOrder and says so in one line.
func ExampleStage_Handle() {
	rc, _ := operator.NewReconciler(operator.ReconcilerDeps{Stripe: paid(2), Records: ordertest.NewLedger(), Orders: &queue{},
		Now: func() time.Time { return now }})
	st, _ := reconcile.New(reconcile.Deps{Reconciler: rc, Window: 72 * time.Hour, Grace: 10 * time.Minute, Now: func() time.Time { return now }})
	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	_ = st.Handle(context.Background(), log, functions.Timer{})
	// Output:
	// level=INFO msg="reconcile run" past_due=false window=72h0m0s seen=2 fulfilled=0 queued=2 redriven=0 skipped=map[] queued_sessions="[cs_test_000 cs_test_001]" ms=0
}
