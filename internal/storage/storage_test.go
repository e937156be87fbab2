package storage_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/storage"
)

// TestHTTPClientKeepsConnectionsUnderConcurrency sends rounds of calls that
// are all in flight at once (the server answers none until every one has
// arrived) and counts the connections opened: every round after the first
// reuses the first round's, also beyond azcore's default of 10 idle
// connections per host.
func TestHTTPClientKeepsConnectionsUnderConcurrency(t *testing.T) {
	for _, inFlight := range []int{4, 16, 32} {
		t.Run(fmt.Sprintf("%d in flight", inFlight), func(t *testing.T) {
			var opened atomic.Int64
			arrived := make(chan struct{}, inFlight)
			release := make(chan struct{})
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				arrived <- struct{}{}
				select {
				case <-release:
				case <-r.Context().Done():
				}
				_, _ = io.WriteString(w, "ok")
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					opened.Add(1)
				}
			}
			srv.Start()
			t.Cleanup(srv.Close)

			client := storage.NewHTTPClient()
			t.Cleanup(client.CloseIdleConnections)
			for range 3 {
				var wg sync.WaitGroup
				errs := make(chan error, inFlight)
				for range inFlight {
					wg.Go(func() {
						ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
						defer cancel()
						req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
						if err == nil {
							var resp *http.Response
							if resp, err = client.Do(req); err == nil {
								_, _ = io.Copy(io.Discard, resp.Body)
								err = resp.Body.Close()
							}
						}
						errs <- err
					})
				}
				for range inFlight {
					select {
					case <-arrived:
					case <-time.After(10 * time.Second):
						t.Fatal("the calls did not all arrive")
					}
				}
				close(release)
				wg.Wait()
				close(errs)
				for err := range errs {
					require.NoError(t, err)
				}
				release = make(chan struct{})
			}
			require.Equal(t, int64(inFlight), opened.Load(), "connections opened over 3 rounds of %d calls in flight", inFlight)
		})
	}
}

func TestNewAccountUsesTheSizedClient(t *testing.T) {
	a, err := storage.NewAccount(storage.Options{AccountName: "devstoreaccount1"})
	require.NoError(t, err)
	c, ok := a.Transport.(*http.Client)
	require.True(t, ok, "the account's transport is an *http.Client, not azcore's default")
	tr, ok := c.Transport.(*http.Transport)
	require.True(t, ok)
	require.Equal(t, storage.IdleConnsPerHost, tr.MaxIdleConnsPerHost)
	require.Same(t, c, a.ClientOptions().Transport, "every client of the account shares it")
}

// TestIdentityWithoutManagedIdentityUsesTheAzureCLI: an identity-based
// account with neither AzureWebJobsStorage__credential nor __clientId (how
// scripts/deploy.sh runs handler setup on an operator's machine) takes its
// tokens from the default Azure credential, which reaches the operator's own
// Azure CLI login. The az on PATH is a stand-in that records its arguments
// and prints a token as the real one does.
func TestIdentityWithoutManagedIdentityUsesTheAzureCLI(t *testing.T) {
	dir := t.TempDir()
	record := filepath.Join(dir, "az.args")
	script := "#!/bin/sh\necho \"$@\" >> " + record + "\n" +
		`echo '{"accessToken":"token-from-the-cli","expiresOn":"2099-01-02 03:04:05.000000","expires_on":4070919845}'` + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "az"), []byte(script), 0o755))
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("AZURE_TOKEN_CREDENTIALS", "AzureCLICredential") // as deploy.sh sets it: no managed-identity probe
	for _, k := range []string{"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE"} {
		t.Setenv(k, "")
	}
	a, err := storage.NewAccount(storage.Options{AccountName: "shop", Identity: true})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := a.Credential.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://storage.azure.com/.default"}})
	require.NoError(t, err)
	require.Equal(t, "token-from-the-cli", tok.Token)
	args, err := os.ReadFile(record)
	require.NoError(t, err)
	require.Contains(t, string(args), "account get-access-token")
	require.Contains(t, string(args), "--resource https://storage.azure.com")

	// With a client id the managed identity is used, never the CLI.
	mi, err := storage.NewAccount(storage.Options{AccountName: "shop", Identity: true, ClientID: "00000000-0000-0000-0000-000000000001"})
	require.NoError(t, err)
	require.IsType(t, &azidentity.ManagedIdentityCredential{}, mi.Credential)
}
