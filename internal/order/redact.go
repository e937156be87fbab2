package order

import "net/url"

// RedactURL returns u without its query string, so that a signed link (whose
// query is the credential) can be logged. An unparsable u gives "<invalid url>".
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "<invalid url>"
	}
	if p.RawQuery != "" {
		p.RawQuery = "REDACTED"
	}
	p.User = nil
	p.Fragment = ""
	return p.String()
}
