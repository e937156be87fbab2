package config

import (
	"net/url"
	"regexp"
	"strings"
)

// DefaultAccentColor is SHOP_ACCENT_COLOR when unset: the colour of the
// mails' buttons.
const DefaultAccentColor = "#1a56db"

// MaxLogoURL is the longest SHOP_LOGO_URL, in bytes.
const MaxLogoURL = 2048

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// loadMailStyle reads how the mails look: SHOP_LOGO_URL and
// SHOP_ACCENT_COLOR.
func loadMailStyle(l *loader, m *Mail) {
	m.LogoURL = l.str("SHOP_LOGO_URL", "")
	if v := m.LogoURL; v != "" {
		u, err := url.Parse(v)
		switch {
		case err != nil || u.Host == "" || u.User != nil || strings.ContainsAny(v, " \t\r\n\"'<>"):
			l.problem("SHOP_LOGO_URL", "must be the https URL of an image, such as https://shop.example/logo.png%s", quoteURL(v))
		case u.Scheme != "https":
			l.problem("SHOP_LOGO_URL", "must start with https:// (mail clients block images over http)%s", quoteURL(v))
		case len(v) > MaxLogoURL:
			l.problem("SHOP_LOGO_URL", "is %d bytes long; use a URL of at most %d", len(v), MaxLogoURL)
		}
	}
	m.AccentColor = l.str("SHOP_ACCENT_COLOR", DefaultAccentColor)
	if !hexColor.MatchString(m.AccentColor) {
		l.problem("SHOP_ACCENT_COLOR", "must be a colour written #rrggbb, such as %s, not %q", DefaultAccentColor, m.AccentColor)
		m.AccentColor = DefaultAccentColor
	}
	m.AccentColor = strings.ToLower(m.AccentColor)
}
