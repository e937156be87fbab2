package config

import "strings"

// DefaultLedgerTable is the table of the order ledger.
const DefaultLedgerTable = "orders"

// Ledger holds the order-ledger settings.
type Ledger struct {
	// Table is LEDGER_TABLE: the table, in the storage account behind
	// AzureWebJobsStorage, that holds one record per Checkout Session
	// (default orders).
	Table string
}

func loadLedger(l *loader) Ledger {
	c := Ledger{Table: l.str("LEDGER_TABLE", DefaultLedgerTable)}
	if problem := tableNameProblem(c.Table); problem != "" {
		l.problem("LEDGER_TABLE", "%s, not %q", problem, c.Table)
	}
	return c
}

// tableNameProblem says what is wrong with an Azure table name, or "".
func tableNameProblem(name string) string {
	const rule = "must be a table name: 3 to 63 letters and digits, starting with a letter"
	if len(name) < 3 || len(name) > 63 {
		return rule
	}
	for i, r := range name {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || r < '0' || r > '9') {
			return rule
		}
	}
	if strings.EqualFold(name, "tables") {
		return `must not be "tables", a name the service reserves`
	}
	return ""
}
