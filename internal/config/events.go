package config

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/google/uuid"

	"github.com/filedrop/filedrop/internal/secret"
)

// Events holds the settings of the order events (paid, refunded, ...) and
// of the sinks they are delivered to. Events are off when no sink is
// configured (Enabled).
type Events struct {
	// URLs is ORDER_EVENTS_URL: the receivers of the signed webhooks, each
	// https (http only to a loopback address). Empty for none. They are
	// Secrets: Zapier's and Slack's hooks carry their credential in the
	// path, Power Automate's in the query.
	URLs []secret.Value
	// Secrets is ORDER_EVENTS_SECRET: the whsec_ secrets the webhooks are
	// signed with, newest first (several while one is rotated). Required
	// with URLs.
	Secrets []secret.Value
	// IncludeLink is ORDER_EVENTS_INCLUDE_LINK: the events carry the order
	// page's link, which grants the downloads (default false).
	IncludeLink bool
	Dataverse   Dataverse
}

// Dataverse holds the Dataverse sink's settings; URL is empty when the
// sink is off.
type Dataverse struct {
	// URL is DATAVERSE_URL, the environment URL (https://<org>.crm.dynamics.com),
	// without a path: a Web API endpoint's /api/data/v9.2 is dropped.
	URL string
	// ClientID is DATAVERSE_CLIENT_ID, the client id of a user-assigned
	// managed identity; empty for the system-assigned one.
	ClientID string
	// OrderTable is DATAVERSE_ORDER_TABLE, the entity set name of the order
	// table (cr123_orders); empty to write contacts only.
	OrderTable string
}

// Enabled reports whether any sink is configured: only then are events
// produced.
func (e Events) Enabled() bool { return len(e.URLs) > 0 || e.Dataverse.URL != "" }

// The bounds of an ORDER_EVENTS_SECRET key, in bytes (Standard Webhooks:
// "At least 24 bytes (192 bits, 512 maximum)").
const (
	minEventSecretBytes = 24
	maxEventSecretBytes = 64
)

// maxEventURLs bounds ORDER_EVENTS_URL: each receiver gets every event.
const maxEventURLs = 10

const eventSecretHint = "make one with: echo whsec_$(openssl rand -base64 32), and give the receiver the same"

func loadEvents(l *loader) Events {
	var e Events
	if raw := l.str("ORDER_EVENTS_URL", ""); raw != "" {
		e.URLs = eventURLs(l, raw)
	}
	if raw := l.str("ORDER_EVENTS_SECRET", ""); raw != "" {
		if l.str("ORDER_EVENTS_URL", "") == "" {
			l.problem("ORDER_EVENTS_SECRET", "is set but ORDER_EVENTS_URL is not: the secret signs the webhooks sent there")
		}
		e.Secrets = eventSecrets(l, raw)
	} else if l.str("ORDER_EVENTS_URL", "") != "" {
		l.problem("ORDER_EVENTS_SECRET", "is required with ORDER_EVENTS_URL: the whsec_ secret the receiver verifies the webhooks with; %s", eventSecretHint)
	}
	e.IncludeLink = l.boolean("ORDER_EVENTS_INCLUDE_LINK", false)
	e.Dataverse = loadDataverse(l)
	return e
}

// eventURLs checks the comma-separated receivers. Messages show a URL only
// as its scheme and host: its path or query may be the receiver's
// credential.
func eventURLs(l *loader, raw string) []secret.Value {
	const name = "ORDER_EVENTS_URL"
	parts := strings.Split(raw, ",")
	if len(parts) > maxEventURLs {
		l.problem(name, "lists %d URLs; at most %d", len(parts), maxEventURLs)
		return nil
	}
	var urls []secret.Value
	seen := map[string]bool{}
	for i, part := range parts {
		part = strings.TrimSpace(part)
		entry := ""
		if len(parts) > 1 {
			entry = " (entry " + strconv.Itoa(i+1) + " of " + strconv.Itoa(len(parts)) + ")"
		}
		switch problem := eventURLProblem(part); {
		case part == "":
			l.problem(name, "has an empty entry%s: list URLs separated by single commas", entry)
		case problem != "":
			l.problem(name, "%s%s, not %q", problem, entry, redactEndpoint(part))
		case seen[part]:
			l.problem(name, "lists %q twice%s", redactEndpoint(part), entry)
		default:
			seen[part] = true
			urls = append(urls, secret.Value(part))
		}
	}
	return urls
}

// eventURLProblem returns what is wrong with a receiver's URL, or "".
func eventURLProblem(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "" || strings.ContainsFunc(raw, unicode.IsSpace):
		return "must be an absolute URL such as https://receiver.example/filedrop"
	case u.User != nil || u.Fragment != "" || strings.HasSuffix(raw, "#"):
		return "must have no user info or fragment (a query is fine)"
	case u.Scheme == "https":
		return ""
	case u.Scheme == "http" && loopback(u.Hostname()):
		return ""
	}
	return "must be an https URL (http only to 127.0.0.1, ::1 or localhost, for a local receiver)"
}

// redactEndpoint shows a receiver's URL as its scheme and host, with
// **** for any path, query or user info.
func redactEndpoint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return Masked
	}
	out := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil || strings.Contains(raw, "@") {
		out += "/" + Masked
	}
	return out
}

// eventSecrets checks the comma-separated whsec_ secrets, never quoting
// one.
func eventSecrets(l *loader, raw string) []secret.Value {
	const name = "ORDER_EVENTS_SECRET"
	parts := strings.Split(raw, ",")
	var secrets []secret.Value
	for i, part := range parts {
		part = strings.TrimSpace(part)
		entry := "entry " + strconv.Itoa(i+1) + " of " + strconv.Itoa(len(parts))
		b64, hasPrefix := strings.CutPrefix(part, "whsec_")
		key, err := base64.StdEncoding.DecodeString(b64)
		switch {
		case part == "":
			l.problem(name, "has an empty %s: list whsec_ secrets separated by single commas", entry)
		case !hasPrefix:
			l.problem(name, "must be whsec_ secrets separated by commas; %s does not start with whsec_ (%s)", entry, eventSecretHint)
		case err != nil:
			l.problem(name, "has an %s that is not whsec_ followed by standard base64 with = padding (%s)", entry, eventSecretHint)
		case len(key) < minEventSecretBytes || len(key) > maxEventSecretBytes:
			l.problem(name, "has an %s whose key is %d bytes; it must be %d to %d random bytes (%s)", entry, len(key), minEventSecretBytes, maxEventSecretBytes, eventSecretHint)
		default:
			secrets = append(secrets, secret.Value(part))
		}
	}
	return secrets
}

// orderTableName is the entity set name of a custom table: a publisher
// prefix of 2 to 8 letters and digits, an underscore, then the name.
var orderTableName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{1,7}_[A-Za-z0-9_]{1,100}$`)

func loadDataverse(l *loader) Dataverse {
	var d Dataverse
	raw := l.str("DATAVERSE_URL", "")
	if raw != "" {
		d.URL = dataverseURL(l, raw)
	}
	for _, name := range []string{"DATAVERSE_CLIENT_ID", "DATAVERSE_ORDER_TABLE"} {
		if l.str(name, "") != "" && raw == "" {
			l.problem(name, "is set but DATAVERSE_URL is not: it belongs to the Dataverse sink, which DATAVERSE_URL turns on")
		}
	}
	if v := l.str("DATAVERSE_CLIENT_ID", ""); v != "" {
		if _, err := uuid.Parse(v); err != nil {
			l.problem("DATAVERSE_CLIENT_ID", "must be the client id (a GUID) of the app's user-assigned managed identity, or unset for the system-assigned one, not %q", v)
		} else {
			d.ClientID = v
		}
	}
	if v := l.str("DATAVERSE_ORDER_TABLE", ""); v != "" {
		if !orderTableName.MatchString(v) {
			l.problem("DATAVERSE_ORDER_TABLE", "must be the entity set name of a custom table, such as cr1a2_orders (Power Apps > Tables > the table > Tools > Copy set name), not %q", v)
		} else {
			d.OrderTable = v
		}
	}
	return d
}

// dataverseURL checks DATAVERSE_URL and returns it without a path.
func dataverseURL(l *loader, raw string) string {
	u, err := url.Parse(raw)
	ok := err == nil && u.Scheme == "https" && u.Host != "" && u.Opaque == "" && cleanURL(raw)
	if ok {
		path := strings.TrimSuffix(u.Path, "/")
		ok = path == "" || path == "/api/data/v9.2"
	}
	if !ok {
		l.problem("DATAVERSE_URL", "must be the environment URL, https://<org>.crm.dynamics.com (Power Apps > Settings > Session details; the Web API endpoint .../api/data/v9.2 also works)%s", quoteURL(raw))
		return ""
	}
	return "https://" + u.Host
}
