package config

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/filedrop/filedrop/internal/secret"
)

// Masked stands in for a value, or the part of one, that may hold a
// credential.
const Masked = "****"

// settingKind says whether, and where, a setting's value can hold a
// credential. It is decided by the setting's name, never by its value, so
// that a value that cannot be parsed is still known to hold a secret.
type settingKind int

const (
	// plainSetting holds no credential.
	plainSetting settingKind = iota
	// secretSetting is a credential as a whole.
	secretSetting
	// credentialURL is a URL whose user info holds a password (SMTP_URL).
	credentialURL
	// urlSetting is a URL that should hold no credential, but a person may
	// have put one in its user info or query.
	urlSetting
	// connectionString is Key=Value pairs separated by ; with credentials in
	// some of the values (AccountKey, SharedAccessSignature, accesskey).
	connectionString
	// endpointList is URLs separated by commas whose path or query may be
	// a credential (a webhook receiver's: Zapier's path, Power Automate's
	// sig=): only each one's scheme and host are shown.
	endpointList
)

// settingKinds classifies every setting Load reads (a test keeps it
// complete).
var settingKinds = map[string]settingKind{
	"STRIPE_WEBHOOK_SECRET":                 secretSetting,
	"STRIPE_API_KEY":                        secretSetting,
	"ALLOW_LIVE_MODE":                       plainSetting,
	"STRIPE_API_URL":                        urlSetting,
	StorageConnection:                       connectionString,
	StorageConnection + "__accountName":     plainSetting,
	StorageConnection + "__blobServiceUri":  urlSetting,
	StorageConnection + "__queueServiceUri": urlSetting,
	StorageConnection + "__tableServiceUri": urlSetting,
	StorageConnection + "__clientId":        plainSetting,
	StorageConnection + "__credential":      plainSetting,
	"ORIGINALS_CONTAINER":                   plainSetting,
	"DOWNLOAD_LINK_TTL":                     plainSetting,
	"DOWNLOAD_BASE_URL":                     urlSetting,
	"DOWNLOAD_LINKS":                        plainSetting,
	"PUBLIC_BASE_URL":                       urlSetting,
	"ORDER_LINK_SECRET":                     secretSetting,
	"DOWNLOAD_WINDOW":                       plainSetting,
	"DOWNLOAD_LIMIT":                        plainSetting,
	"DOWNLOAD_SAS_TTL":                      plainSetting,
	"LEDGER_TABLE":                          plainSetting,
	"SHOP_NAME":                             plainSetting,
	"SHOP_LOGO_URL":                         urlSetting,
	"SHOP_ACCENT_COLOR":                     plainSetting,
	"EMAIL_SENDER":                          plainSetting,
	"EMAIL_REPLY_TO":                        plainSetting,
	"EMAIL_BCC":                             plainSetting,
	"SUPPORT_EMAIL":                         plainSetting,
	"MAIL_RATE_LIMIT":                       plainSetting,
	"ACS_CONNECTION_STRING":                 connectionString,
	"ACS_ENDPOINT":                          urlSetting,
	"ACS_CLIENT_ID":                         plainSetting,
	"SMTP_URL":                              credentialURL,
	"EMAIL_OUTBOX_DIR":                      plainSetting,
	"LOG_LEVEL":                             plainSetting,
	"LOG_FORMAT":                            plainSetting,
	"RETRY_BUDGET":                          plainSetting,
	"RETRY_MIN":                             plainSetting,
	"RETRY_MAX":                             plainSetting,
	"RECONCILE_SCHEDULE":                    plainSetting,
	"RECONCILE_WINDOW":                      plainSetting,
	"RECONCILE_GRACE":                       plainSetting,
	"ORDER_EVENTS_URL":                      endpointList,
	"ORDER_EVENTS_SECRET":                   secretSetting,
	"ORDER_EVENTS_INCLUDE_LINK":             plainSetting,
	"DATAVERSE_URL":                         urlSetting,
	"DATAVERSE_CLIENT_ID":                   plainSetting,
	"DATAVERSE_ORDER_TABLE":                 plainSetting,
}

// secretName matches the names of settings this program does not read that
// still look like they hold a credential.
var secretName = regexp.MustCompile(`(?i)(SECRET|KEY|PASSWORD|PASSWD|PWD|TOKEN|CONNECTION_?STRING|SAS|SIGNATURE|CREDENTIAL)`)

// credentialValue matches values that carry a credential whatever their
// setting: user info in a URL, or a key, signature or password pair.
var credentialValue = regexp.MustCompile(`(?i)(://[^/?#]*@|(accountkey|accesskey|sharedaccesssignature|sig|signature|password|pwd|secret|token|key)=|\b(sk|rk)_(test|live)_|\bwhsec_)`)

// Known reports whether name is a setting this program reads, so that a
// deployment's settings can be checked against the program's own table.
func Known(name string) bool {
	_, ok := settingKinds[name]
	return ok
}

func kindOf(name string) settingKind {
	if k, ok := settingKinds[name]; ok {
		return k
	}
	if secretName.MatchString(name) {
		return secretSetting
	}
	return plainSetting
}

// Redact returns the value of setting name as it may be shown to a person:
// a secret setting as a hint of its kind (sk_test_…), a URL with its
// password and query values masked, a connection string with every value
// but the account name, protocol and endpoints masked. It fails closed: a
// value of a setting that can hold a credential that does not parse is
// masked as a whole.
func Redact(name, value string) string {
	if value == "" {
		return ""
	}
	switch kindOf(name) {
	case secretSetting:
		return secret.Value(value).String()
	case credentialURL, urlSetting:
		return redactURL(value)
	case connectionString:
		return redactConnectionString(value)
	case endpointList:
		parts := strings.Split(value, ",")
		for i, p := range parts {
			parts[i] = redactEndpoint(strings.TrimSpace(p))
		}
		return strings.Join(parts, ",")
	}
	if _, known := settingKinds[name]; !known && credentialValue.MatchString(value) {
		return Masked
	}
	return value
}

// Printable reports whether the value of setting name may be printed in
// full (handler config --get). Secret settings and connection strings
// never are, whatever their value; a URL only when it parses and holds no
// user info, query or fragment; a setting this program does not read only
// when neither its name nor its value looks like a credential.
func Printable(name, value string) bool {
	switch kindOf(name) {
	case secretSetting, credentialURL, connectionString, endpointList:
		return false
	case urlSetting:
		return value == "" || cleanURL(value)
	}
	if _, known := settingKinds[name]; known {
		return true
	}
	return !credentialValue.MatchString(value)
}

// cleanURL reports whether raw parses as a URL with no place for a
// credential: no user info, query or fragment, and no stray @.
func cleanURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Opaque == "" && u.User == nil && u.RawQuery == "" && !u.ForceQuery &&
		u.Fragment == "" && !strings.ContainsAny(raw, "@?#") && !strings.ContainsAny(u.Path, "=;,") &&
		redactURL(raw) == raw
}

// queryName is what a query parameter's name looks like; anything else in
// its place is masked with its value, and so is a name shaped like a key.
var keyShaped = regexp.MustCompile(`(?i)^((sk|rk)_(test|live)_|whsec_)`)

// queryName is what a query parameter's name looks like.
var queryName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,31}$`)

// redactURL masks the password of a URL (a user name alone is masked too:
// it may be a token), every query value but starttls and insecure, and any
// fragment. A value that does not parse, that has an @ outside its user
// info (a password with a / ? or # in it), or a path with = ; or , in it
// (pairs separated the wrong way) is masked as a whole.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || (u.User == nil && strings.Contains(raw, "@")) || strings.ContainsAny(u.Path, "=;,") {
		// A path never holds key=value pairs; one that does is a
		// connection string or query written the wrong way.
		return Masked
	}
	var b strings.Builder
	if u.Scheme != "" {
		b.WriteString(u.Scheme)
		b.WriteString(":")
	}
	if u.Host != "" || u.User != nil {
		b.WriteString("//")
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			b.WriteString(url.User(u.User.Username()).String())
			b.WriteString(":")
		}
		b.WriteString(Masked + "@")
	}
	b.WriteString(u.Host)
	b.WriteString(u.EscapedPath())
	if u.RawQuery != "" || u.ForceQuery {
		b.WriteString("?")
		for i, pair := range strings.Split(u.RawQuery, "&") {
			if i > 0 {
				b.WriteString("&")
			}
			k, _, found := strings.Cut(pair, "=")
			if name, err := url.QueryUnescape(k); err == nil && found && (name == "starttls" || name == "insecure") {
				b.WriteString(pair)
				continue
			}
			if !found || !queryName.MatchString(k) || keyShaped.MatchString(k) {
				// No name=value pair, or a name that does not look like
				// one: the whole part may be the credential.
				b.WriteString(Masked)
				continue
			}
			b.WriteString(k + "=" + Masked)
		}
	}
	if u.Fragment != "" || strings.HasSuffix(raw, "#") {
		b.WriteString("#" + Masked)
	}
	return b.String()
}

// connectionShown are the keys of a connection string whose values are
// shown (endpoints through redactURL); every other value is masked.
var connectionShown = map[string]bool{
	"accountname": true, "defaultendpointsprotocol": true, "endpointsuffix": true, "usedevelopmentstorage": true,
}

// connectionEndpoints are the keys of a connection string that hold URLs.
var connectionEndpoints = map[string]bool{
	"blobendpoint": true, "queueendpoint": true, "tableendpoint": true, "fileendpoint": true,
	"developmentstorageproxyuri": true, "endpoint": true,
}

// redactConnectionString keeps the keys and the account name, protocol and
// endpoints of a connection string and masks every other value
// (AccountKey, SharedAccessSignature, accesskey, and any key it does not
// know). A part without = masks the whole value.
func redactConnectionString(cs string) string {
	var parts []string
	for _, part := range strings.Split(cs, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, v, found := strings.Cut(part, "=")
		if !found {
			return Masked
		}
		key := strings.ToLower(strings.TrimSpace(k))
		switch {
		case connectionShown[key]:
		case connectionEndpoints[key]:
			v = redactURL(strings.TrimSpace(v))
		default:
			v = Masked
		}
		parts = append(parts, k+"="+v)
	}
	out := strings.Join(parts, ";")
	if strings.HasSuffix(strings.TrimSpace(cs), ";") {
		out += ";"
	}
	return out
}

// quoteURL is ", not <the URL, redacted>" for a message about a URL
// setting, or "" when the redacted URL would say nothing.
func quoteURL(raw string) string {
	if r := redactURL(raw); r != Masked {
		return ", not " + strconv.Quote(r)
	}
	return ""
}
