package mail_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/mail"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/testenv"
)

var screenshots = flag.String("screenshots", "", "write PNG screenshots of the mails rendered in Chromium into this folder")

// layout is what the browser measured of a rendered mail.
type layout struct {
	ScrollWidth int     `json:"scrollWidth"`
	InnerWidth  int     `json:"innerWidth"`
	Container   float64 `json:"container"` // the width of the 600 px table
	Widest      float64 `json:"widest"`    // the widest element inside it
	WidestTag   string  `json:"widestTag"`
	Images      bool    `json:"images"` // every image loaded
}

// measure is evaluated in the page: the document's scroll width, and the
// widest element inside the mail's 600 px container.
const measure = `(() => {
  const c = document.querySelector('table[width="600"]');
  let widest = 0, tag = "";
  for (const el of c.querySelectorAll("*")) {
    const w = el.getBoundingClientRect().width;
    if (w > widest) { widest = w; tag = el.tagName + (el.textContent || "").trim().slice(0, 40); }
  }
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    container: c.getBoundingClientRect().width,
    widest: widest,
    widestTag: tag,
    images: Array.from(document.images).every(i => i.complete && i.naturalWidth > 0),
  };
})()`

// TestRenderInBrowser renders every language and kind, and a mail of long
// names, in headless Chromium at 375, 600 and 1024 px: the page never
// scrolls sideways and nothing in the mail is wider than 600 px. With
// -screenshots DIR it also writes what the browser showed, light and dark.
func TestRenderInBrowser(t *testing.T) {
	exe := testenv.Chromium(t)

	var mu sync.Mutex
	pages := map[string]string{}
	logo := logoPNG(t)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/logo.png" {
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(logo)
			return
		}
		mu.Lock()
		page, ok := pages[r.URL.Path]
		mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page))
	}))
	t.Cleanup(srv.Close)

	r, err := mail.NewRenderer(mail.Settings{
		Shop:    "Lumen Photo",
		From:    "DoNotReply@lumen.example",
		ReplyTo: "help@lumen.example",
		LogoURL: srv.URL + "/logo.png",
		Accent:  "#0f766e",
	})
	require.NoError(t, err)

	msgs := map[string]order.MailJob{}
	for _, lang := range mail.Languages() {
		for kind, msg := range map[string]order.MailJob{
			"download_links": downloadMessage(),
			"download_page":  pageMessage(),
			"payment_failed": paymentFailedMessage(),
			"order_links":    ordersMessage(),
		} {
			msg.Locale = lang
			msgs[lang+"/"+kind] = msg
		}
	}
	long := downloadMessage()
	long.Locale = "fr-CA"
	long.Customer.Name = strings.Repeat("Bartholomew-", 8)
	long.Items[0].Title = strings.Repeat("Panorama ", 12)
	long.Items[0].FileName = strings.Repeat("a-very-long-file-name-without-spaces", 4) + ".tif"
	long.Receipt.Currency = "jpy"
	long.Receipt.Lines[0].Description = strings.Repeat("Supercalifragilistic", 6)
	msgs["fr/long_names"] = long
	for name, msg := range msgs {
		m, err := r.Render(msg, testDate)
		require.NoError(t, err, name)
		mu.Lock()
		pages["/"+name] = m.HTML
		mu.Unlock()
	}

	// One browser for the whole test, started under a deadline; each page
	// gets its own bounded share of it.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.Flag("ignore-certificate-errors", true), // the test server's own certificate
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	require.NoError(t, chromedp.Do(bctx), "start %s", exe)

	for name := range msgs {
		for _, width := range []int64{375, 600, 1024} {
			t.Run(fmt.Sprintf("%s/%dpx", name, width), func(t *testing.T) {
				sctx, scancel := context.WithTimeout(bctx, time.Minute)
				defer scancel()
				require.NoError(t, chromedp.Do(sctx,
					chromedp.EmulateViewport(width, 800),
					chromedp.Navigate(srv.URL+"/"+name),
				))
				got, err := chromedp.Run(sctx, chromedp.Evaluate[layout](measure))
				require.NoError(t, err)
				require.LessOrEqual(t, got.ScrollWidth, got.InnerWidth, "the page scrolls sideways at %d px: %+v", width, got)
				require.LessOrEqual(t, got.Container, 600.0, "%+v", got)
				require.LessOrEqual(t, got.Widest, 600.0, "an element is wider than 600 px: %+v", got)
				require.True(t, got.Images, "the logo did not load")
				if *screenshots != "" && width != 1024 {
					shoot(t, sctx, filepath.Join(*screenshots, strings.ReplaceAll(name, "/", "_")), width)
				}
			})
		}
	}
}

// shoot writes the page as base-width.png, and in dark mode as
// base-width-dark.png.
func shoot(t *testing.T, ctx context.Context, base string, width int64) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(base), 0o755))
	for _, scheme := range []string{"light", "dark"} {
		_, err := chromedp.Run(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
			})
			return err
		}))
		require.NoError(t, err)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		suffix := ""
		if scheme == "dark" {
			suffix = "-dark"
		}
		require.NoError(t, os.WriteFile(fmt.Sprintf("%s-%d%s.png", base, width, suffix), png, 0o644))
	}
}

// logoPNG is a 240×48 logo: a teal bar on transparency.
func logoPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 240, 48))
	for y := 8; y < 40; y++ {
		for x := 0; x < 200; x++ {
			img.Set(x, y, color.NRGBA{R: 0x0f, G: 0x76, B: 0x6e, A: 0xff})
		}
	}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}
