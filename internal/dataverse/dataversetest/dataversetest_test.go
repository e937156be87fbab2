package dataversetest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/dataverse/dataversetest"
)

// TestServerChecks: the server refuses what the service refuses (or what
// the pages say not to send), with the service's error shape.
func TestServerChecks(t *testing.T) {
	srv := dataversetest.New(t, dataversetest.Contacts(false), dataversetest.OrderTable("new_orders", true))
	id := srv.Insert("contacts", dataversetest.Row{"emailaddress1": "ada@example.com"})
	good := map[string]string{"Authorization": "Bearer " + dataversetest.Token, "Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0", "Content-Type": "application/json"}
	with := func(edits ...string) map[string]string {
		h := map[string]string{}
		for k, v := range good {
			h[k] = v
		}
		for i := 0; i < len(edits); i += 2 {
			if edits[i+1] == "" {
				delete(h, edits[i])
			} else {
				h[edits[i]] = edits[i+1]
			}
		}
		return h
	}
	tests := []struct {
		name, method, path string
		header             map[string]string
		body               string
		status             int
		code, message      string
	}{
		{"no token", "GET", "contacts", with("Authorization", ""), "", 401, "", ""},
		{"another token", "GET", "contacts", with("Authorization", "Bearer x"), "", 401, "", ""},
		{"no OData-Version", "GET", "contacts", with("OData-Version", ""), "", 400, "", "OData-Version"},
		{"no OData-MaxVersion", "GET", "contacts", with("OData-MaxVersion", ""), "", 400, "", "OData-MaxVersion"},
		{"no Accept", "GET", "contacts", with("Accept", ""), "", 400, "", "Accept"},
		{"a write without Content-Type", "PATCH", "contacts(" + id + ")", with("Content-Type", ""), `{}`, 415, "", "Content-Type"},
		{"an unknown entity set", "GET", "Contact", good, "", 404, "0x8006088a", "Resource not found for the segment 'Contact'."},
		{"an unknown column", "GET", "contacts?$select=Name", good, "", 400, "0x0", "Could not find a property named 'Name' on type 'Microsoft.Dynamics.CRM.contact'."},
		{"a key that is none", "PATCH", "contacts(emailaddress1='ada%40example.com')", good, `{}`, 400, "0x8006088a", "The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.contact'."},
		{"an unencoded + in a filter", "GET", "contacts?$filter=emailaddress1%20eq%20'a+b%40example.com'", good, "", 400, "", "not percent-encoded"},
		{"an unencoded @ in a key", "GET", "new_orders(new_sessionid='a@b')", good, "", 400, "", "not percent-encoded"},
		{"an unterminated literal", "GET", "contacts?$filter=emailaddress1%20eq%20'a", good, "", 400, "", "unterminated literal"},
		{"a key value that does not work", "GET", "new_orders(new_sessionid='a%2Bb')", good, "", 400, "", "does not work"},
		{"a write to an unknown column", "PATCH", "contacts(" + id + ")", good, `{"nickname":"x"}`, 400, "0x80060888", "The property 'nickname' does not exist"},
		{"a name too long", "PATCH", "contacts(" + id + ")", good, `{"firstname":"` + strings.Repeat("x", 51) + `"}`, 400, "0x80044331", "exceeded the maximum allowed length of '50'"},
		{"a number as text", "PATCH", "new_orders(new_sessionid='cs_1')", good, `{"new_amount":"12"}`, 400, "", "not of its column's type"},
		{"update-only of a missing row", "PATCH", "contacts(00000000-0000-0000-0000-000000000001)", with("If-Match", "*"), `{}`, 404, "0x80040217", "contact With Id = 00000000-0000-0000-0000-000000000001 Does Not Exist"},
		{"create-only of a row that exists", "PATCH", "contacts(" + id + ")", with("If-None-Match", "*"), `{}`, 412, "", "A record with matching key values already exists."},
		{"an old ETag", "PATCH", "contacts(" + id + ")", with("If-Match", `W/"0"`), `{}`, 412, "", "doesn't match the RowVersion"},
		{"an unsupported query option", "GET", "contacts?$count=true", good, "", 400, "", "not supported"},
		{"ok: a filter", "GET", "contacts?$select=contactid&$filter=emailaddress1%20eq%20'ADA%40example.com'&$orderby=createdon%20asc&$top=2", good, "", 200, "", ""},
		{"ok: create by key", "PATCH", "new_orders(new_sessionid='cs_1')", with("If-None-Match", "*"), `{"new_state":"paid","new_amount":12}`, 204, "", ""},
		{"ok: update by key with representation", "PATCH", "new_orders(new_sessionid='cs_1')?$select=new_state", with("Prefer", "return=representation"), `{"new_state":"links_ready"}`, 200, "", ""},
		{"a duplicate key value", "PATCH", "new_orders(new_sessionid='cs_2')", good, `{"new_sessionid":"CS_1"}`, 412, "0x80060892", "already exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+dataversetest.APIPath+tt.path, strings.NewReader(tt.body))
			require.NoError(t, err)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, tt.status, resp.StatusCode, "%s", body)
			if tt.status == 401 {
				require.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer authorization_uri=")
				return
			}
			if tt.status < 300 {
				return
			}
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			require.NoError(t, json.Unmarshal(body, &e), "%s", body)
			require.Equal(t, tt.code, e.Error.Code)
			require.Contains(t, e.Error.Message, tt.message)
		})
	}
	rows := srv.Rows("new_orders")
	require.Len(t, rows, 1)
	require.Equal(t, "cs_1", rows[0]["new_sessionid"], "the key's value from the URL on create")
	require.Equal(t, "links_ready", rows[0]["new_state"])
}

// TestServerFaults: injected faults come first, then the server serves
// again.
func TestServerFaults(t *testing.T) {
	srv := dataversetest.New(t, dataversetest.Contacts(true))
	srv.Fail(2, dataversetest.Fault{Status: 429, RetryAfter: "9"})
	get := func() *http.Response {
		req, err := http.NewRequestWithContext(t.Context(), "GET", srv.URL+dataversetest.APIPath+"contacts", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+dataversetest.Token)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("OData-MaxVersion", "4.0")
		req.Header.Set("OData-Version", "4.0")
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		return resp
	}
	for range 2 {
		resp := get()
		require.Equal(t, 429, resp.StatusCode)
		require.Equal(t, "9", resp.Header.Get("Retry-After"))
	}
	require.Equal(t, 200, get().StatusCode)
	require.Len(t, srv.Requests(), 3)
}
