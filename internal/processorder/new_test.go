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
// message; the optional ones may be left out.
func TestNewNamesWhatIsMissing(t *testing.T) {
	full := newHarness(ordertest.NewLedger(), false, nil).deps
	optional := full
	optional.Payments, optional.OrderPage, optional.Now = nil, nil, nil
	for _, d := range []processorder.Deps{full, optional} {
		_, err := processorder.New(d)
		require.NoError(t, err)
	}
	for want, edit := range map[string]func(d *processorder.Deps){
		"processorder: no Sessions":              func(d *processorder.Deps) { d.Sessions = nil },
		"processorder: no Originals":             func(d *processorder.Deps) { d.Originals = nil },
		"processorder: no Mail":                  func(d *processorder.Deps) { d.Mail = nil },
		"processorder: no Records":               func(d *processorder.Deps) { d.Records = nil },
		"processorder: no Log":                   func(d *processorder.Deps) { d.Log = nil },
		"processorder: inconsistent time budget": func(d *processorder.Deps) { d.Budget = delivery.Budget{} },
	} {
		d := full
		edit(&d)
		_, err := processorder.New(d)
		require.ErrorContains(t, err, want)
	}
}
