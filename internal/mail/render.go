package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode/utf8"

	"github.com/filedrop/filedrop/internal/order"
)

// templates holds, for each mail kind K, K.txt.tmpl (the "subject" and
// "body" of the plain part) and K.html.tmpl (the "body" of the HTML part),
// and the layouts that wrap every body in a greeting and a signature.
//
//go:embed templates/*.tmpl
var templates embed.FS

// ExpiryLayout is how the mails write the moment a link expires (in UTC).
const ExpiryLayout = "Monday, 2 January 2006 at 15:04 MST"

// Settings are the shop's side of every mail.
type Settings struct {
	// Shop names the shop in the subject, the text and the signature;
	// default "Our shop".
	Shop string
	// From is the sender, with an optional display name (required).
	From string
	// ReplyTo is an address the customer can answer; optional.
	ReplyTo string
	// Bcc get a blind copy of every mail; optional.
	Bcc []string
	// Support is the address the mails tell the customer to write to;
	// default ReplyTo's address. Without either the mails name no address:
	// the sender is often one nobody reads (DoNotReply@).
	Support string
	// LogoURL is an https URL of the shop's logo, shown atop the HTML part
	// in place of the shop's name; optional.
	LogoURL string
	// Accent is the colour of the buttons, #rrggbb; default DefaultAccent.
	Accent string
}

// DefaultAccent is the buttons' colour when Settings.Accent is unset.
const DefaultAccent = "#1a56db"

// Renderer turns a queued order.MailJob into a Message. It is safe for
// concurrent use.
type Renderer struct {
	shop    string
	from    Address
	replyTo []Address
	bcc     []Address
	support string
	logo    string
	accent  string
	// onAccent is the colour of text on the accent: white, or near black
	// on a light accent.
	onAccent string
	kinds    map[string]kindTemplates
}

// kindTemplates are the parsed templates of one mail kind.
type kindTemplates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// NewRenderer validates s and parses the embedded templates. A sender
// without a display name gets the shop's name as one.
func NewRenderer(s Settings) (*Renderer, error) {
	r := &Renderer{shop: oneLine(s.Shop), logo: s.LogoURL, accent: strings.ToLower(s.Accent), kinds: map[string]kindTemplates{}}
	if r.shop == "" {
		r.shop = "Our shop"
	}
	var errs []error
	var err error
	if r.from, err = ParseAddress(s.From); err != nil {
		errs = append(errs, fmt.Errorf("sender: %w", err))
	}
	if r.from.Name == "" {
		r.from.Name = r.shop
	}
	if r.logo != "" && !ValidLogoURL(r.logo) {
		errs = append(errs, fmt.Errorf("logo %q is not an https URL", r.logo))
	}
	if r.accent == "" {
		r.accent = DefaultAccent
	}
	if !ValidColor(r.accent) {
		errs = append(errs, fmt.Errorf("accent colour %q is not #rrggbb", s.Accent))
	}
	r.onAccent = textOn(r.accent)
	if s.ReplyTo != "" {
		a, err := ParseAddress(s.ReplyTo)
		if err != nil {
			errs = append(errs, fmt.Errorf("reply-to: %w", err))
		}
		r.replyTo = []Address{a}
	}
	for _, b := range s.Bcc {
		a, err := ParseAddress(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("bcc: %w", err))
		}
		r.bcc = append(r.bcc, a)
	}
	switch {
	case s.Support != "":
		a, err := ParseAddress(s.Support)
		if err != nil {
			errs = append(errs, fmt.Errorf("support: %w", err))
		}
		r.support = a.Email
	case len(r.replyTo) > 0:
		r.support = r.replyTo[0].Email
	}
	for _, kind := range []string{order.MailDownloadLinks, order.MailPaymentFailed, order.MailOrderLinks} {
		t, err := parseKind(kind)
		if err != nil {
			errs = append(errs, err)
		}
		r.kinds[kind] = t
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("mail settings: %w", err)
	}
	return r, nil
}

func parseKind(kind string) (kindTemplates, error) {
	text, err := texttemplate.New("layout.txt.tmpl").Funcs(texttemplate.FuncMap{"wrap": wrap}).ParseFS(templates, "templates/layout.txt.tmpl", "templates/"+kind+".txt.tmpl")
	if err != nil {
		return kindTemplates{}, fmt.Errorf("parse %s text template: %w", kind, err)
	}
	html, err := htmltemplate.New("layout.html.tmpl").Funcs(htmltemplate.FuncMap{"mailto": mailto, "breakable": breakable}).
		ParseFS(templates, "templates/layout.html.tmpl", "templates/"+kind+".html.tmpl")
	if err != nil {
		return kindTemplates{}, fmt.Errorf("parse %s html template: %w", kind, err)
	}
	return kindTemplates{text: text, html: html}, nil
}

// view is what the templates see.
type view struct {
	// T are the words of the customer's language.
	T       phrases
	Kind    string
	Shop    string
	Subject string
	// Name is the customer's name, "" when unknown.
	Name    string
	Items   []itemView
	Support string
	// OrderURL is the order page's link (a download mail in page mode):
	// the mail links it once, and lists the files without links.
	OrderURL string
	// Reference is the order's reference (the Checkout Session id).
	Reference string
	// Date is the order's date, "" when unknown.
	Date string
	// Lines are what was bought and Total the amount, "" when unknown.
	Lines []lineView
	Total string
	// Orders are the orders an order_links mail lists.
	Orders []orderView

	Logo     string
	Accent   string
	OnAccent string
}

// buttonView is what the "button" template sees.
type buttonView struct {
	URL, Label       string
	Accent, OnAccent string
}

// Button is the data of a button to url labelled label.
func (v view) Button(url, label string) buttonView {
	return buttonView{URL: url, Label: label, Accent: v.Accent, OnAccent: v.OnAccent}
}

type itemView struct {
	Title    string
	FileName string
	URL      string
	// Expires is ExpiresAt in the customer's language; "" when unknown.
	Expires string
}

// orderView is one order an order_links mail lists.
type orderView struct {
	// Heading names the order by its date; Items are what was bought and
	// More says how many files are not named ("" for none).
	Heading string
	Items   []string
	More    string
	URL     string
}

type lineView struct {
	// Label is the description, after the quantity when more than 1
	// ("2 × Fern", with no-break spaces).
	Label  string
	Amount string
}

// Render renders the mail of msg, dated date. Its errors (an unknown kind,
// a customer address that does not parse) are the same on every retry.
//
// The customer's name is user input: it is cleaned with order.CustomerName
// (controls removed, over-long names dropped), and shown beside the address
// only when it has at most MaxDisplayName characters. A name never stops a
// mail.
func (r *Renderer) Render(msg order.MailJob, date time.Time) (Message, error) {
	t, ok := r.kinds[msg.Kind]
	if !ok {
		return Message{}, fmt.Errorf("render: unknown mail kind %q", msg.Kind)
	}
	to, err := ParseAddress(msg.Customer.Email)
	if err != nil {
		return Message{}, fmt.Errorf("render: customer: %w", err)
	}
	name := order.CustomerName(msg.Customer.Name)
	to.Name = name
	if utf8.RuneCountInString(name) > MaxDisplayName {
		to.Name = ""
	}
	p := phrasesFor(Language(msg.Locale))
	v := view{T: p, Kind: msg.Kind, Shop: r.shop, Name: name, Support: r.support, OrderURL: msg.OrderURL, Reference: msg.SessionID,
		Logo: r.logo, Accent: r.accent, OnAccent: r.onAccent}
	for _, it := range msg.Items {
		iv := itemView{Title: oneLine(it.Title), FileName: oneLine(it.FileName), URL: it.URL}
		if iv.Title == "" {
			iv.Title = iv.FileName
		}
		if !it.ExpiresAt.IsZero() {
			iv.Expires = p.moment(it.ExpiresAt)
		}
		v.Items = append(v.Items, iv)
	}
	for _, o := range msg.Orders {
		ov := orderView{Heading: fmt.Sprintf(p.LinksOrder, p.date(o.OrderedAt)), URL: o.URL}
		if o.OrderedAt.IsZero() {
			ov.Heading = fmt.Sprintf(p.Field, p.Order, o.SessionID)
		}
		for _, it := range o.Items {
			ov.Items = append(ov.Items, oneLine(it))
		}
		if o.More > 0 {
			ov.More = fmt.Sprintf(p.LinksMore, o.More)
		}
		v.Orders = append(v.Orders, ov)
	}
	if rc := msg.Receipt; rc != nil {
		if !rc.OrderedAt.IsZero() {
			v.Date = p.date(rc.OrderedAt)
		}
		if rc.Currency != "" {
			v.Total = p.money(rc.AmountTotal, rc.Currency)
			for _, l := range rc.Lines {
				label := oneLine(l.Description)
				if l.Quantity > 1 {
					label = fmt.Sprintf("%d\u00a0×\u00a0%s", l.Quantity, label)
				}
				v.Lines = append(v.Lines, lineView{Label: label, Amount: p.money(l.AmountTotal, rc.Currency)})
			}
		}
	}
	var subject, text, html bytes.Buffer
	if err := t.text.ExecuteTemplate(&subject, "subject", v); err != nil {
		return Message{}, fmt.Errorf("render %s subject: %w", msg.Kind, err)
	}
	v.Subject = oneLine(subject.String())
	if err := t.text.ExecuteTemplate(&text, "layout.txt.tmpl", v); err != nil {
		return Message{}, fmt.Errorf("render %s text: %w", msg.Kind, err)
	}
	if err := t.html.ExecuteTemplate(&html, "layout.html.tmpl", v); err != nil {
		return Message{}, fmt.Errorf("render %s html: %w", msg.Kind, err)
	}
	return Message{
		Key:     msg.Key(),
		Date:    date,
		From:    r.from,
		To:      []Address{to},
		ReplyTo: r.replyTo,
		Bcc:     r.bcc,
		Subject: v.Subject,
		Text:    text.String(),
		HTML:    html.String(),
	}, nil
}

// oneLine collapses runs of white space, line breaks included, into single
// spaces: user input must not break a header or a layout.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
