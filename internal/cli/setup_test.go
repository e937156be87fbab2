package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/testenv"
)

// TestSetupNeedsOnlyStorageSettings: handler setup, as scripts/deploy.sh runs
// it on an operator's machine, reads the storage settings and nothing else:
// no Stripe key, mail transport or order-page secret; a wrong storage setting
// is still refused.
func TestSetupNeedsOnlyStorageSettings(t *testing.T) {
	az := testenv.StartAzurite(t)
	originals := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(originals, "harbour.jpg"), []byte("jpeg"), 0o600))
	tests := []struct {
		name     string
		settings map[string]string
		want     []string
		code     int
	}{
		{name: "storage only", settings: map[string]string{"AzureWebJobsStorage": az.ConnectionString},
			want: []string{"created queue process-order", "created queue send-link-poison", "created queue delivery-reports-poison", "created table orders", "uploaded harbour.jpg"}},
		{name: "again, nothing to do", settings: map[string]string{"AzureWebJobsStorage": az.ConnectionString},
			want: []string{"setup: everything already exists", "originals: 0 files uploaded, 1 already present"}},
		{name: "a wrong storage setting", settings: map[string]string{"AzureWebJobsStorage__accountName": "shop", "AzureWebJobsStorage__credential": "password"},
			want: []string{"AzureWebJobsStorage__credential must be managedidentity"}, code: ExitConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var stdout, stderr bytes.Buffer
			err := Run(ctx, Env{Args: []string{"setup", "--originals", originals}, Getenv: func(k string) string { return tt.settings[k] },
				Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Dir: t.TempDir()})
			require.Equal(t, tt.code, exitCode(err), "err: %v\nstderr: %s", err, stderr.String())
			out := stdout.String()
			if err != nil {
				out = err.Error()
			}
			for _, w := range tt.want {
				require.Contains(t, out, w)
			}
			require.NotContains(t, out, "STRIPE", "setup asks for no Stripe setting")
		})
	}
}
