package order

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// The index of orders by customer email lets the "Lost your link?" page
// find a customer's orders without scanning the ledger: the ledger keeps,
// per address (NormalizeEmail, stored only as a keyed hash), the orders
// whose download mail went to it and the LinksQuota of the mails that list
// them.

// NormalizeEmail is the form of an address the index is keyed by: without
// surrounding space, in lower case. Mailbox names are case-insensitive in
// practice, though RFC 5321 lets a server tell them apart.
func NormalizeEmail(addr string) string { return strings.ToLower(strings.TrimSpace(addr)) }

// IndexedOrder is an order the index lists for an address.
type IndexedOrder struct {
	SessionID string
	// At is the order's date (OrderedAt, else PaidAt) when it was indexed.
	At time.Time
}

// IndexDate is the date the index lists o under: when the customer
// ordered, else when the payment was recorded, else now.
func (o *Order) IndexDate(now time.Time) time.Time {
	switch {
	case !o.OrderedAt.IsZero():
		return o.OrderedAt
	case !o.PaidAt.IsZero():
		return o.PaidAt
	}
	return now
}

// LinksQuota is what the index records of the mails listing an address's
// orders: how many went out on which day, how many ever, and when the last
// did. The zero LinksQuota is an address that never had one.
type LinksQuota struct {
	// Day is the UTC day (2006-01-02) Today counts.
	Day   string
	Today int
	// Total counts every such mail: each one's generation.
	Total int
	Last  time.Time
}

// Take counts one more mail at now if the address may have it: at most
// perDay a UTC day, and at least spacing after the last. It returns the
// mail's generation (the new Total) and whether it may be sent; when it may
// not, q is unchanged.
func (q *LinksQuota) Take(now time.Time, perDay int, spacing time.Duration) (int, bool) {
	day := now.UTC().Format(time.DateOnly)
	today := q.Today
	if q.Day != day {
		today = 0
	}
	if today >= perDay || !q.Last.IsZero() && now.Sub(q.Last) < spacing {
		return 0, false
	}
	q.Day, q.Today, q.Total, q.Last = day, today+1, q.Total+1, now
	return q.Total, true
}

// MaxIndexedOrders bounds the orders the index returns for one address:
// the newest.
const MaxIndexedOrders = 50

// SortIndexed sorts orders newest first (by At, then by session id).
func SortIndexed(orders []IndexedOrder) {
	slices.SortFunc(orders, func(a, b IndexedOrder) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return strings.Compare(a.SessionID, b.SessionID)
	})
}

// SentTo reports whether the order's download mail went, or was queued to
// go, to addr (see MailedTo), whatever the letter case.
func (o *Order) SentTo(addr string) bool {
	addr = NormalizeEmail(addr)
	return addr != "" && slices.Contains(o.MailedTo(), addr)
}

// MailedTo returns the addresses, normalised (NormalizeEmail), that the
// index lists the order under: its customer's, and each one its download
// mail went to (an operator's resend --to).
func (o *Order) MailedTo() []string {
	var out []string
	add := func(a string) {
		if a = NormalizeEmail(a); a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	add(o.CustomerEmail)
	for _, m := range o.mails {
		if m.Kind == MailDownloadLinks {
			add(m.To)
		}
	}
	return out
}

// Listable reports whether a mail listing a customer's orders may list o at
// now: fulfilled, its access open (no hold, inside the download window).
func (o *Order) Listable(now time.Time, window time.Duration) bool {
	return o.Fulfilled() && o.Access(now, window) == AccessOpen
}

// Link returns o as a mail listing a customer's orders names it, with its
// order page's link url: its date, and the titles of its files (at most
// MaxOrderLinkItems, each cut to MaxReceiptDescription characters).
func (o *Order) Link(url string) OrderLink {
	l := OrderLink{SessionID: o.SessionID, OrderedAt: o.IndexDate(time.Time{}), URL: url}
	for i, f := range o.Files {
		if i == MaxOrderLinkItems {
			l.More = len(o.Files) - i
			break
		}
		title := cleanLine(f.Title)
		if title == "" {
			title = cleanLine(f.FileName)
		}
		l.Items = append(l.Items, cut(title, MaxReceiptDescription))
	}
	return l
}

// OrderLinksMail is the mail listing links, the orders of one customer
// (newest first, at most MaxOrderLinks), to addr: recorded on newest, the
// newest order, and written in its mail's language to the name its mail
// greeted. gen is the address's count of such mails (LinksQuota.Take).
func OrderLinksMail(newest *Order, addr string, gen int, links []OrderLink) MailJob {
	m := MailJob{Version: MailJobVersion, Kind: MailOrderLinks, SessionID: newest.SessionID, Generation: gen,
		Customer: Customer{Email: strings.TrimSpace(addr)}, Orders: links[:min(len(links), MaxOrderLinks)]}
	var queued MailJob
	if len(newest.Mail) > 0 && json.Unmarshal(newest.Mail, &queued) == nil {
		m.Customer.Name, m.Locale = CustomerName(queued.Customer.Name), queued.Locale
	}
	return m
}
