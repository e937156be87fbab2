package blobstore_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/secret"
	"github.com/filedrop/filedrop/internal/storage"
	"github.com/filedrop/filedrop/internal/storage/blobstore"
)

// Azurite cannot validate the SDK's user delegation SAS (it signs fields
// Azurite does not know, and Azurite's IP-style URLs give the account name
// "127"). These tests stand in a fake blob service at
// https://acct.blob.core.windows.net, behind the account's Transport, and
// check what can be checked without a real account: the key request, the
// key cache, and the signing inputs of every link (by recomputing the
// signature with the key the fake service handed out). That a real account
// accepts the links still needs a real account.

const fakeKey = "dGhpcyBpcyBhIGZha2UgdXNlciBkZWxlZ2F0aW9uIGtleSEhIQ==" // base64

type keyRequest struct {
	Authorization string
	Start, Expiry time.Time
}

// fakeBlobService answers user delegation key requests and HEAD requests.
type fakeBlobService struct {
	mu       sync.Mutex
	requests []keyRequest
	blobs    map[string]bool // escaped path -> exists
	fail     int             // status for key requests; 0 = answer
}

func (f *fakeBlobService) keyFetches() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func (f *fakeBlobService) Do(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := req.URL.Query()
	switch {
	case req.Method == http.MethodPost && q.Get("restype") == "service" && q.Get("comp") == "userdelegationkey":
		if f.fail != 0 {
			return answer(req, f.fail, "AuthorizationPermissionMismatch", ""), nil
		}
		var info struct{ Start, Expiry string }
		body, _ := io.ReadAll(req.Body)
		if err := xml.Unmarshal(body, &info); err != nil {
			return answer(req, http.StatusBadRequest, "InvalidXmlDocument", ""), nil
		}
		start, _ := time.Parse(time.RFC3339, info.Start)
		expiry, _ := time.Parse(time.RFC3339, info.Expiry)
		f.requests = append(f.requests, keyRequest{req.Header.Get("Authorization"), start, expiry})
		return answer(req, http.StatusOK, "", fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?><UserDelegationKey>`+
			`<SignedOid>11111111-2222-3333-4444-555555555555</SignedOid><SignedTid>66666666-7777-8888-9999-000000000000</SignedTid>`+
			`<SignedStart>%s</SignedStart><SignedExpiry>%s</SignedExpiry><SignedService>b</SignedService>`+
			`<SignedVersion>2025-11-05</SignedVersion><Value>%s</Value></UserDelegationKey>`, info.Start, info.Expiry, fakeKey)), nil
	case req.Method == http.MethodHead:
		if f.blobs[req.URL.EscapedPath()] {
			return answer(req, http.StatusOK, "", ""), nil
		}
		return answer(req, http.StatusNotFound, "BlobNotFound", ""), nil
	}
	return answer(req, http.StatusBadRequest, "UnexpectedRequest", ""), nil
}

func answer(req *http.Request, status int, code, body string) *http.Response {
	h := http.Header{"X-Ms-Request-Id": {"fake"}, "Content-Type": {"application/xml"}}
	if code != "" {
		h.Set("X-Ms-Error-Code", code)
	}
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Header: h, Request: req,
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
}

type fakeToken struct{}

func (fakeToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "fake-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func identityOriginals(t *testing.T, ttl time.Duration) (*blobstore.Originals, *fakeBlobService, *clock) {
	t.Helper()
	svc := &fakeBlobService{blobs: map[string]bool{"/originals/landscapes%2Fsunset.jpg": true}}
	acct := storage.Account{
		Options:    storage.Options{AccountName: "acct", BlobURL: "https://acct.blob.core.windows.net", Identity: true, ManagedIdentity: true},
		Credential: fakeToken{},
		Retry:      storage.DefaultRetry,
		Transport:  svc,
	}
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	o, err := blobstore.New(acct, blobstore.Options{Container: "originals", TTL: ttl}, c.now)
	require.NoError(t, err)
	return o, svc, c
}

func TestUserDelegationLink(t *testing.T) {
	o, svc, c := identityOriginals(t, 72*time.Hour)
	ctx := context.Background()
	link, err := o.Link(ctx, "städte/Zürich – Nacht.jpg", "Zürich – Nacht.jpg")
	require.NoError(t, err)

	require.Equal(t, 1, svc.keyFetches())
	kr := svc.requests[0]
	require.Equal(t, "Bearer fake-token", kr.Authorization)
	require.Equal(t, c.now().Add(-blobstore.ClockSkew), kr.Start)
	require.Equal(t, c.now().Add(blobstore.MaxKeyLifetime), kr.Expiry)
	require.Less(t, kr.Expiry.Sub(c.now()), 7*24*time.Hour, "the service refuses keys over 7 days")

	u, err := url.Parse(link.URL)
	require.NoError(t, err)
	require.Equal(t, "https://acct.blob.core.windows.net/originals/st%C3%A4dte/Z%C3%BCrich%20%E2%80%93%20Nacht.jpg", u.Scheme+"://"+u.Host+u.EscapedPath())
	q := u.Query()
	require.Equal(t, "r", q.Get("sp"))
	require.Equal(t, "b", q.Get("sr"))
	require.Equal(t, "https", q.Get("spr"), "https only for an https endpoint")
	require.Equal(t, "2026-03-01T11:55:00Z", q.Get("st"))
	require.Equal(t, "2026-03-04T12:00:00Z", q.Get("se"))
	require.Equal(t, c.now().Add(72*time.Hour), link.ExpiresAt)
	require.Equal(t, "11111111-2222-3333-4444-555555555555", q.Get("skoid"))
	require.Equal(t, "66666666-7777-8888-9999-000000000000", q.Get("sktid"))
	require.Equal(t, kr.Start.Format(time.RFC3339), q.Get("skt"))
	require.Equal(t, kr.Expiry.Format(time.RFC3339), q.Get("ske"))
	require.Equal(t, "b", q.Get("sks"))
	require.Equal(t, "2025-11-05", q.Get("skv"))
	require.Equal(t, blobstore.ContentDisposition("Zürich – Nacht.jpg"), q.Get("rscd"))

	// The signature is an HMAC, with the key the service handed out, over
	// the user-delegation string-to-sign of the blob's canonical name: the
	// account comes from the endpoint ("acct"), the path is the blob name.
	stringToSign := strings.Join([]string{
		q.Get("sp"), q.Get("st"), q.Get("se"), "/blob/acct/originals/städte/Zürich – Nacht.jpg",
		q.Get("skoid"), q.Get("sktid"), q.Get("skt"), q.Get("ske"), q.Get("sks"), q.Get("skv"),
		"", "", "", "", "", // saoid, suoid, scid, sduoid tenant, sduoid
		"", q.Get("spr"), q.Get("sv"), q.Get("sr"), "", "", // sip, spr, sv, sr, snapshot, ses
		"", "", // signed request headers, signed request query parameters
		"", q.Get("rscd"), "", "", "", // rscc, rscd, rsce, rscl, rsct
	}, "\n")
	key, _ := base64.StdEncoding.DecodeString(fakeKey)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(stringToSign))
	require.Equal(t, base64.StdEncoding.EncodeToString(mac.Sum(nil)), q.Get("sig"))

	ok, err := o.Exists(ctx, "landscapes/sunset.jpg")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = o.Exists(ctx, "landscapes/other.jpg")
	require.NoError(t, err)
	require.False(t, ok)
}

func TestUserDelegationKeyIsCached(t *testing.T) {
	o, svc, c := identityOriginals(t, 24*time.Hour)
	ctx := context.Background()

	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Go(func() {
			_, err := o.Link(ctx, fmt.Sprintf("photo-%d.jpg", i), "photo.jpg")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 1, svc.keyFetches(), "50 concurrent links, one key")

	// The key asked for lives ~7 days; a 24h link fits until less than
	// 24h+margin of it remains.
	c.add(5 * 24 * time.Hour)
	_, err := o.Link(ctx, "a.jpg", "a.jpg")
	require.NoError(t, err)
	require.Equal(t, 1, svc.keyFetches(), "after 5 days the key still covers a 24h link")

	c.add(24 * time.Hour)
	link, err := o.Link(ctx, "a.jpg", "a.jpg")
	require.NoError(t, err)
	require.Equal(t, 2, svc.keyFetches(), "after 6 days a new key is fetched")
	require.Equal(t, c.now().Add(24*time.Hour), link.ExpiresAt)
	require.Equal(t, c.now().Add(-blobstore.ClockSkew), svc.requests[1].Start)
}

func TestUserDelegationLinkNearSevenDays(t *testing.T) {
	o, svc, c := identityOriginals(t, blobstore.MaxDelegatedLinkTTL)
	ctx := context.Background()
	first, err := o.Link(ctx, "a.jpg", "a.jpg")
	require.NoError(t, err)
	keyExpiry := svc.requests[0].Expiry
	require.Equal(t, keyExpiry, first.ExpiresAt, "a 7-day link ends when its key does")

	c.add(30 * time.Minute)
	second, err := o.Link(ctx, "a.jpg", "a.jpg")
	require.NoError(t, err)
	require.Equal(t, 1, svc.keyFetches(), "a key serves at least MinKeyReuse")
	require.Equal(t, keyExpiry, second.ExpiresAt)

	c.add(blobstore.MinKeyReuse)
	third, err := o.Link(ctx, "a.jpg", "a.jpg")
	require.NoError(t, err)
	require.Equal(t, 2, svc.keyFetches())
	require.Equal(t, svc.requests[1].Expiry, third.ExpiresAt)
	require.Greater(t, third.ExpiresAt.Sub(c.now()), blobstore.MaxDelegatedLinkTTL-blobstore.MinKeyReuse-blobstore.ClockSkew-time.Minute)
}

func TestUserDelegationKeyRefused(t *testing.T) {
	o, svc, _ := identityOriginals(t, time.Hour)
	svc.fail = http.StatusForbidden
	_, err := o.Link(context.Background(), "a.jpg", "a.jpg")
	require.Error(t, err)
	require.Equal(t, order.ClassRetryable, order.Classify(err), "role assignments take minutes to apply: %v", err)
	require.ErrorContains(t, err, "Storage Blob Data Reader")

	svc.fail = http.StatusServiceUnavailable
	_, err = o.Link(context.Background(), "a.jpg", "a.jpg")
	after, throttled := order.RetryAfter(err)
	require.True(t, throttled, "%v", err)
	require.Equal(t, blobstore.ThrottledRetryAfter, after)

	svc.fail = 0
	_, err = o.Link(context.Background(), "a.jpg", "a.jpg")
	require.NoError(t, err, "a failed fetch is not cached")
}

func TestNewRefusesLongDelegatedTTL(t *testing.T) {
	acct := storage.Account{Options: storage.Options{AccountName: "acct", BlobURL: "https://acct.blob.core.windows.net", Identity: true}, Credential: fakeToken{}}
	_, err := blobstore.New(acct, blobstore.Options{Container: "originals", TTL: 169 * time.Hour}, time.Now)
	require.ErrorContains(t, err, "over the 168h0m0s a user delegation key lives")
}

func TestSharedKeyLinkOverHTTPS(t *testing.T) {
	acct := storage.Account{Options: storage.Options{AccountName: "acct", AccountKey: secret.Value(base64.StdEncoding.EncodeToString([]byte("k"))),
		BlobURL: "https://acct.blob.core.windows.net"}}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	o, err := blobstore.New(acct, blobstore.Options{Container: "originals", TTL: 720 * time.Hour, BaseURL: "https://downloads.example.com/o"}, func() time.Time { return now })
	require.NoError(t, err)
	link, err := o.Link(context.Background(), "landscapes/sunset harbour.jpg", "sunset harbour.jpg")
	require.NoError(t, err)
	u, err := url.Parse(link.URL)
	require.NoError(t, err)
	require.Equal(t, "https://downloads.example.com/o/landscapes/sunset%20harbour.jpg", u.Scheme+"://"+u.Host+u.EscapedPath())
	require.Equal(t, "https", u.Query().Get("spr"))
	require.Equal(t, "2026-03-31T12:00:00Z", u.Query().Get("se"))
	require.Equal(t, "2026-03-01T11:55:00Z", u.Query().Get("st"))
	require.Empty(t, u.Query().Get("skoid"), "a service SAS, not a user delegation SAS")
	require.Equal(t, now.Add(720*time.Hour), link.ExpiresAt)

	_, err = o.Link(context.Background(), "a/../b.jpg", "b.jpg")
	require.True(t, order.IsPermanent(err))
}
