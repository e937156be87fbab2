package blobstore_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/storage/blobstore"
	"github.com/filedrop/filedrop/internal/testenv"
)

// TestOriginalsAgainstAzurite uploads originals to a private container in
// Azurite, mints service-SAS links and downloads them with plain net/http,
// then checks that every way of misusing a link is refused.
func TestOriginalsAgainstAzurite(t *testing.T) {
	az := testenv.StartAzurite(t)
	acct := az.Account(t)
	ctx := context.Background()
	cfg := blobstore.Options{Container: "originals", TTL: time.Hour}
	o, err := blobstore.New(acct, cfg, time.Now)
	require.NoError(t, err)

	created, err := o.CreateContainer(ctx)
	require.NoError(t, err)
	require.True(t, created)
	created, err = o.CreateContainer(ctx)
	require.NoError(t, err)
	require.False(t, created, "the second CreateContainer finds it")

	files := map[string][]byte{
		"landscapes/sunset.jpg":     []byte("\xff\xd8\xffsunset-bytes"),
		"städte/Zürich – Nacht.jpg": []byte("\xff\xd8\xffzurich-bytes"),
		"fern.jpg":                  bytes.Repeat([]byte("fern"), 64<<10), // 256 KiB
	}
	for name, data := range files {
		require.NoError(t, o.Upload(ctx, name, data))
	}

	t.Run("exists", func(t *testing.T) {
		for name := range files {
			ok, err := o.Exists(ctx, name)
			require.NoError(t, err)
			require.True(t, ok, name)
		}
		ok, err := o.Exists(ctx, "landscapes/missing.jpg")
		require.NoError(t, err)
		require.False(t, ok)

		_, err = o.Exists(ctx, "../escape.jpg")
		require.True(t, order.IsPermanent(err), "%v", err)
		require.ErrorIs(t, err, blobstore.ErrInvalidName)

		other, err := blobstore.New(acct, blobstore.Options{Container: "not-created", TTL: time.Hour}, time.Now)
		require.NoError(t, err)
		_, err = other.Exists(ctx, "sunset.jpg")
		require.True(t, order.IsPermanent(err), "a missing container is permanent: %v", err)
		require.ErrorContains(t, err, `container "not-created" does not exist`)
	})

	t.Run("download", func(t *testing.T) {
		for name, data := range files {
			fileName := name[strings.LastIndexByte(name, '/')+1:]
			link, err := o.Link(ctx, name, fileName)
			require.NoError(t, err)
			require.WithinDuration(t, time.Now().Add(time.Hour), link.ExpiresAt, 5*time.Second)
			require.NotContains(t, link.String(), "sig=", "String redacts the signature")

			resp := get(t, link.URL)
			require.Equal(t, http.StatusOK, resp.status, name)
			require.Equal(t, data, resp.body, name)
			require.Equal(t, blobstore.ContentDisposition(fileName), resp.header.Get("Content-Disposition"))
		}
	})

	t.Run("non-ascii file name", func(t *testing.T) {
		link, err := o.Link(ctx, "städte/Zürich – Nacht.jpg", "Zürich – Nacht.jpg")
		require.NoError(t, err)
		resp := get(t, link.URL)
		require.Equal(t, http.StatusOK, resp.status)
		require.Equal(t, `attachment; filename="Zurich - Nacht.jpg"; filename*=UTF-8''Z%C3%BCrich%20%E2%80%93%20Nacht.jpg`,
			resp.header.Get("Content-Disposition"))
	})

	t.Run("refused", func(t *testing.T) {
		link, err := o.Link(ctx, "landscapes/sunset.jpg", "sunset.jpg")
		require.NoError(t, err)
		other, err := o.Link(ctx, "fern.jpg", "fern.jpg")
		require.NoError(t, err)
		expiredO, err := blobstore.New(acct, cfg, func() time.Time { return time.Now().Add(-2 * time.Hour) })
		require.NoError(t, err)
		expired, err := expiredO.Link(ctx, "landscapes/sunset.jpg", "sunset.jpg")
		require.NoError(t, err)
		require.True(t, expired.ExpiresAt.Before(time.Now()))

		u, err := url.Parse(link.URL)
		require.NoError(t, err)
		otherU, err := url.Parse(other.URL)
		require.NoError(t, err)

		tests := []struct {
			name   string
			method string
			url    string
		}{
			{"tampered signature", http.MethodGet, withParam(t, link.URL, "sig", tamper)},
			{"tampered expiry", http.MethodGet, withParam(t, link.URL, "se", func(string) string { return "2099-01-01T00:00:00Z" })},
			{"tampered disposition", http.MethodGet, withParam(t, link.URL, "rscd", func(string) string { return "inline" })},
			{"expired", http.MethodGet, expired.URL},
			{"another blob's link", http.MethodGet, otherU.Scheme + "://" + otherU.Host + u.EscapedPath() + "?" + otherU.RawQuery},
			{"no signature", http.MethodGet, u.Scheme + "://" + u.Host + u.EscapedPath()},
			{"PUT with a read link", http.MethodPut, link.URL},
			{"DELETE with a read link", http.MethodDelete, link.URL},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req, err := http.NewRequest(tt.method, tt.url, strings.NewReader("overwritten"))
				require.NoError(t, err)
				req.Header.Set("x-ms-blob-type", "BlockBlob")
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, http.StatusForbidden, resp.StatusCode)
			})
		}
		// The original is untouched.
		resp := get(t, link.URL)
		require.Equal(t, http.StatusOK, resp.status)
		require.Equal(t, files["landscapes/sunset.jpg"], resp.body)
	})

	t.Run("base url in front of the container", func(t *testing.T) {
		target, err := url.Parse(az.BlobURL + "/originals")
		require.NoError(t, err)
		front := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
			rest := strings.TrimPrefix(r.In.URL.EscapedPath(), "/downloads")
			r.Out.URL.Scheme, r.Out.URL.Host, r.Out.Host = target.Scheme, target.Host, target.Host
			r.Out.URL.RawPath = target.Path + rest
			r.Out.URL.Path, _ = url.PathUnescape(r.Out.URL.RawPath)
		}})
		defer front.Close()
		fo, err := blobstore.New(acct, blobstore.Options{Container: "originals", TTL: time.Hour, BaseURL: front.URL + "/downloads"}, time.Now)
		require.NoError(t, err)
		link, err := fo.Link(ctx, "städte/Zürich – Nacht.jpg", "Zürich – Nacht.jpg")
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(link.URL, front.URL+"/downloads/st%C3%A4dte/"), link.String())
		resp := get(t, link.URL)
		require.Equal(t, http.StatusOK, resp.status)
		require.Equal(t, files["städte/Zürich – Nacht.jpg"], resp.body)
	})
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func get(t *testing.T, u string) response {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{resp.StatusCode, resp.Header, body}
}

// withParam returns u with query parameter name changed by fn.
func withParam(t *testing.T, u, name string, fn func(string) string) string {
	t.Helper()
	p, err := url.Parse(u)
	require.NoError(t, err)
	q := p.Query()
	require.NotEmpty(t, q.Get(name), "link has no %s", name)
	q.Set(name, fn(q.Get(name)))
	p.RawQuery = q.Encode()
	return p.String()
}

// tamper flips one bit of a base64 signature.
func tamper(sig string) string {
	b, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(b) == 0 {
		return sig + "x"
	}
	b[0] ^= 1
	return base64.StdEncoding.EncodeToString(b)
}
