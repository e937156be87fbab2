// Package smtpmail sends mail.Message values to an SMTP submission server:
// STARTTLS (required unless configured otherwise) or implicit TLS, AUTH
// PLAIN or LOGIN, the Bcc in the envelope only, and the message in the RFC
// 5322 form mail.Message.WriteTo builds, with the Message-ID <Key@filedrop>.
//
// SMTP has no idempotency key: a send whose final answer was lost may be
// repeated by a redelivery. The repeated mail carries the same Message-ID,
// which lets mail clients and archives recognise it as the same message.
//
// Replies are translated into the domain's errors: a refused login (535,
// 534, 530, 538, or any 5xx answer to AUTH) is order.Misconfigured naming
// SMTP_URL, another 5xx reply is order.Permanent, 421, 450, 451 and 452 are
// order.Throttled, and other 4xx replies and network faults are
// order.Transient: retried with back-off while the server is down.
package smtpmail

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/filedrop/filedrop/internal/mail"
	"github.com/filedrop/filedrop/internal/order"
)

// Security is how the connection is protected.
type Security int

const (
	// StartTLS upgrades the connection with STARTTLS before anything else;
	// a server that does not offer it is an error. The default.
	StartTLS Security = iota
	// ImplicitTLS speaks TLS from the first byte (smtps, port 465).
	ImplicitTLS
	// Plain sends everything, password included, in clear text. For a
	// local mail sink only.
	Plain
)

// DefaultThrottle is the pause asked for by a 421, 450, 451 or 452 reply.
const DefaultThrottle = time.Minute

// Config is where and how to submit mail.
type Config struct {
	Host string
	Port int
	// Username and Password authenticate with AUTH PLAIN, or AUTH LOGIN when
	// the server offers only that; empty Username: no AUTH.
	Username string
	Password string
	Security Security
	// TLSConfig verifies the server (a test's RootCAs, say); nil means the
	// system roots. Its ServerName defaults to Host.
	TLSConfig *tls.Config
	// InsecureSkipVerify accepts any server certificate. For test servers
	// only.
	InsecureSkipVerify bool
	// LocalName is the name the client gives in EHLO after TLS; default
	// "localhost".
	LocalName string
	// Timeout bounds one Send; default 60s.
	Timeout time.Duration
	// Throttle is the pause asked for by a 421, 450, 451 or 452 reply;
	// default DefaultThrottle.
	Throttle time.Duration
}

// Sender submits mail to one SMTP server, a connection per mail. It is safe
// for concurrent use.
type Sender struct {
	addr      string
	username  string
	password  string
	security  Security
	tls       *tls.Config
	localName string
	timeout   time.Duration
	throttle  time.Duration
}

// New returns a Sender for c.
func New(c Config) (*Sender, error) {
	if c.Host == "" || c.Port < 1 || c.Port > 65535 {
		return nil, fmt.Errorf("smtp: %q port %d is not a server address", c.Host, c.Port)
	}
	if c.Security < StartTLS || c.Security > Plain {
		return nil, fmt.Errorf("smtp: unknown security %d", c.Security)
	}
	if c.Username == "" && c.Password != "" {
		return nil, errors.New("smtp: a password without a user name")
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.TLSConfig != nil {
		tc = c.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = c.Host
	}
	if c.InsecureSkipVerify {
		tc.InsecureSkipVerify = true
	}
	s := &Sender{
		addr:      net.JoinHostPort(c.Host, strconv.Itoa(c.Port)),
		username:  c.Username,
		password:  c.Password,
		security:  c.Security,
		tls:       tc,
		localName: c.LocalName,
		timeout:   c.Timeout,
		throttle:  c.Throttle,
	}
	if s.localName == "" {
		s.localName = "localhost"
	}
	if s.timeout <= 0 {
		s.timeout = time.Minute
	}
	if s.throttle <= 0 {
		s.throttle = DefaultThrottle
	}
	return s, nil
}

// AttemptTime is the longest one Send may take (Config.Timeout). A caller
// that bounds Send by less cuts a slow server's every attempt short.
func (s *Sender) AttemptTime() time.Duration { return s.timeout }

// Send submits m to the server and returns m.Key as the operation id. The
// mail is accepted: whether the server relays it, SMTP does not report.
func (s *Sender) Send(ctx context.Context, m mail.Message) (mail.Receipt, error) {
	var msg bytes.Buffer
	if _, err := m.WriteTo(&msg); err != nil {
		return mail.Receipt{}, order.Permanent(fmt.Errorf("smtp: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	c, err := s.connect(ctx)
	if err != nil {
		return mail.Receipt{}, err
	}
	defer c.Close()
	if s.username != "" {
		if err := s.auth(c); err != nil {
			return mail.Receipt{}, err
		}
	}
	if err := c.Mail(m.From.Email, nil); err != nil {
		return mail.Receipt{}, s.classify("mail from", err)
	}
	for _, rcpt := range m.Recipients() {
		if err := c.Rcpt(rcpt, nil); err != nil {
			return mail.Receipt{}, s.classify("rcpt to "+rcpt, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return mail.Receipt{}, s.classify("data", err)
	}
	if _, err := w.Write(msg.Bytes()); err != nil {
		return mail.Receipt{}, s.classify("data", err)
	}
	if err := w.Close(); err != nil {
		return mail.Receipt{}, s.classify("data", err)
	}
	// The server has taken the mail; a failing QUIT changes nothing.
	_ = c.Quit()
	return mail.Receipt{OperationID: m.Key, Status: mail.Accepted}, nil
}

// connect dials the server, secures the connection as configured and says
// EHLO. The connection is closed when ctx is done, which ends any exchange
// in progress.
func (s *Sender) connect(ctx context.Context) (*smtp.Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, s.classify("connect", err)
	}
	context.AfterFunc(ctx, func() { conn.Close() })

	var c *smtp.Client
	switch s.security {
	case ImplicitTLS:
		tconn := tls.Client(conn, s.tls)
		if err := tconn.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, s.classify("tls handshake", err)
		}
		c = smtp.NewClient(tconn)
	case StartTLS:
		c, err = smtp.NewClientStartTLS(conn, s.tls)
		if err != nil {
			conn.Close()
			if isNetwork(err) {
				return nil, s.classify("starttls", err)
			}
			var se *smtp.SMTPError
			if !errors.As(err, &se) {
				// The library's own refusal: the server did not offer
				// STARTTLS.
				err = fmt.Errorf("%w (the server does not offer STARTTLS; only an SMTP_URL with ?starttls=false sends without TLS)", err)
			}
			return nil, s.classify("starttls", err)
		}
	default:
		c = smtp.NewClient(conn)
	}
	c.CommandTimeout, c.SubmissionTimeout = s.timeout, s.timeout
	if err := c.Hello(s.localName); err != nil {
		c.Close()
		return nil, s.classify("ehlo", err)
	}
	return c, nil
}

// auth authenticates with PLAIN if the server offers it, else LOGIN.
func (s *Sender) auth(c *smtp.Client) error {
	var a sasl.Client
	switch {
	case c.SupportsAuth(sasl.Plain):
		a = sasl.NewPlainClient("", s.username, s.password)
	case c.SupportsAuth(sasl.Login):
		a = sasl.NewLoginClient(s.username, s.password)
	default:
		_, mechs := c.Extension("AUTH")
		return order.Permanent(fmt.Errorf("smtp auth: the server offers neither PLAIN nor LOGIN (it offers %q)", mechs))
	}
	if err := c.Auth(a); err != nil {
		return s.classify("auth", err)
	}
	return nil
}

// classify wraps err from step and marks it permanent, throttled,
// misconfigured or transient.
func (s *Sender) classify(step string, err error) error {
	err = fmt.Errorf("smtp %s: %w", step, err)
	var se *smtp.SMTPError
	switch {
	case errors.As(err, &se):
		switch {
		case se.Code == 421 || se.Code == 450 || se.Code == 451 || se.Code == 452:
			return order.Throttled(err, s.throttle)
		case authRefused(step, se.Code):
			return order.Misconfigured(fmt.Errorf("%w: the server refused the login of %s", err, CredentialSetting), CredentialSetting)
		case se.Code >= 500:
			return order.Permanent(err)
		}
		return order.Transient(err)
	case badCertificate(err):
		return order.Permanent(err)
	case isNetwork(err):
		return order.Transient(err)
	}
	// The library refused something no retry changes: no STARTTLS, a
	// protocol it cannot speak, TLS against a plain server.
	return order.Permanent(err)
}

// CredentialSetting is the setting that holds the login, named by the
// order.Misconfigured error of a refused login.
const CredentialSetting = "SMTP_URL"

// authRefused reports whether a reply with code to step refuses the login
// (RFC 4954): every mail would fail alike until the setting is fixed.
func authRefused(step string, code int) bool {
	switch code {
	case 530, 534, 535, 538: // authentication required, too weak, credentials invalid, encryption required
		return true
	}
	return step == "auth" && code >= 500
}

// isNetwork reports a fault of the connection: worth another try.
func isNetwork(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// badCertificate reports that the server's certificate was not trusted.
func badCertificate(err error) bool {
	var (
		verr *tls.CertificateVerificationError
		uerr x509.UnknownAuthorityError
		herr x509.HostnameError
		cerr x509.CertificateInvalidError
	)
	return errors.As(err, &verr) || errors.As(err, &uerr) || errors.As(err, &herr) || errors.As(err, &cerr)
}
