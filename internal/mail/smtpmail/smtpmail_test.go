package smtpmail_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/mail"
	"github.com/filedrop/filedrop/internal/mail/smtpmail"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/sendlink"
)

// The transport is what the SendLink stage sends with.
var _ sendlink.Sender = (*smtpmail.Sender)(nil)

const (
	testUser     = "shop-user"
	testPassword = "s3cret pass"
)

// selfSigned returns a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "filedrop test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// delivery is one mail the test server took.
type delivery struct {
	from  string
	rcpts []string
	data  string
	mech  string // the AUTH mechanism used, "" for none
	tls   bool
}

// testServer is a real SMTP server (go-smtp) on 127.0.0.1.
type testServer struct {
	mechs   []string // AUTH mechanisms offered
	rcptErr error    // the answer to every RCPT, nil to accept

	mu         sync.Mutex
	deliveries []delivery
}

func (ts *testServer) got() []delivery {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]delivery(nil), ts.deliveries...)
}

type session struct {
	ts   *testServer
	tls  bool
	mech string
	from string
	rcpt []string
}

func (s *session) AuthMechanisms() []string { return s.ts.mechs }

func (s *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if user != testUser || pass != testPassword {
			return smtp.ErrAuthFailed
		}
		s.mech = mech
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if len(s.ts.mechs) > 0 && s.mech == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.ts.rcptErr != nil {
		return s.ts.rcptErr
	}
	s.rcpt = append(s.rcpt, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.ts.mu.Lock()
	defer s.ts.mu.Unlock()
	s.ts.deliveries = append(s.ts.deliveries, delivery{from: s.from, rcpts: s.rcpt, data: string(b), mech: s.mech, tls: s.tls})
	return nil
}

func (s *session) Reset()        { s.from, s.rcpt = "", nil }
func (s *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN, which go-sasl lacks.
type loginServer struct {
	check    func(user, pass string) error
	user     string
	gotUser  bool
	finished bool
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch {
	case l.finished:
		return nil, false, sasl.ErrUnexpectedClientResponse
	case !l.gotUser && response == nil:
		return []byte("Username:"), false, nil
	case !l.gotUser:
		l.user, l.gotUser = string(response), true
		return []byte("Password:"), false, nil
	}
	l.finished = true
	return nil, true, l.check(l.user, string(response))
}

// serverOptions shape the test server.
type serverOptions struct {
	mechs       []string
	noStartTLS  bool // do not offer STARTTLS
	implicitTLS bool // TLS from the first byte
	plainAuth   bool // allow AUTH without TLS
	rcptErr     error
}

// startServer runs a go-smtp server on 127.0.0.1:0 and returns it with its
// port.
func startServer(t *testing.T, cert tls.Certificate, o serverOptions) (*testServer, int) {
	t.Helper()
	ts := &testServer{mechs: o.mechs, rcptErr: o.rcptErr}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &session{ts: ts, tls: isTLS}, nil
	}))
	srv.Domain = "127.0.0.1"
	srv.AllowInsecureAuth = o.plainAuth
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Second, 5*time.Second
	// RFC 5321's limit, 998 octets and CRLF, which servers enforce; longer
	// lines are answered "554 too long a line".
	srv.MaxLineLength = 1000
	srv.ErrorLog = log.New(io.Discard, "", 0)
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}}
	if !o.noStartTLS && !o.implicitTLS {
		srv.TLSConfig = tlsConfig
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	if o.implicitTLS {
		l = tls.NewListener(l, tlsConfig)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Close()
		// Serve may not have registered l with srv yet (a test that failed
		// before it connected); closing l ends it either way.
		l.Close()
		<-done
	})
	return ts, l.Addr().(*net.TCPAddr).Port
}

func testMessage() mail.Message {
	return mail.Message{
		Key:     order.MailKey("cs_test_a1", order.MailDownloadLinks, 1),
		Date:    time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC),
		From:    mail.Address{Name: "Shop", Email: "shop@shop.example"},
		To:      []mail.Address{{Name: "Zoë", Email: "zoe@customer.example"}},
		ReplyTo: []mail.Address{{Email: "help@shop.example"}},
		Bcc:     []mail.Address{{Email: "copies@shop.example"}},
		Subject: "Ihre Downloads – größer",
		Text:    "Hallo Zoë\nhttps://x.example/a.jpg?sig=a&sp=r\n",
		HTML:    "<p>Hallo Zoë</p>",
	}
}

func TestSend(t *testing.T) {
	cert, roots := selfSigned(t)
	_, otherRoots := selfSigned(t)
	plainAndLogin := []string{sasl.Plain, sasl.Login}
	tests := []struct {
		name   string
		server serverOptions
		config func(c *smtpmail.Config)

		wantMech      string // "" with wantErr
		wantTLS       bool
		wantErr       string
		wantPermanent bool
		wantSetting   string // the error is order.Misconfigured naming it
		wantThrottle  time.Duration
	}{
		{
			name:     "STARTTLS and AUTH PLAIN",
			server:   serverOptions{mechs: plainAndLogin},
			wantMech: sasl.Plain, wantTLS: true,
		},
		{
			name:     "STARTTLS and AUTH LOGIN when PLAIN is not offered",
			server:   serverOptions{mechs: []string{sasl.Login}},
			wantMech: sasl.Login, wantTLS: true,
		},
		{
			name:     "implicit TLS",
			server:   serverOptions{mechs: plainAndLogin, implicitTLS: true},
			config:   func(c *smtpmail.Config) { c.Security = smtpmail.ImplicitTLS },
			wantMech: sasl.Plain, wantTLS: true,
		},
		{
			name:    "no STARTTLS on the server is refused",
			server:  serverOptions{mechs: plainAndLogin, noStartTLS: true, plainAuth: true},
			wantErr: "STARTTLS", wantPermanent: true,
		},
		{
			name:     "no STARTTLS on the server, and the URL allows plain",
			server:   serverOptions{mechs: plainAndLogin, noStartTLS: true, plainAuth: true},
			config:   func(c *smtpmail.Config) { c.Security = smtpmail.Plain },
			wantMech: sasl.Plain, wantTLS: false,
		},
		{
			name:    "a wrong password is the deployment's fault: SMTP_URL",
			server:  serverOptions{mechs: plainAndLogin},
			config:  func(c *smtpmail.Config) { c.Password = "wrong" },
			wantErr: "smtp auth: SMTP error 535", wantSetting: "SMTP_URL",
		},
		{
			name:    "no usable AUTH mechanism",
			server:  serverOptions{mechs: []string{"CRAM-MD5"}},
			wantErr: "neither PLAIN nor LOGIN", wantPermanent: true,
		},
		{
			name:    "an untrusted certificate is permanent",
			server:  serverOptions{mechs: plainAndLogin},
			config:  func(c *smtpmail.Config) { c.TLSConfig = &tls.Config{RootCAs: otherRoots} },
			wantErr: "certificate", wantPermanent: true,
		},
		{
			name:     "an untrusted certificate with insecure=true",
			server:   serverOptions{mechs: plainAndLogin},
			config:   func(c *smtpmail.Config) { c.TLSConfig, c.InsecureSkipVerify = &tls.Config{RootCAs: otherRoots}, true },
			wantMech: sasl.Plain, wantTLS: true,
		},
		{
			name:    "550 for a recipient is permanent",
			server:  serverOptions{mechs: plainAndLogin, rcptErr: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}},
			wantErr: "no such user", wantPermanent: true,
		},
		{
			name:    "530 authentication required is the deployment's fault",
			server:  serverOptions{mechs: plainAndLogin, rcptErr: &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}},
			wantErr: "authentication required", wantSetting: "SMTP_URL",
		},
		{
			name:    "451 is throttled",
			server:  serverOptions{mechs: plainAndLogin, rcptErr: &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "slow down"}},
			wantErr: "slow down", wantThrottle: smtpmail.DefaultThrottle,
		},
		{
			name:    "another 4xx is retryable",
			server:  serverOptions{mechs: plainAndLogin, rcptErr: &smtp.SMTPError{Code: 455, EnhancedCode: smtp.EnhancedCode{4, 5, 4}, Message: "try later"}},
			wantErr: "try later",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, port := startServer(t, cert, tt.server)
			cfg := smtpmail.Config{
				Host: "127.0.0.1", Port: port,
				Username: testUser, Password: testPassword,
				TLSConfig: &tls.Config{RootCAs: roots},
				Timeout:   5 * time.Second,
			}
			if tt.config != nil {
				tt.config(&cfg)
			}
			s, err := smtpmail.New(cfg)
			require.NoError(t, err)
			m := testMessage()
			r, err := s.Send(context.Background(), m)

			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.NotContains(t, err.Error(), testPassword)
				require.Equal(t, tt.wantPermanent, order.IsPermanent(err), "permanent: %v", err)
				setting, _ := order.MisconfiguredSetting(err)
				require.Equal(t, tt.wantSetting, setting, "misconfigured: %v", err)
				d, throttled := order.RetryAfter(err)
				require.Equal(t, tt.wantThrottle != 0, throttled, "throttled: %v", err)
				require.Equal(t, tt.wantThrottle, d)
				require.Empty(t, ts.got(), "nothing was delivered")
				return
			}
			require.NoError(t, err)
			require.Equal(t, mail.Receipt{OperationID: m.Key, Status: mail.Accepted}, r)
			got := ts.got()
			require.Len(t, got, 1)
			d := got[0]
			require.Equal(t, tt.wantMech, d.mech)
			require.Equal(t, tt.wantTLS, d.tls)
			require.Equal(t, "shop@shop.example", d.from)
			require.Equal(t, []string{"zoe@customer.example", "copies@shop.example"}, d.rcpts, "the Bcc is in the envelope")
			checkMessage(t, m, d.data)
		})
	}
}

// checkMessage parses what the server received as a mail client would.
func checkMessage(t *testing.T, m mail.Message, data string) {
	t.Helper()
	require.NotContains(t, data, "copies@shop.example", "the Bcc is not in the headers")
	msg, err := netmail.ReadMessage(strings.NewReader(data))
	require.NoError(t, err)
	require.Empty(t, msg.Header.Get("Bcc"))
	require.Equal(t, "<"+m.Key+"@filedrop>", msg.Header.Get("Message-ID"))
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, m.Subject, subject)
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", mediaType)
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var bodies []string
	for range 3 {
		p, err := mr.NextPart() // decodes quoted-printable
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		b, err := io.ReadAll(p)
		require.NoError(t, err)
		bodies = append(bodies, p.Header.Get("Content-Type")+"\n"+strings.ReplaceAll(string(b), "\r\n", "\n"))
	}
	// WriteTo ends each part with a line break.
	lines := func(s string) string { return strings.TrimSuffix(s, "\n") + "\n" }
	require.Equal(t, []string{
		"text/plain; charset=utf-8\n" + lines(m.Text),
		"text/html; charset=utf-8\n" + lines(m.HTML),
	}, bodies)
}

// TestSendCustomerName sends mail to customers whose names once stopped it,
// both as the renderer makes it and with the name as it is: the server
// takes each, and the headers read back.
func TestSendCustomerName(t *testing.T) {
	cert, roots := selfSigned(t)
	r, err := mail.NewRenderer(mail.Settings{Shop: "Shop", From: "Shop <shop@shop.example>", Bcc: []string{"copies@shop.example"}})
	require.NoError(t, err)
	tests := []struct {
		name, in string
		wantTo   string // the display name of the rendered mail
	}{
		{"400 bytes", strings.Repeat("x", 400), ""},
		{"5,000 × Ü", strings.Repeat("Ü", 5000), ""},
		{"100,000 characters", strings.Repeat("a", 100_000), ""},
		{"RTL with an override", "\u202Eדוד כהן\u202C محمد", "דוד כהן محمد"},
		{"NUL and control characters", "Zoë\x00 Ü\x1bnal\r\n", "Zoë Ünal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, port := startServer(t, cert, serverOptions{mechs: []string{sasl.Plain}})
			s, err := smtpmail.New(smtpmail.Config{
				Host: "127.0.0.1", Port: port, Username: testUser, Password: testPassword,
				TLSConfig: &tls.Config{RootCAs: roots}, Timeout: 5 * time.Second,
			})
			require.NoError(t, err)

			rendered, err := r.Render(order.MailJob{
				Version: order.MailJobVersion, Kind: order.MailPaymentFailed, SessionID: "cs_test_a1", Generation: 1,
				Customer: order.Customer{Email: "zoe@customer.example", Name: tt.in},
			}, time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC))
			require.NoError(t, err)
			require.Equal(t, tt.wantTo, rendered.To[0].Name)
			raw := testMessage()
			raw.Key = order.MailKey("cs_test_a1", order.MailDownloadLinks, 2)
			raw.To[0].Name = tt.in

			for _, m := range []mail.Message{rendered, raw} {
				_, err = s.Send(context.Background(), m)
				require.NoError(t, err)
			}
			got := ts.got()
			require.Len(t, got, 2)
			for i, m := range []mail.Message{rendered, raw} {
				require.Equal(t, []string{"zoe@customer.example", "copies@shop.example"}, got[i].rcpts)
				checkMessage(t, m, got[i].data)
				header, _, _ := strings.Cut(got[i].data, "\r\n\r\n")
				for _, line := range strings.Split(header, "\r\n") {
					require.LessOrEqual(t, len(line), 76, "%q", line[:min(len(line), 100)])
				}
				msg, err := netmail.ReadMessage(strings.NewReader(got[i].data))
				require.NoError(t, err)
				to, err := msg.Header.AddressList("To")
				require.NoError(t, err)
				require.Equal(t, []*netmail.Address{{Name: m.To[0].Name, Address: "zoe@customer.example"}}, to)
			}
		})
	}
}

func TestSendConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())

	s, err := smtpmail.New(smtpmail.Config{Host: "127.0.0.1", Port: port, Timeout: 2 * time.Second})
	require.NoError(t, err)
	_, err = s.Send(context.Background(), testMessage())
	require.ErrorContains(t, err, "smtp connect")
	require.Equal(t, order.ClassTransient, order.Classify(err))
}

// TestSendSilentServer checks that a server that never answers costs one
// timeout, retryable, and no more.
func TestSendSilentServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := l.Accept(); err == nil {
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		select {
		case c := <-accepted:
			c.Close()
		default:
		}
	})
	s, err := smtpmail.New(smtpmail.Config{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, Timeout: 200 * time.Millisecond})
	require.NoError(t, err)
	start := time.Now()
	_, err = s.Send(context.Background(), testMessage())
	require.Error(t, err)
	require.Equal(t, order.ClassTransient, order.Classify(err), "%v", err)
	require.Less(t, time.Since(start), 3*time.Second)
}

func TestSendInvalidMessage(t *testing.T) {
	s, err := smtpmail.New(smtpmail.Config{Host: "127.0.0.1", Port: 1})
	require.NoError(t, err)
	m := testMessage()
	m.Key = "../x"
	_, err = s.Send(context.Background(), m)
	require.True(t, order.IsPermanent(err))
}

func TestNew(t *testing.T) {
	for _, c := range []smtpmail.Config{
		{Port: 25},
		{Host: "h", Port: 0},
		{Host: "h", Port: 25, Password: "p"},
		{Host: "h", Port: 25, Security: smtpmail.Plain + 1},
	} {
		t.Run(c.Host+":"+strconv.Itoa(c.Port), func(t *testing.T) {
			_, err := smtpmail.New(c)
			require.Error(t, err)
		})
	}
}
