package processorder

// WithOrderPage makes the download mail link to the order page (link gives
// its URL for a session id) instead of to each file: the items then carry no
// link of their own, and the page mints one per click. It returns s.
func (s *Stage) WithOrderPage(link func(sessionID string) string) *Stage {
	s.orderPage = link
	return s
}
