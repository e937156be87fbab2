// Package mail is the mail SendLink sends: the Message value every transport
// carries, its rendering from templates embedded in the binary, and its
// RFC 5322 form (MIME multipart/alternative) that the SMTP and outbox
// transports share.
//
// The transports live in subpackages, one per external system: acs (Azure
// Communication Services Email over REST), smtpmail and outbox (.eml files).
// Each sends a Message under its Key, the mail's deterministic idempotency
// key, so that a redelivered queue message does not become a second mail.
package mail

import (
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"time"
	"unicode"
)

// Address is a mailbox: an address and an optional display name.
type Address struct {
	Name  string
	Email string
}

// ParseAddress parses one RFC 5322 address, such as "shop@example.com" or
// "Our shop <shop@example.com>".
func ParseAddress(s string) (Address, error) {
	a, err := netmail.ParseAddress(s)
	if err != nil {
		return Address{}, fmt.Errorf("address %q: %w", s, err)
	}
	return Address{Name: a.Name, Email: a.Address}, nil
}

// String formats a as an RFC 5322 mailbox, on one line, as WriteTo writes
// it before folding: a printable ASCII name quoted, any other as RFC 2047
// encoded-words.
func (a Address) String() string {
	return strings.Join(addressWords([]Address{a}), " ")
}

// MaxAddressLength is the longest address, in octets, a Message is sent to
// or from: an SMTP path holds 256 octets with its angle brackets
// (RFC 5321, 4.5.3.1.3).
const MaxAddressLength = 254

// CheckBareAddress says, in words for the person who typed it, why s is not
// one bare address a mail can be sent to: no display name, angle brackets,
// spaces or control characters, at most MaxAddressLength octets. Nil when
// it is one.
func CheckBareAddress(s string) error {
	if len(s) > MaxAddressLength {
		return fmt.Errorf("is %d bytes long, more than an address may be (%d)", len(s), MaxAddressLength)
	}
	a, err := netmail.ParseAddress(s)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not an email address: %v", s, err)
	case a.Name != "" || a.Address != s || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return fmt.Errorf("%q must be a bare address such as ada@example.com, without a name or angle brackets", s)
	}
	return nil
}

// MaxDisplayName is the longest display name, in characters, that Render
// puts beside the customer's address. A longer name is left out of the
// address; the greeting keeps it up to order.MaxCustomerName characters.
const MaxDisplayName = 64

// Message is one rendered mail, ready for a transport.
type Message struct {
	// Key is the mail's idempotency key, order.MailJob.Key: the ACS
	// Operation-Id, the base of the Message-ID and the outbox file name. It
	// is the same on every redelivery of the same mail.
	Key string
	// Date is when the mail was rendered; it becomes the Date header.
	Date time.Time

	From    Address
	To      []Address
	ReplyTo []Address
	// Bcc receives a blind copy: it is in the SMTP envelope and the ACS
	// recipients, never in a header.
	Bcc []Address

	Subject string
	// Text is the plain-text body and HTML the HTML body of the same mail.
	Text string
	HTML string
}

// MessageID is the Message-ID header value, <Key@filedrop>: the same for
// every redelivery, so a mail client can tell a duplicate.
func (m Message) MessageID() string { return "<" + m.Key + "@filedrop>" }

// Recipients returns the envelope recipients: To, then Bcc.
func (m Message) Recipients() []string {
	rcpts := make([]string, 0, len(m.To)+len(m.Bcc))
	for _, a := range m.To {
		rcpts = append(rcpts, a.Email)
	}
	for _, a := range m.Bcc {
		rcpts = append(rcpts, a.Email)
	}
	return rcpts
}

// Validate reports what makes m unsendable: a key that is not a safe token
// (letters, digits and dashes), no sender or recipient, a subject that is
// not one line, or an address with a line break or an angle bracket or
// longer than MaxAddressLength. Display names are never a reason: any name
// can be written. Transports call it before they send.
func (m Message) Validate() error {
	var errs []error
	if !ValidKey(m.Key) {
		errs = append(errs, fmt.Errorf("key %q is not letters, digits and dashes", m.Key))
	}
	if m.From.Email == "" {
		errs = append(errs, errors.New("no sender"))
	}
	if len(m.To) == 0 {
		errs = append(errs, errors.New("no recipient"))
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		errs = append(errs, errors.New("subject is not a single line"))
	}
	for _, a := range append(append(append([]Address{m.From}, m.To...), m.ReplyTo...), m.Bcc...) {
		switch {
		case len(a.Email) > MaxAddressLength:
			errs = append(errs, fmt.Errorf("address %.40q... is %d bytes, longer than %d", a.Email, len(a.Email), MaxAddressLength))
		case strings.ContainsAny(a.Email, "\r\n<>"):
			errs = append(errs, fmt.Errorf("address %q is malformed", a.Email))
		}
	}
	return errors.Join(errs...)
}

// ValidKey reports whether key is usable as an idempotency key: 1 to 64
// letters, digits and dashes, so it is safe in a file name, a header and a
// URL path.
func ValidKey(key string) bool {
	if key == "" || len(key) > 64 {
		return false
	}
	for _, r := range key {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
