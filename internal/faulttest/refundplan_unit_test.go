package faulttest

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
)

func TestPlanRefunds(t *testing.T) {
	cases := []struct {
		name    string
		paid    int
		refunds float64
		want    int // refunded sessions
	}{
		{"none planned", 100, 0, 0},
		{"a tenth", 100, 0.1, 10},
		{"at least one of each timing", 10, 0.1, minRefunds},
		{"no more than the paid sessions without a delayed payment", 5, 1, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sh := shape("unit", tc.paid, time.Minute)
			sh.refunds = tc.refunds
			p := newPlan(sh, rand.New(rand.NewPCG(1, 2)))
			refunded, by := p.refunded()
			require.Len(t, refunded, tc.want)
			if tc.want >= minRefunds {
				require.Positive(t, by[refundBefore])
				require.Positive(t, by[refundDuring])
				require.Positive(t, by[refundAfter])
			}
			for _, s := range refunded {
				require.Equal(t, kindPaid, s.kind)
				require.False(t, s.delayed, s.id)
				i := 0 // the refund is first when it comes before the completed event, else last
				if s.refund != refundBefore {
					i = len(s.steps) - 1
				}
				st := s.steps[i]
				require.Equal(t, order.EventChargeRefunded, st.eventType)
				require.Equal(t, s.refund, st.refund)
				require.NotEmpty(t, st.eventID)
				body, sig, err := signedEvent(s.id, st, time.Now())
				require.NoError(t, err)
				require.NotEmpty(t, sig)
				require.Contains(t, string(body), `"`+chargeID(s.id)+`"`)
				require.Contains(t, string(body), `"`+paymentIntent(s.id)+`"`)
				require.True(t, order.ValidSessionID(s.id))
			}
		})
	}
}
