package dataverse_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/dataverse/dataversetest"
	"github.com/filedrop/filedrop/internal/order"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// transcript writes the requests as docs/dataverse.md shows them: method
// and URI, the headers the Web API reads (the token masked), the body and
// the answer's status.
func transcript(reqs []dataversetest.Request, host string) string {
	var b strings.Builder
	for _, r := range reqs {
		fmt.Fprintf(&b, "%s %s\n", r.Method, r.URI)
		for _, k := range dataversetest.ReadHeaders() {
			v := r.Header.Get(k)
			if v == "" {
				continue
			}
			if k == "Authorization" {
				v = "Bearer <token for " + host + "/.default>"
			}
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
		if r.Body != "" {
			fmt.Fprintf(&b, "\n%s\n", r.Body)
		}
		fmt.Fprintf(&b, "→ %d\n\n", r.Status)
	}
	return b.String()
}

// TestRequestsAsDocumented pins the exact requests the client sends, with
// and without the alternate key on contact.emailaddress1, and keeps
// docs/dataverse.md showing them.
func TestRequestsAsDocumented(t *testing.T) {
	var all strings.Builder
	for _, key := range []bool{true, false} {
		e := newEnv(t, orders, dataversetest.Contacts(key), dataversetest.OrderTable(orders, true))
		paid := event(order.TypePaid, "o'brien+shop@example.com", "Pat O'Brien", t0)
		if key {
			paid.Customer.Email = "ada@example.com"
			paid.Customer.Name = "Ada Lovelace"
		}
		_, err := e.client.Upsert(t.Context(), paid)
		require.NoError(t, err)
		refunded := event(order.TypeRefunded, paid.Customer.Email, paid.Customer.Name, t0.Add(90*time.Minute))
		_, err = e.client.Upsert(t.Context(), refunded)
		require.NoError(t, err)
		title := map[bool]string{true: "With the alternate key on contact.emailaddress1", false: "Without it (and for an address a key cannot hold)"}[key]
		fmt.Fprintf(&all, "### %s: order.paid, then order.refunded\n\n```http\n%s```\n\n", title, strings.TrimSuffix(transcript(e.srv.Requests(), "https://<org>.crm.dynamics.com"), "\n"))
	}
	got := strings.ReplaceAll(all.String(), "\n\n```\n", "\n```\n")
	path := filepath.Join("testdata", "requests.md")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), got, "run go test -update to accept a deliberate change, and copy testdata/requests.md into docs/dataverse.md")
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "dataverse.md"))
	require.NoError(t, err)
	require.Contains(t, string(doc), got, "docs/dataverse.md shows testdata/requests.md")
}
