package config

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"

	"github.com/filedrop/filedrop/internal/secret"
)

// StorageConnection is the name of the connection the functions use
// (function.json "connection"); its settings follow the Functions convention.
const StorageConnection = "AzureWebJobsStorage"

// DevelopmentStorage is the explicit form of UseDevelopmentStorage=true
// (Azurite on its default ports); the Go SDKs reject the short form.
const DevelopmentStorage = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
	"AccountKey=" + developmentKey + ";" +
	"BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;" +
	"TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"

// DevelopmentStorageOn is DevelopmentStorage with Azurite's blob, queue and
// table services on the given ports.
func DevelopmentStorageOn(blob, queue, table int) string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=%s;"+
		"BlobEndpoint=http://127.0.0.1:%d/devstoreaccount1;QueueEndpoint=http://127.0.0.1:%d/devstoreaccount1;"+
		"TableEndpoint=http://127.0.0.1:%d/devstoreaccount1;", developmentKey, blob, queue, table)
}

// developmentKey is Azurite's well-known account key (not a secret).
const developmentKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// Storage is the storage account behind AzureWebJobsStorage: queues, the
// originals' blobs and the ledger's table all live in it.
type Storage struct {
	AccountName string
	// AccountKey is set for a connection string with a key; empty for an
	// identity-based connection.
	AccountKey secret.Value
	// BlobURL, QueueURL and TableURL are the service endpoints, without a
	// trailing slash.
	BlobURL, QueueURL, TableURL string
	// Identity is true for an identity-based connection
	// (AzureWebJobsStorage__accountName or __*ServiceUri).
	Identity bool
	// ClientID is AzureWebJobsStorage__clientId: a user-assigned managed identity.
	ClientID string
	// ManagedIdentity is true when AzureWebJobsStorage__credential is managedidentity.
	ManagedIdentity bool
}

// Development reports whether the account is Azurite's development account.
func (s Storage) Development() bool { return s.AccountName == "devstoreaccount1" }

func loadStorage(l *loader) Storage {
	const name = StorageConnection
	cs := l.str(name, "")
	if cs != "" {
		if strings.EqualFold(strings.TrimSuffix(strings.ReplaceAll(cs, " ", ""), ";"), "UseDevelopmentStorage=true") {
			cs = DevelopmentStorage
		}
		s, problem := ParseConnectionString(cs)
		if problem != "" {
			l.problem(name, "%s", problem)
		}
		return s
	}
	s := Storage{Identity: true}
	s.AccountName = l.str(name+"__accountName", "")
	s.BlobURL = strings.TrimSuffix(l.str(name+"__blobServiceUri", ""), "/")
	s.QueueURL = strings.TrimSuffix(l.str(name+"__queueServiceUri", ""), "/")
	s.TableURL = strings.TrimSuffix(l.str(name+"__tableServiceUri", ""), "/")
	s.ClientID = l.str(name+"__clientId", "")
	switch cred := strings.ToLower(l.str(name+"__credential", "")); cred {
	case "":
	case "managedidentity":
		s.ManagedIdentity = true
	default:
		l.problem(name+"__credential", "must be managedidentity or unset, not %q", cred)
	}
	if s.AccountName != "" {
		// accountName wins over the service URIs, as in the Functions host.
		s.BlobURL = "https://" + s.AccountName + ".blob.core.windows.net"
		s.QueueURL = "https://" + s.AccountName + ".queue.core.windows.net"
		s.TableURL = "https://" + s.AccountName + ".table.core.windows.net"
		return s
	}
	if s.BlobURL == "" && s.QueueURL == "" && s.TableURL == "" {
		l.problem(name, "is required: a storage connection string, UseDevelopmentStorage=true for Azurite, or %s__accountName for a managed identity", name)
		return s
	}
	for _, su := range []struct {
		setting string
		u       *string
	}{
		{"__blobServiceUri", &s.BlobURL}, {"__queueServiceUri", &s.QueueURL}, {"__tableServiceUri", &s.TableURL},
	} {
		setting, u := su.setting, *su.u
		if u == "" {
			l.problem(name+setting, "is required when the other *ServiceUri settings are used (or set %s__accountName instead)", name)
			continue
		}
		if p, err := url.Parse(u); err != nil || p.Scheme != "https" || p.Host == "" || !cleanURL(u) {
			l.problem(name+setting, "must be an https URL with no user, query or fragment, such as https://<account>.blob.core.windows.net%s", quoteURL(u))
			*su.u = "" // it may hold a credential
		} else if s.AccountName == "" {
			s.AccountName, _, _ = strings.Cut(p.Host, ".")
		}
	}
	return s
}

// ParseConnectionString reads an Azure Storage connection string. problem is
// empty when it is usable; it never quotes the account key, a shared access
// signature or a password.
func ParseConnectionString(cs string) (s Storage, problem string) {
	kv, ok := connectionPairs(cs)
	if !ok {
		return s, "is not a connection string (expected Key=Value pairs separated by ;)"
	}
	s.AccountName = kv["accountname"]
	s.AccountKey = secret.Value(kv["accountkey"])
	if s.AccountName == "" || s.AccountKey == "" {
		return s, "must name AccountName and AccountKey (SAS connection strings cannot sign download links)"
	}
	if _, err := base64.StdEncoding.DecodeString(kv["accountkey"]); err != nil {
		return s, "has an AccountKey that is not base64"
	}
	proto := kv["defaultendpointsprotocol"]
	if proto == "" {
		proto = "https"
	}
	suffix := kv["endpointsuffix"]
	if suffix == "" {
		suffix = "core.windows.net"
	}
	endpoint := func(key, svc string) string {
		if v := kv[key]; v != "" {
			return strings.TrimSuffix(v, "/")
		}
		return proto + "://" + s.AccountName + "." + svc + "." + suffix
	}
	s.BlobURL = endpoint("blobendpoint", "blob")
	s.QueueURL = endpoint("queueendpoint", "queue")
	s.TableURL = endpoint("tableendpoint", "table")
	for _, u := range []string{s.BlobURL, s.QueueURL, s.TableURL} {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || !cleanURL(u) {
			s.BlobURL, s.QueueURL, s.TableURL = "", "", ""
			return s, "has an endpoint that is not an http(s) URL with no user, query or fragment" + quoteURL(u)
		}
	}
	return s, ""
}

// connectionPairs splits a connection string (Key=Value pairs separated by
// ;) into a map with lower-case keys. ok is false when a part has no "=".
func connectionPairs(cs string) (kv map[string]string, ok bool) {
	kv = map[string]string{}
	for _, part := range strings.Split(cs, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, found := strings.Cut(part, "=")
		if !found {
			return nil, false
		}
		kv[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	return kv, true
}
