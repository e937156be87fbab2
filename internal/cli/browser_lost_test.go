package cli

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/stripeapi/stripetest"
	"github.com/filedrop/filedrop/internal/testenv"
)

// pageLinks finds every order page link in a mail's text.
var pageLinks = regexp.MustCompile(`http://127\.0\.0\.1:\d+/api/download/cs_[A-Za-z0-9_]+\.[A-Za-z0-9_-]+`)

// TestBrowserLostLinks is a customer who lost their links, with a real
// browser: from an order page, "Link verloren?" opens the form; the
// address of two orders gets exactly one mail listing both, whose links
// open their pages; an address without orders gets the same page and no
// mail. The orders were indexed when their mails went out.
func TestBrowserLostLinks(t *testing.T) {
	testenv.Chromium(t) // skip before starting anything
	s := newShop(t)
	const second = "cs_test_second_order_of_jane"
	firstPage := s.buy(t, stripetest.SessionID, stripetest.PaymentIntent)
	s.buy(t, second, "pi_second_order_of_jane")
	indexed, err := s.ledger.OrdersOf(context.Background(), "Jane.Doe@example.com")
	require.NoError(t, err)
	require.Len(t, indexed, 2, "each order indexed under the address when its mail went out")
	outbox := s.settings["EMAIL_OUTBOX_DIR"]
	downloads := []string{order.MailKey(stripetest.SessionID, order.MailDownloadLinks, 1) + ".eml", order.MailKey(second, order.MailDownloadLinks, 1) + ".eml"}
	require.Empty(t, outboxMails(t, outbox, downloads...))

	ctx := newBrowser(t, 3*time.Minute)
	ask := func(email string) string {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(firstPage),
			chromedp.Click(`//a[text()="Link verloren?"]`, chromedp.NodeVisible), // the page speaks the order's language
			chromedp.WaitVisible(`input#email`),
			chromedp.SendKeys(`input#email`, email),
			chromedp.Click(`form.lost button[type="submit"]`, chromedp.NodeVisible),
			chromedp.WaitNotPresent(`input#email`)))
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		require.NoError(t, err)
		return text
	}
	known := ask("jane.doe@example.com")
	require.Contains(t, known, "Sehen Sie in Ihr Postfach")
	waitFor(t, s.local, "the mail listing the orders", func() bool { return len(outboxMails(t, outbox, downloads...)) == 1 })
	lost := outboxMails(t, outbox, downloads...)
	require.Len(t, lost, 1, "exactly one mail")
	eml := readMail(t, outbox, lost[0])
	require.Contains(t, eml, "Subject: Ihre Bestellungen bei")
	links := pageLinks.FindAllString(eml, -1)
	slices.Sort(links)
	links = slices.Compact(links)
	require.Len(t, links, 2, "both orders' links")
	for _, session := range []string{stripetest.SessionID, second} {
		require.True(t, strings.Contains(links[0], session) || strings.Contains(links[1], session), "a link to %s", session)
	}
	for _, link := range links {
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(link)))
		heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
		require.NoError(t, err)
		require.Equal(t, "Ihre Downloads", strings.TrimSpace(heading), "%s opens its order page", link)
		buttons, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("ul.files form button").length`))
		require.NoError(t, err)
		require.Equal(t, len(fixtureOriginals), buttons)
	}

	unknown := ask("nobody@example.com")
	require.Equal(t, known, unknown, "the same page whatever the address")
	waitFor(t, s.local, "the mail queue to drain", func() bool {
		n, err := s.queues.Queue("send-link").Count(context.Background())
		return err == nil && n == 0
	})
	require.Len(t, outboxMails(t, outbox, downloads...), 1, "no mail for an address without orders")
	listed := 0
	for _, session := range []string{stripetest.SessionID, second} {
		rec := s.record(t, session)
		for _, m := range rec.Mails() {
			if m.Kind == order.MailOrderLinks {
				listed++
				require.Equal(t, order.StatusAccepted, m.Status())
			}
		}
	}
	require.Equal(t, 1, listed, "the ledger lists the one mail on the newest order")
	require.NotContains(t, s.local.stderr.String(), "nobody@example.com", "the address is never logged")
	s.local.stop(t)
}
