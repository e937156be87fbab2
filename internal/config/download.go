package config

import (
	"strconv"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/secret"
)

// Order-page defaults.
const (
	// DefaultDownloadWindow is how long after the payment the order page
	// offers the files.
	DefaultDownloadWindow = 720 * time.Hour
	// DefaultDownloadLimit is how many times each file may be downloaded.
	DefaultDownloadLimit = 10
	// DefaultDownloadSASTTL is how long the link minted for one click works.
	DefaultDownloadSASTTL = 10 * time.Minute
	// MinOrderLinkSecretBytes is the shortest ORDER_LINK_SECRET accepted.
	MinOrderLinkSecretBytes = 32
)

// DownloadLinks is DOWNLOAD_LINKS: what the download mail links to.
type DownloadLinks string

const (
	// LinksPage mails the order page's stable link (the default).
	LinksPage DownloadLinks = "page"
	// LinksDirect mails a time-limited link per file, for deployments that
	// do not expose the Download function.
	LinksDirect DownloadLinks = "direct"
)

// Download holds the order page's settings.
type Download struct {
	// Links is DOWNLOAD_LINKS: page (default) or direct.
	Links DownloadLinks
	// PublicBaseURL is PUBLIC_BASE_URL without a trailing slash: the app's
	// https://<app>.azurewebsites.net or a custom domain.
	PublicBaseURL string
	// LinkSecrets is ORDER_LINK_SECRET, comma-separated: links are signed
	// with the first and accepted with any.
	LinkSecrets []secret.Value
	// Window is DOWNLOAD_WINDOW: how long after the payment the files may
	// be downloaded (default 720h).
	Window time.Duration
	// Limit is DOWNLOAD_LIMIT: downloads per file (default 10; 0 unlimited).
	Limit int
	// SASTTL is DOWNLOAD_SAS_TTL: how long the link minted for one click
	// works (default 10m).
	SASTTL time.Duration
}

// Page reports whether the mail links to the order page.
func (d Download) Page() bool { return d.Links == LinksPage }

// Secrets returns the link secrets themselves, for the one call that needs them.
func (d Download) Secrets() []string {
	out := make([]string, len(d.LinkSecrets))
	for i, s := range d.LinkSecrets {
		out[i] = s.Reveal()
	}
	return out
}

func loadDownload(l *loader, st Storage) Download {
	d := Download{Links: DownloadLinks(l.oneOf("DOWNLOAD_LINKS", string(LinksPage), string(LinksPage), string(LinksDirect)))}
	d.Window = l.duration("DOWNLOAD_WINDOW", DefaultDownloadWindow)
	d.SASTTL = l.duration("DOWNLOAD_SAS_TTL", DefaultDownloadSASTTL)
	switch {
	case d.SASTTL < MinLinkTTL:
		l.problem("DOWNLOAD_SAS_TTL", "must be at least %s (the browser must start the download in time), not %s", MinLinkTTL, d.SASTTL)
	case d.SASTTL > 24*time.Hour:
		l.problem("DOWNLOAD_SAS_TTL", "must be at most 24h: a link minted per click needs to work only while the download starts, not %s", d.SASTTL)
	}
	d.Limit = DefaultDownloadLimit
	if v := l.str("DOWNLOAD_LIMIT", ""); v == "" {
		l.defaulted("DOWNLOAD_LIMIT", strconv.Itoa(DefaultDownloadLimit))
	} else if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 1_000_000 {
		l.problem("DOWNLOAD_LIMIT", "must be a whole number of downloads per file from 0 (unlimited) to 1000000, not %q", v)
	} else {
		d.Limit = n
	}
	if !d.Page() {
		// direct: the order page is still served if the function is
		// deployed, but nothing requires it.
		d.PublicBaseURL = strings.TrimSuffix(l.str("PUBLIC_BASE_URL", ""), "/")
		d.LinkSecrets = splitSecrets(l.str("ORDER_LINK_SECRET", ""))
	} else {
		d.PublicBaseURL = strings.TrimSuffix(l.required("PUBLIC_BASE_URL",
			"the app's public URL, such as https://<app>.azurewebsites.net, which the mailed order links start with (or set DOWNLOAD_LINKS=direct)"), "/")
		d.LinkSecrets = splitSecrets(l.required("ORDER_LINK_SECRET",
			"a random secret of at least 32 characters that signs the order links, such as the output of: openssl rand -base64 32"))
	}
	if d.PublicBaseURL != "" {
		if problem := publicURLProblem(d.PublicBaseURL); problem != "" {
			l.problem("PUBLIC_BASE_URL", "%s%s", problem, quoteURL(d.PublicBaseURL))
		}
	}
	for i, s := range d.LinkSecrets {
		if len(s.Reveal()) < MinOrderLinkSecretBytes {
			l.problem("ORDER_LINK_SECRET", "secret %d of %d is %d characters; each must have at least %d (openssl rand -base64 32 makes one)",
				i+1, len(d.LinkSecrets), len(s.Reveal()), MinOrderLinkSecretBytes)
		}
	}
	_ = st
	return d
}

func splitSecrets(v string) []secret.Value {
	var out []secret.Value
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, secret.Value(s))
		}
	}
	return out
}

// publicURLProblem returns what is wrong with PUBLIC_BASE_URL, or "".
func publicURLProblem(raw string) string {
	if p := baseURLProblem(raw); p != "" {
		return strings.Replace(p, "https://downloads.example.com/originals", "https://<app>.azurewebsites.net", 1)
	}
	return ""
}
