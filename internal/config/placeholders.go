package config

// The settings below belong to later stages; each moves to a file of its own
// (links.go, mail.go, ledger.go) when its stage lands.

// Links holds the download-link settings.
type Links struct{}

func loadLinks(l *loader, st Storage) Links { return Links{} }

// Mail holds the mail settings.
type Mail struct{}

func loadMail(l *loader) Mail { return Mail{} }

// Ledger holds the order-ledger settings.
type Ledger struct{}

func loadLedger(l *loader) Ledger { return Ledger{} }
