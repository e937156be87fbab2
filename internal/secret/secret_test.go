package secret_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/secret"
	"github.com/filedrop/filedrop/internal/secret/secrettest"
)

// mark is part of every secret in these tests; no output may hold it.
const mark = "S3cr3tXY"

func TestValueNeverPrintsAnyWay(t *testing.T) {
	for _, tt := range []struct {
		name string
		v    secret.Value
		hint string
	}{
		{"stripe key", "sk_live_" + mark, "sk_live_…"},
		{"restricted key", "rk_test_" + mark, "rk_test_…"},
		{"webhook secret", "whsec_" + mark, "whsec_…"},
		{"anything else", mark, "…"},
		{"storage account key", mark + "a2V5", "…"},
		{"unset", "", "(unset)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, out := range secrettest.Prints(tt.v) {
				require.NotContains(t, out, mark)
			}
			require.Equal(t, tt.hint, tt.v.String())
			require.Equal(t, tt.hint, fmt.Sprint(tt.v))
			require.Equal(t, `"`+tt.hint+`"`, fmt.Sprintf("%q", tt.v))
			require.Equal(t, `"`+tt.hint+`"`, fmt.Sprintf("%#v", tt.v))
			require.Equal(t, tt.hint, tt.v.LogValue().String())
			b, err := json.Marshal(tt.v)
			require.NoError(t, err)
			require.Equal(t, `"`+tt.hint+`"`, string(b))
			txt, err := tt.v.MarshalText()
			require.NoError(t, err)
			require.Equal(t, tt.hint, string(txt))
			require.Equal(t, string(tt.v), tt.v.Reveal())
			if tt.v != "" {
				require.NotContains(t, fmt.Sprintf("%x", tt.v), fmt.Sprintf("%x", mark), "%x does not hex-encode the secret")
			}
		})
	}
	require.Equal(t, "    whsec_…", fmt.Sprintf("%11s", secret.Value("whsec_"+mark)))
	require.Equal(t, "         …", fmt.Sprintf("%10s", secret.Value(mark)))
}
