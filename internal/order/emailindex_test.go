package order_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
)

func TestSentTo(t *testing.T) {
	o := order.Order{SessionID: "cs_test_1", CustomerEmail: "Ada@Customer.example"}
	require.True(t, o.SentTo(" ada@customer.EXAMPLE"))
	require.False(t, o.SentTo("bob@customer.example"))
	require.False(t, o.SentTo(""))
	resent := mailJob(2)
	resent.Customer.Email = "Bob@Customer.example"
	o.StartMail(resent, mailAt)
	require.True(t, o.SentTo("bob@customer.example"), "an operator resent the download mail to it")
	links := order.MailJob{Kind: order.MailOrderLinks, SessionID: "cs_test_1", Generation: 1, Customer: order.Customer{Email: "eve@customer.example"}}
	o.StartMail(links, mailAt)
	require.False(t, o.SentTo("eve@customer.example"), "only download mails count")
}

func TestListable(t *testing.T) {
	paid := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	open := order.Restore(order.Snapshot{SessionID: "cs_test_1", State: order.StateMailSent, PaidAt: paid, Files: []order.File{{Blob: "a.jpg"}}})
	window := 720 * time.Hour
	require.True(t, open.Listable(paid.Add(time.Hour), window))
	require.False(t, open.Listable(paid.Add(window), window), "the window is over")
	revoked := open
	revoked.Revoke("fraud", paid)
	require.False(t, revoked.Listable(paid.Add(time.Hour), window))
	ready := ordertest.Edit(open, func(s *order.Snapshot) { s.State = order.StateLinksReady })
	require.False(t, ready.Listable(paid.Add(time.Hour), window), "not fulfilled: its mail is on its way")
}

func TestLinkAndOrderLinksMail(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	o := order.Order{SessionID: "cs_test_1", PaidAt: at.Add(time.Hour), OrderedAt: at,
		Mail: []byte(`{"v":1,"customer":{"email":"ada@customer.example","name":"Ada\u202e Lovelace"},"locale":"de"}`)}
	for _, title := range []string{"One", "", "Three\nlines", "Four", "Five", "Six", "Seven"} {
		o.Files = append(o.Files, order.File{Title: title, FileName: "file.jpg"})
	}
	l := o.Link("https://shop.example/api/download/cs_test_1.x")
	require.Equal(t, order.OrderLink{SessionID: "cs_test_1", OrderedAt: at, Items: []string{"One", "file.jpg", "Three lines", "Four", "Five"}, More: 2,
		URL: "https://shop.example/api/download/cs_test_1.x"}, l)

	m := order.OrderLinksMail(&o, " ada@customer.example ", 3, []order.OrderLink{l})
	require.NoError(t, m.Validate())
	require.Equal(t, order.MailJob{Version: order.MailJobVersion, Kind: order.MailOrderLinks, SessionID: "cs_test_1", Generation: 3,
		Customer: order.Customer{Email: "ada@customer.example", Name: "Ada Lovelace"}, Locale: "de", Orders: []order.OrderLink{l}}, m)
}
