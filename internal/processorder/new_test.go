package processorder_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/delivery"
	"github.com/filedrop/filedrop/internal/order/ordertest"
	"github.com/filedrop/filedrop/internal/processorder"
)

// TestNewNamesWhatIsMissing: a stage built without a dependency it needs is
// refused when it is built, naming it, not a nil dereference on the first
// message.
func TestNewNamesWhatIsMissing(t *testing.T) {
	h := newHarness(ordertest.NewLedger(), false, nil)
	tests := []struct {
		name string
		edit func(d *processorder.Deps)
		want string
	}{
		{"complete", func(*processorder.Deps) {}, ""},
		{"no payments, order page or clock: optional", func(d *processorder.Deps) { d.Payments, d.OrderPage, d.Now = nil, nil, nil }, ""},
		{"no sessions", func(d *processorder.Deps) { d.Sessions = nil }, "processorder: no Sessions"},
		{"no originals", func(d *processorder.Deps) { d.Originals = nil }, "no Originals"},
		{"no mail queue", func(d *processorder.Deps) { d.Mail = nil }, "no Mail"},
		{"no ledger", func(d *processorder.Deps) { d.Records = nil }, "no Records"},
		{"no logger", func(d *processorder.Deps) { d.Log = nil }, "no Log"},
		{"no budget", func(d *processorder.Deps) { d.Budget = delivery.Budget{} }, "inconsistent time budget"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := h.deps
			tt.edit(&d)
			st, err := processorder.New(d)
			if tt.want == "" {
				require.NoError(t, err)
				require.NotNil(t, st)
				return
			}
			require.ErrorContains(t, err, tt.want)
			require.Nil(t, st)
		})
	}
}
