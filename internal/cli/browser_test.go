package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/stripeapi/stripetest"
	"github.com/filedrop/filedrop/internal/testenv"
)

// newBrowser starts a headless Chromium for the test, bounded by timeout,
// and returns its context; it is stopped when the test ends.
func newBrowser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	exe := testenv.Chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true), // a container's /dev/shm is small
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	require.NoError(t, chromedp.Do(bctx), "start %s", exe)
	return bctx
}

// waitForFile polls dir for the file name of size bytes for up to a
// minute: the browser writes it from another process.
func waitForFile(t *testing.T, dir, name string, size int) []byte {
	t.Helper()
	path := filepath.Join(dir, name)
	for range 600 {
		data, err := os.ReadFile(path)
		if err == nil && len(data) >= size {
			return data
		}
		require.True(t, err == nil || errors.Is(err, os.ErrNotExist), "%v", err)
		time.Sleep(100 * time.Millisecond) // a bounded poll for a file another process writes
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	t.Fatalf("no %s in the download directory within a minute; it holds %q", name, names)
	return nil
}

// TestBrowserDownloadsAndRefund is a customer with a real browser: headless
// Chromium opens the order page from the mail in the outbox, presses
// Download and gets the original's bytes; after a signed refund webhook
// through the real endpoint, the reloaded page says access has ended and
// offers no button.
func TestBrowserDownloadsAndRefund(t *testing.T) {
	testenv.Chromium(t) // skip before starting anything
	s := newShop(t)
	page := s.buy(t, stripetest.SessionID, stripetest.PaymentIntent)
	ctx := newBrowser(t, 3*time.Minute)
	downloads := t.TempDir()
	yes := true

	// Downloads are saved under their GUID, which the events name.
	began := chromedp.Events(ctx, browser.DownloadWillBegin)
	progress := chromedp.Events(ctx, browser.DownloadProgress)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: &yes})
			return err
		}),
		chromedp.Navigate(page)))
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	require.NoError(t, err)
	require.Equal(t, "Ihre Downloads", strings.TrimSpace(heading), "the page speaks the mail's language: the session's locale is de")
	offered, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("form button").length`))
	require.NoError(t, err)
	require.Equal(t, len(fixtureOriginals), offered, "a Download button per file")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form button[type="submit"]`), chromedp.NodeVisible)))

	var guid string
	for ev, err := range began {
		require.NoError(t, err, "no download began")
		require.Equal(t, "sunset-harbour.jpg", ev.SuggestedFilename, "the name is the original's (Content-Disposition)")
		guid = ev.GUID
		break
	}
	for ev, err := range progress {
		require.NoError(t, err, "the download did not complete")
		if ev.GUID == guid && ev.State == browser.DownloadProgressStateCompleted {
			break
		}
		require.NotEqual(t, browser.DownloadProgressStateCanceled, ev.State, "the download was canceled")
	}
	want := "\xff\xd8\xff " + fixtureOriginals[0]
	got := waitForFile(t, downloads, guid, len(want))
	require.Equal(t, want, string(got), "the downloaded bytes are the original's")
	require.Equal(t, 1, s.record(t, stripetest.SessionID).Files[0].Downloads)

	s.srv.SetCharge("ch_BrowserRefund", stripetest.PaymentIntent, 2000, 2000)
	s.pay(t, stripetest.SessionID, "evt_browser_refund", order.EventChargeRefunded, "ch_BrowserRefund", stripetest.PaymentIntent)

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(page)))
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	require.NoError(t, err)
	buttons, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("button, form").length`))
	require.NoError(t, err)
	require.Contains(t, text, "Der Zugang zu dieser Bestellung ist beendet")
	require.Zero(t, buttons, "no Download button after the refund")
	s.local.stop(t)
}
