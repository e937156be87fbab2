package order_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

// TestSnapshotKeepsEveryField pins the persistence boundary: Snapshot has
// one field for each of Order's, of the same name and type, and an order
// restored from a snapshot gives the same snapshot back, whatever is set.
func TestSnapshotKeepsEveryField(t *testing.T) {
	ot, st := reflect.TypeFor[order.Order](), reflect.TypeFor[order.Snapshot]()
	require.Equal(t, ot.NumField(), st.NumField(), "Order and Snapshot have the same fields")
	for i := range ot.NumField() {
		of, sf := ot.Field(i), st.Field(i)
		require.True(t, strings.EqualFold(of.Name, sf.Name), "field %d: Order.%s, Snapshot.%s", i, of.Name, sf.Name)
		require.Equal(t, of.Type, sf.Type, "Snapshot.%s", sf.Name)
	}

	var s order.Snapshot
	v := reflect.ValueOf(&s).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("x" + st.Field(i).Name)
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(i + 1))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
		case reflect.Struct:
			if f.Type() == reflect.TypeFor[time.Time]() {
				f.Set(reflect.ValueOf(time.Unix(int64(1_700_000_000+i), 0)))
			} else {
				f.Set(reflect.ValueOf(order.Grant{Refunded: 5}))
			}
		}
		require.False(t, f.IsZero(), "the test sets Snapshot.%s", st.Field(i).Name)
	}
	require.Equal(t, s, order.Restore(s).Snapshot())
}

// Tests in other packages build an order in a given state with Restore;
// the getters read it.
func ExampleRestore() {
	o := order.Restore(order.Snapshot{SessionID: "cs_test_1", State: order.StateMailSent, MailGeneration: 2, SentGeneration: 2})
	fmt.Println(o.State(), o.MailGeneration(), o.SentGeneration(), o.Final())
	// Output: mail_sent 2 2 true
}
