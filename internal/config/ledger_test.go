package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLoadLedger(t *testing.T) {
	tests := []struct {
		name    string
		table   string
		want    Ledger
		problem string // a substring of the only problem; "" for none
	}{
		{name: "default", want: Ledger{Table: "orders"}},
		{name: "set", table: "Orders2", want: Ledger{Table: "Orders2"}},
		{name: "trimmed", table: " orders ", want: Ledger{Table: "orders"}},
		{name: "shortest", table: "abc", want: Ledger{Table: "abc"}},
		{name: "longest", table: "a" + strings.Repeat("9", 62), want: Ledger{Table: "a" + strings.Repeat("9", 62)}},
		{name: "too short", table: "ab", problem: `LEDGER_TABLE must be a table name: 3 to 63 letters and digits, starting with a letter, not "ab"`},
		{name: "too long", table: strings.Repeat("a", 64), problem: "LEDGER_TABLE must be a table name"},
		{name: "starts with a digit", table: "1orders", problem: "LEDGER_TABLE must be a table name"},
		{name: "hyphen", table: "my-orders", problem: "LEDGER_TABLE must be a table name"},
		{name: "underscore", table: "my_orders", problem: "LEDGER_TABLE must be a table name"},
		{name: "quote", table: "ord'ers", problem: "LEDGER_TABLE must be a table name"},
		{name: "non-ASCII letter", table: "bestellungenä", problem: "LEDGER_TABLE must be a table name"},
		{name: "reserved", table: "Tables", problem: `LEDGER_TABLE must not be "tables"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &loader{get: func(k string) string {
				if k == "LEDGER_TABLE" {
					return tt.table
				}
				return ""
			}}
			got := loadLedger(l)
			if tt.problem == "" {
				require.Empty(t, l.errs)
				require.Equal(t, tt.want, got)
				return
			}
			require.Len(t, l.errs, 1)
			require.Contains(t, l.errs[0].Error(), tt.problem)
		})
	}
}

func TestLoadReportsLedgerProblems(t *testing.T) {
	env := map[string]string{
		"STRIPE_WEBHOOK_SECRET":            "whsec_x",
		"STRIPE_API_KEY":                   "sk_test_x",
		"AzureWebJobsStorage__accountName": "acct",
		"LEDGER_TABLE":                     "my-orders",
	}
	_, err := Load(func(k string) string { return env[k] })
	var cerr *Error
	require.True(t, errors.As(err, &cerr), "got %v", err)
	require.Contains(t, err.Error(), "LEDGER_TABLE must be a table name")
}
