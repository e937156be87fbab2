package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"

	"github.com/filedrop/filedrop/internal/secret"
)

// MailTransport names the service that carries the mail. Exactly one is
// configured.
type MailTransport string

const (
	// MailACS is Azure Communication Services Email signed with the access
	// key of ACS_CONNECTION_STRING.
	MailACS MailTransport = "acs"
	// MailACSEntra is Azure Communication Services Email with a Microsoft
	// Entra ID token (a managed identity) for ACS_ENDPOINT.
	MailACSEntra MailTransport = "acs-entra"
	// MailSMTP is an SMTP submission server (SMTP_URL).
	MailSMTP MailTransport = "smtp"
	// MailOutbox writes each mail as an .eml file into EMAIL_OUTBOX_DIR; the
	// local default.
	MailOutbox MailTransport = "outbox"
)

// The settings that choose the transport; exactly one must be set.
var mailTransportSettings = []string{"ACS_CONNECTION_STRING", "ACS_ENDPOINT", "SMTP_URL", "EMAIL_OUTBOX_DIR"}

// DefaultShopName is SHOP_NAME when unset.
const DefaultShopName = "Our shop"

// Mail holds the settings of the mails SendLink sends and of the one
// transport that carries them.
type Mail struct {
	// ShopName is SHOP_NAME, how the mails name the shop; default
	// DefaultShopName.
	ShopName string
	// Sender is EMAIL_SENDER (required): the From address, optionally with a
	// display name ("Our shop <DoNotReply@example.com>"). With ACS it must be
	// an address of a domain connected to the resource.
	Sender string
	// ReplyTo is EMAIL_REPLY_TO: an address the customer can answer; empty
	// for none.
	ReplyTo string
	// Bcc is EMAIL_BCC: the bare addresses (the setting separates them by
	// commas) that get a blind copy of every mail, such as the shop's
	// support; empty for none.
	Bcc []string
	// Support is SUPPORT_EMAIL: the bare address the mails and the order
	// page tell the customer to write to; default the address of ReplyTo,
	// else none (the sender is often a DoNotReply@ address: see Warnings).
	Support string
	// LogoURL is SHOP_LOGO_URL: the https URL of the logo atop the mails;
	// empty for the shop's name in its place.
	LogoURL string
	// AccentColor is SHOP_ACCENT_COLOR, the colour of the mails' buttons
	// (#rrggbb, lowercase); default DefaultAccentColor.
	AccentColor string

	// Transport is the configured transport; its settings are in ACS, SMTP
	// or OutboxDir.
	Transport MailTransport
	ACS       ACS
	SMTP      SMTP
	// OutboxDir is EMAIL_OUTBOX_DIR, the folder of the MailOutbox transport.
	OutboxDir string
	// RateLimit is MAIL_RATE_LIMIT: the sends the mail service accepts
	// from one instance (zero, the default: learnt from its refusals).
	RateLimit MailRate
}

// MailRate is a mail service's quota: MAIL_RATE_LIMIT, such as 30/m,100/h.
type MailRate struct {
	// PerMinute is the sends a minute; 0 learns them from the service's
	// refusals.
	PerMinute int
	// PerHour is the sends in any hour; 0 for no hourly limit.
	PerHour int
}

// Limits of MAIL_RATE_LIMIT.
const (
	MaxMailPerMinute = 100000
	MaxMailPerHour   = 100 * MaxMailPerMinute
)

// parseMailRate reads MAIL_RATE_LIMIT: a comma-separated list of N/m and
// N/h, each at most once; a bare N is per minute.
func parseMailRate(v string) (MailRate, error) {
	var r MailRate
	seen := map[string]bool{}
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(part)
		num, unit, found := strings.Cut(part, "/")
		num, unit = strings.TrimSpace(num), strings.TrimSpace(unit)
		if !found {
			unit = "m"
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 || num == "" || num[0] == '+' {
			return MailRate{}, fmt.Errorf("%q is not a whole number of mails", num)
		}
		if seen[unit] {
			return MailRate{}, fmt.Errorf("the rate per %s is given twice", unitName(unit))
		}
		seen[unit] = true
		switch unit {
		case "m":
			if n > MaxMailPerMinute {
				return MailRate{}, fmt.Errorf("%d a minute is more than %d", n, MaxMailPerMinute)
			}
			r.PerMinute = n
		case "h":
			if n > MaxMailPerHour {
				return MailRate{}, fmt.Errorf("%d an hour is more than %d", n, MaxMailPerHour)
			}
			r.PerHour = n
		default:
			return MailRate{}, fmt.Errorf("%q is not a unit: write /m for a minute or /h for an hour", "/"+unit)
		}
	}
	return r, nil
}

func unitName(unit string) string {
	if unit == "h" {
		return "hour"
	}
	return "minute"
}

// ACS holds the Azure Communication Services settings.
type ACS struct {
	// Endpoint is the resource's endpoint, https://<resource>.communication.azure.com,
	// from ACS_CONNECTION_STRING or ACS_ENDPOINT.
	Endpoint string
	// AccessKey is the base64 access key of ACS_CONNECTION_STRING; empty
	// with ACS_ENDPOINT.
	AccessKey secret.Value
	// ClientID is ACS_CLIENT_ID, the client id of a user-assigned managed
	// identity (ACS_ENDPOINT only); empty for the system-assigned identity or
	// the default credential chain.
	ClientID string
}

// SMTP holds the SMTP settings, parsed from SMTP_URL
// (smtp://user:password@host:587, or smtps:// for implicit TLS).
type SMTP struct {
	Host string
	// Port defaults to 587 for smtp:// and 465 for smtps://.
	Port     int
	Username string
	Password secret.Value
	// ImplicitTLS is true for smtps://: TLS from the first byte.
	ImplicitTLS bool
	// StartTLS is true unless the URL says ?starttls=false: the connection
	// must be upgraded with STARTTLS before anything else is sent.
	StartTLS bool
	// InsecureSkipVerify is ?insecure=true: the server's certificate is not
	// verified. For test servers only.
	InsecureSkipVerify bool
}

// Addr is host:port.
func (s SMTP) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

func loadMail(l *loader) Mail {
	m := Mail{ShopName: l.str("SHOP_NAME", DefaultShopName)}
	if strings.ContainsAny(m.ShopName, "\r\n") {
		l.problem("SHOP_NAME", "must be a single line")
	}
	loadMailStyle(l, &m)

	sender := l.required("EMAIL_SENDER", "the From address of the mails, such as DoNotReply@<your verified domain>")
	mailAddress(l, "EMAIL_SENDER", sender)
	m.Sender = sender
	m.ReplyTo = l.str("EMAIL_REPLY_TO", "")
	replyAddr := mailAddress(l, "EMAIL_REPLY_TO", m.ReplyTo)
	if v := l.str("EMAIL_BCC", ""); v != "" {
		list, err := mail.ParseAddressList(v)
		if err != nil {
			l.problem("EMAIL_BCC", "must be email addresses separated by commas, not %q: %v", v, err)
		}
		for _, a := range list {
			m.Bcc = append(m.Bcc, a.Address)
		}
	}
	m.Support = l.str("SUPPORT_EMAIL", "")
	if m.Support != "" {
		m.Support = mailAddress(l, "SUPPORT_EMAIL", m.Support)
	} else if replyAddr != "" {
		m.Support = replyAddr
		l.defaulted("SUPPORT_EMAIL", m.Support)
	}

	if v := l.str("MAIL_RATE_LIMIT", ""); v == "" {
		l.defaulted("MAIL_RATE_LIMIT", "0")
	} else if r, err := parseMailRate(v); err != nil {
		l.problem("MAIL_RATE_LIMIT", "must be the mails your mail service accepts a minute and, if it limits them, an hour, "+
			"such as 30/m,100/h (a bare number is a minute; 0 learns the rate from its refusals), not %q: %v", v, err)
	} else {
		m.RateLimit = r
	}

	var set []string
	for _, name := range mailTransportSettings {
		if l.str(name, "") != "" {
			set = append(set, name)
		}
	}
	switch len(set) {
	case 0:
		l.problem(strings.Join(mailTransportSettings, ", "), "are all unset: set exactly one of them to choose how mail is sent (EMAIL_OUTBOX_DIR=./outbox writes .eml files for a local run)")
	case 1:
	default:
		l.problem(strings.Join(set, ", "), "are set together: set exactly one of %s", strings.Join(mailTransportSettings, ", "))
	}
	if v := l.str("ACS_CLIENT_ID", ""); v != "" {
		if l.str("ACS_ENDPOINT", "") == "" {
			l.problem("ACS_CLIENT_ID", "is set but ACS_ENDPOINT is not: a managed identity is used only with ACS_ENDPOINT")
		}
		m.ACS.ClientID = v
	}
	if len(set) != 1 {
		return m
	}
	switch set[0] {
	case "ACS_CONNECTION_STRING":
		m.Transport = MailACS
		m.ACS = loadACSConnectionString(l, l.str("ACS_CONNECTION_STRING", ""))
	case "ACS_ENDPOINT":
		m.Transport = MailACSEntra
		m.ACS.Endpoint = acsEndpoint(l, "ACS_ENDPOINT", l.str("ACS_ENDPOINT", ""), false)
	case "SMTP_URL":
		m.Transport = MailSMTP
		m.SMTP = loadSMTP(l, l.str("SMTP_URL", ""))
	case "EMAIL_OUTBOX_DIR":
		m.Transport = MailOutbox
		m.OutboxDir = l.str("EMAIL_OUTBOX_DIR", "")
	}
	return m
}

// mailAddress checks one address setting (empty is allowed) and returns its
// bare address.
func mailAddress(l *loader, name, v string) string {
	if v == "" {
		return ""
	}
	a, err := mail.ParseAddress(v)
	if err != nil {
		l.problem(name, "must be an email address such as shop@example.com or \"Our shop <shop@example.com>\", not %q: %v", v, err)
		return ""
	}
	return a.Address
}

// loadACSConnectionString reads endpoint=...;accesskey=... (keys in any
// case). It never quotes the key.
func loadACSConnectionString(l *loader, cs string) ACS {
	const name = "ACS_CONNECTION_STRING"
	kv, ok := connectionPairs(cs)
	if !ok {
		l.problem(name, "is not a connection string (expected endpoint=https://<resource>.communication.azure.com/;accesskey=<key>)")
		return ACS{}
	}
	var a ACS
	if kv["endpoint"] == "" {
		l.problem(name, "has no endpoint=https://<resource>.communication.azure.com/")
	} else {
		a.Endpoint = acsEndpoint(l, name, kv["endpoint"], true)
	}
	key := kv["accesskey"]
	if key == "" {
		l.problem(name, "has no accesskey= (copy the connection string from the resource's Keys page)")
	} else if _, err := base64.StdEncoding.DecodeString(key); err != nil {
		l.problem(name, "has an accesskey that is not base64")
	} else {
		a.AccessKey = secret.Value(key)
	}
	return a
}

// acsEndpoint checks an ACS endpoint: https, or http on a loopback host when
// allowHTTP (a local fake; a bearer token is never sent over http).
func acsEndpoint(l *loader, name, v string, allowHTTP bool) string {
	u, err := url.Parse(v)
	ok := err == nil && u.Host != "" && (u.Path == "" || u.Path == "/") && cleanURL(v) &&
		(u.Scheme == "https" || allowHTTP && u.Scheme == "http" && loopback(u.Hostname()))
	if !ok {
		l.problem(name, "must have an https endpoint with no path, user or query, such as https://<resource>.communication.azure.com%s", quoteURL(v))
		return ""
	}
	return strings.TrimSuffix(u.String(), "/")
}

// loadSMTP parses SMTP_URL. Messages show the URL redacted (redactURL):
// never its password or query values.
func loadSMTP(l *loader, raw string) SMTP {
	const name = "SMTP_URL"
	u, err := url.Parse(raw)
	if err != nil || (u.User == nil && strings.Contains(raw, "@")) {
		// url.Parse's error quotes the whole URL, password included; an @
		// outside the user info is a password with a / ? or # in it.
		l.problem(name, "is not a URL such as smtp://user:password@smtp.example.com:587 "+
			"(percent-encode a %%, /, ?, #, @ or space in the user name or password: %%25, %%2F, %%3F, %%23, %%40, %%20)")
		return SMTP{}
	}
	s := SMTP{Host: u.Hostname(), StartTLS: true}
	switch u.Scheme {
	case "smtp":
		s.Port = 587
	case "smtps":
		s.Port, s.ImplicitTLS, s.StartTLS = 465, true, false
	default:
		l.problem(name, "must start with smtp:// (STARTTLS) or smtps:// (implicit TLS), not %q", redactURL(raw))
		return SMTP{}
	}
	if s.Host == "" {
		l.problem(name, "has no host: %q", redactURL(raw))
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			l.problem(name, "has a port that is not a number from 1 to 65535: %q", redactURL(raw))
		}
		s.Port = n
	}
	if u.Path != "" && u.Path != "/" {
		l.problem(name, "must not have a path: %q", redactURL(raw))
	}
	if u.User != nil {
		s.Username = u.User.Username()
		pw, _ := u.User.Password()
		s.Password = secret.Value(pw)
		if s.Username == "" || pw == "" {
			l.problem(name, "must have both a user name and a password, or neither: %q", redactURL(raw))
		}
	}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "starttls":
			b, err := strconv.ParseBool(v)
			switch {
			case err != nil:
				l.problem(name, "has starttls=%q; it must be true or false", v)
			case s.ImplicitTLS:
				l.problem(name, "has starttls=%s but smtps:// already uses TLS; drop it", v)
			default:
				s.StartTLS = b
			}
		case "insecure":
			b, err := strconv.ParseBool(v)
			if err != nil {
				l.problem(name, "has insecure=%q; it must be true or false", v)
			}
			s.InsecureSkipVerify = b
		default:
			if identifier(k) {
				l.problem(name, "has the unknown parameter %q (known: starttls, insecure)", k)
			} else {
				l.problem(name, "has an unknown parameter (known: starttls, insecure)")
			}
		}
	}
	return s
}

// identifier reports whether s looks like a parameter name (a short run of
// lowercase letters, _ and -), so that a message may quote it: anything
// else may be part of a password.
func identifier(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '_' && r != '-' {
			return false
		}
	}
	return true
}
