package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClassify(t *testing.T) {
	name := func(i int) string {
		if i == len(categories) {
			return "other"
		}
		return categories[i].name
	}
	for _, tc := range []struct {
		frames []string
		want   string
	}{
		{[]string{"runtime.mallocgc", "encoding/json.Unmarshal", "github.com/filedrop/filedrop/internal/stripeapi.VerifyEvent", "net/http.(*conn).serve"},
			"JSON (verify's decode, the order message, the answer)"},
		{[]string{"crypto/sha256.block", "github.com/filedrop/filedrop/internal/stripeapi.VerifyEvent", "net/http.(*conn).serve"},
			"verification (HMAC, signature header; its JSON is above)"},
		{[]string{"internal/runtime/syscall/linux.Syscall6", "net/http.(*persistConn).writeLoop"}, "HTTP client: azcore's http.Client to Azurite"},
		{[]string{"crypto/hmac.New", "github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/internal/exported.(*SharedKeyCredPolicy).Do"},
			"azcore pipeline policies and azqueue (shared key, headers, retry, telemetry)"},
		{[]string{"runtime.scanobject", "runtime.gcDrain", "runtime.gcBgMarkWorker"}, "GC (background marking, assists, sweeping)"},
		{[]string{"runtime.futex", "runtime.findRunnable", "runtime.schedule"}, "Go scheduler, netpoll, timers (no request's)"},
		{[]string{"syscall.read"}, "other"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			require.Equal(t, tc.want, name(classify(tc.frames)))
		})
	}
}
