package config

import (
	"net"
	"net/url"
	"strings"
	"time"
)

// Download-link defaults and limits.
const (
	// DefaultContainer is the container of the originals.
	DefaultContainer = "originals"
	// DefaultLinkTTL is how long a download link works.
	DefaultLinkTTL = 720 * time.Hour
	// MaxDelegatedLinkTTL is the longest a link signed with a user delegation
	// key (identity-based storage) can work: the key itself lives at most 7
	// days. It is also the default TTL in that mode.
	MaxDelegatedLinkTTL = 7 * 24 * time.Hour
	// MaxLinkTTL bounds a link signed with the account key: such a link can
	// only be revoked by rotating the key.
	MaxLinkTTL = 365 * 24 * time.Hour
	// MinLinkTTL is the shortest useful link: it must outlive the mail.
	MinLinkTTL = time.Minute
)

// Links holds the download-link settings.
type Links struct {
	// Container is ORIGINALS_CONTAINER: the private container holding the
	// originals (default originals).
	Container string
	// TTL is DOWNLOAD_LINK_TTL: how long a link works (default 720h; with an
	// identity-based storage connection 168h, which is also the most).
	TTL time.Duration
	// BaseURL is DOWNLOAD_BASE_URL, without a trailing slash: when set, it
	// replaces <blob endpoint>/<container> in every link (a custom domain in
	// front of the container). Empty means the container's own URL.
	BaseURL string
}

func loadLinks(l *loader, st Storage) Links {
	c := Links{
		Container: l.str("ORIGINALS_CONTAINER", DefaultContainer),
		BaseURL:   strings.TrimSuffix(l.str("DOWNLOAD_BASE_URL", ""), "/"),
	}
	if problem := containerNameProblem(c.Container); problem != "" {
		l.problem("ORIGINALS_CONTAINER", "%s, not %q", problem, c.Container)
	}
	def := DefaultLinkTTL
	if st.Identity {
		def = MaxDelegatedLinkTTL
	}
	c.TTL = l.duration("DOWNLOAD_LINK_TTL", def)
	switch {
	case c.TTL < MinLinkTTL:
		l.problem("DOWNLOAD_LINK_TTL", "must be at least %s, not %s", MinLinkTTL, c.TTL)
	case st.Identity && c.TTL > MaxDelegatedLinkTTL:
		l.problem("DOWNLOAD_LINK_TTL", "must be at most 168h with an identity-based %s connection "+
			"(links are signed with a user delegation key, which lives at most 7 days), not %s", StorageConnection, c.TTL)
	case c.TTL > MaxLinkTTL:
		l.problem("DOWNLOAD_LINK_TTL", "must be at most 8760h (a year), not %s", c.TTL)
	}
	switch {
	case c.BaseURL == "" && st.BlobURL != "":
		l.defaulted("DOWNLOAD_BASE_URL", st.BlobURL+"/"+c.Container)
	case c.BaseURL == "":
	default:
		if problem := baseURLProblem(c.BaseURL); problem != "" {
			l.problem("DOWNLOAD_BASE_URL", "%s%s", problem, quoteURL(c.BaseURL))
			c.BaseURL = ""
		}
	}
	return c
}

// containerNameProblem returns what is wrong with a blob container name, or "".
func containerNameProblem(name string) string {
	const rule = "must be a container name: 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit"
	if len(name) < 3 || len(name) > 63 || name[0] == '-' || name[len(name)-1] == '-' || strings.Contains(name, "--") {
		return rule
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return rule
		}
	}
	return ""
}

// baseURLProblem returns what is wrong with a DOWNLOAD_BASE_URL, or "".
func baseURLProblem(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return "must be an absolute URL such as https://downloads.example.com/originals"
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "?") || strings.HasSuffix(raw, "#"):
		return "must have no user, query or fragment: the link's signature is appended to it"
	case u.Scheme == "https":
		return ""
	case u.Scheme == "http" && loopback(u.Hostname()):
		return ""
	default:
		return "must be an https URL (http only for localhost or 127.0.0.1)"
	}
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
