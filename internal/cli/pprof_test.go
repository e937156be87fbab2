package cli

import (
	"errors"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPprofListenerOnlyOnLoopback(t *testing.T) {
	for _, tc := range []struct {
		name, addr string
		listens    bool
		refused    bool
	}{
		{name: "unset: off", addr: ""},
		{name: "loopback, any port", addr: "127.0.0.1:0", listens: true},
		{name: "every interface", addr: "0.0.0.0:0", refused: true},
		{name: "no host: every interface", addr: ":0", refused: true},
		{name: "a name, even localhost", addr: "localhost:0", refused: true},
		{name: "another address", addr: "10.1.2.3:6060", refused: true},
		{name: "no port", addr: "127.0.0.1", refused: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := pprofListener(tc.addr)
			if tc.refused {
				var ee *ExitError
				require.True(t, errors.As(err, &ee), "refused as a usage error: %v", err)
				require.Equal(t, ExitUsage, ee.Code)
				require.Nil(t, ln)
				return
			}
			require.NoError(t, err)
			if !tc.listens {
				require.Nil(t, ln)
				return
			}
			require.NotNil(t, ln)
			t.Cleanup(func() { _ = ln.Close() })
			require.True(t, ln.Addr().(*net.TCPAddr).IP.IsLoopback())
		})
	}
}
