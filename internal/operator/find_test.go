package operator

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

func TestFind(t *testing.T) {
	boom := errors.New("table service down")
	tests := []struct {
		name   string
		getErr error
		id     string
		want   string // the error, "" for none
	}{
		{name: "found", id: "cs_test_1"},
		{name: "no record", id: "cs_test_unknown", want: "the ledger (table orders) has no order for session cs_test_unknown"},
		{name: "the ledger fails", id: "cs_test_1", getErr: boom, want: boom.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := newRecords(order.Restore(order.Snapshot{SessionID: "cs_test_1", State: order.StateMailSent}))
			recs.failGets(tt.getErr)
			rec, err := Find(context.Background(), recs, tt.id)
			if tt.want == "" {
				require.NoError(t, err)
				require.Equal(t, recs.get("cs_test_1"), rec)
				return
			}
			require.EqualError(t, err, tt.want)
			var nf *NotFoundError
			require.Equal(t, tt.getErr == nil, errors.As(err, &nf), "only a missing record is a NotFoundError")
			require.Equal(t, tt.getErr == nil, errors.Is(err, order.ErrNotFound))
		})
	}
}
