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
	// default ReplyTo's address, else From's.
	Support string
}

// Renderer turns a queued order.MailMessage into a Message. It is safe for
// concurrent use.
type Renderer struct {
	shop    string
	from    Address
	replyTo []Address
	bcc     []Address
	support string
	kinds   map[string]kindTemplates
}

// kindTemplates are the parsed templates of one mail kind.
type kindTemplates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// NewRenderer validates s and parses the embedded templates.
func NewRenderer(s Settings) (*Renderer, error) {
	r := &Renderer{shop: oneLine(s.Shop), kinds: map[string]kindTemplates{}}
	if r.shop == "" {
		r.shop = "Our shop"
	}
	var errs []error
	var err error
	if r.from, err = ParseAddress(s.From); err != nil {
		errs = append(errs, fmt.Errorf("sender: %w", err))
	}
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
	default:
		r.support = r.from.Email
	}
	for _, kind := range []string{order.MailDownloadLinks, order.MailPaymentFailed, pageTemplates} {
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
	text, err := texttemplate.ParseFS(templates, "templates/layout.txt.tmpl", "templates/"+kind+".txt.tmpl")
	if err != nil {
		return kindTemplates{}, fmt.Errorf("parse %s text template: %w", kind, err)
	}
	html, err := htmltemplate.ParseFS(templates, "templates/layout.html.tmpl", "templates/"+kind+".html.tmpl")
	if err != nil {
		return kindTemplates{}, fmt.Errorf("parse %s html template: %w", kind, err)
	}
	return kindTemplates{text: text, html: html}, nil
}

// view is what the templates see.
type view struct {
	Shop    string
	Subject string
	// Name is the customer's name, "" when unknown.
	Name    string
	Items   []itemView
	Support string
	// OrderURL is the order page's link (a download mail in page mode).
	OrderURL string
}

// pageTemplates are the download mail's templates when it links to the
// order page rather than to each file.
const pageTemplates = "download_page"

type itemView struct {
	Title    string
	FileName string
	URL      string
	// Expires is ExpiresAt written with ExpiryLayout; "" when unknown.
	Expires string
}

// Render renders the mail of msg, dated date. Its errors (an unknown kind,
// a customer address that does not parse) are the same on every retry.
//
// The customer's name is user input: it is cleaned with order.CustomerName
// (controls removed, over-long names dropped), and shown beside the address
// only when it has at most MaxDisplayName characters. A name never stops a
// mail.
func (r *Renderer) Render(msg order.MailMessage, date time.Time) (Message, error) {
	tmpl := msg.Kind
	if msg.Kind == order.MailDownloadLinks && msg.OrderURL != "" {
		tmpl = pageTemplates
	}
	t, ok := r.kinds[tmpl]
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
	v := view{Shop: r.shop, Name: name, Support: r.support, OrderURL: msg.OrderURL}
	for _, it := range msg.Items {
		iv := itemView{Title: oneLine(it.Title), FileName: oneLine(it.FileName), URL: it.URL}
		if iv.Title == "" {
			iv.Title = iv.FileName
		}
		if !it.ExpiresAt.IsZero() {
			iv.Expires = it.ExpiresAt.UTC().Format(ExpiryLayout)
		}
		v.Items = append(v.Items, iv)
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
