package cli

import (
	"bytes"
	"context"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/storage/blobstore"
	"github.com/filedrop/filedrop/internal/stripeapi/stripetest"
)

// downloadFirst presses the order page's first Download button, which must
// answer 303 to a link to the file, and downloads the file.
func downloadFirst(t *testing.T, page string) (*http.Response, []byte) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(page, url.Values{"file": {"0"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	file, err := http.Get(resp.Header.Get("Location"))
	require.NoError(t, err)
	got, err := io.ReadAll(file.Body)
	file.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, file.StatusCode)
	return file, got
}

// orderLink finds the order page's link in the text part of a mail.
var orderLink = regexp.MustCompile(`http://127\.0\.0\.1:\d+/api/download/cs_[A-Za-z0-9_]+\.[A-Za-z0-9_-]+`)

// TestOrderPageEndToEnd runs handler local (the host emulator forwarding
// /api/download/... as the host does) on Azurite with the test Stripe: the
// mail links to the order page, a GET (or HEAD) shows it without counting, a POST
// redirects to a short-lived link whose bytes are the original, and
// parallel clicks at the limit give exactly one more download.
func TestOrderPageEndToEnd(t *testing.T) {
	srv := stripetest.NewServer(t)
	o := newOps(t, map[string]string{"STRIPE_API_KEY": stripetest.Key, "STRIPE_API_URL": srv.URL, "DOWNLOAD_LIMIT": "3"})
	delete(o.settings, "PUBLIC_BASE_URL") // handler local uses its own address
	ctx := context.Background()
	originals, err := blobstore.New(o.acct, blobstore.Options{Container: "originals", TTL: time.Hour}, time.Now)
	require.NoError(t, err)
	for _, name := range fixtureOriginals {
		require.NoError(t, originals.Upload(ctx, name, []byte("\xff\xd8\xff "+name)))
	}
	local, base := startLocal(t, o.settings)
	webhook := base + "/api/CheckoutComplete"
	_, stderr, err := o.run(t, "simulate", "checkout", "--session", stripetest.SessionID, "--url", webhook)
	require.NoError(t, err, stderr)
	waitFor(t, local, "the mail", func() bool { return o.sent(t, stripetest.SessionID) == 1 })

	raw, err := os.ReadFile(filepath.Join(o.settings["EMAIL_OUTBOX_DIR"], order.MailKey(stripetest.SessionID, order.MailDownloadLinks, 1)+".eml"))
	require.NoError(t, err)
	eml, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
	require.NoError(t, err)
	page := orderLink.FindString(string(eml))
	require.NotEmpty(t, page, "the mail links to the order page:\n%s", eml)
	require.True(t, strings.HasPrefix(page, base+"/api/download/"+stripetest.SessionID+"."), page)
	require.NotContains(t, string(eml), "sig=", "no file link in page mode")

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(page)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), "sunset-harbour.jpg")
	rec := o.record(t, stripetest.SessionID)
	require.Len(t, rec.Files, len(fixtureOriginals))
	require.Zero(t, rec.Files[0].Downloads, "GET counts nothing")
	resp, err = client.Head(page)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the host routes HEAD to the page")
	require.Zero(t, o.record(t, stripetest.SessionID).Files[0].Downloads, "HEAD counts nothing")
	require.Equal(t, int64(len("\xff\xd8\xff "+fixtureOriginals[0])), rec.Files[0].Size)

	post := func() *http.Response {
		resp, err := client.PostForm(page, url.Values{"file": {"0"}})
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	_, got := downloadFirst(t, page)
	require.Equal(t, "\xff\xd8\xff "+fixtureOriginals[0], string(got), "the downloaded bytes are the original")
	require.Equal(t, 1, o.record(t, stripetest.SessionID).Files[0].Downloads)
	require.Equal(t, http.StatusSeeOther, post().StatusCode)

	// One download left; eight clicks at once.
	var wg sync.WaitGroup
	codes := make(chan int, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- post().StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	won := 0
	for c := range codes {
		if c == http.StatusSeeOther {
			won++
		} else {
			require.Contains(t, []int{http.StatusForbidden, http.StatusServiceUnavailable, http.StatusTooManyRequests}, c)
		}
	}
	require.Equal(t, 1, won, "exactly one of the parallel clicks gets the last download")
	require.Equal(t, 3, o.record(t, stripetest.SessionID).Files[0].Downloads)

	forged := page[:len(page)-3] + "abc"
	resp, err = client.Get(forged)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.NotContains(t, local.stderr.String(), page[strings.LastIndex(page, ".")+1:], "no token in the logs")
	local.stop(t)
}
