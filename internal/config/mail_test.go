package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/secret"
)

func TestLoadMail(t *testing.T) {
	const key = "c2VjcmV0LWtleQ==" // base64 of "secret-key"
	base := func(extra map[string]string) map[string]string {
		env := map[string]string{"EMAIL_SENDER": "DoNotReply@shop.example", "EMAIL_OUTBOX_DIR": "./outbox"}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
	noOutbox := func(extra map[string]string) map[string]string {
		env := base(extra)
		delete(env, "EMAIL_OUTBOX_DIR")
		return env
	}
	outbox := Mail{ShopName: "Our shop", AccentColor: DefaultAccentColor, Sender: "DoNotReply@shop.example", Transport: MailOutbox, OutboxDir: "./outbox"}
	with := func(edit func(m *Mail)) Mail {
		m := outbox
		edit(&m)
		return m
	}
	tests := []struct {
		name     string
		env      map[string]string
		want     Mail
		problems []string // a substring of each problem, in order; none for a valid setting
	}{
		{name: "outbox with defaults", env: base(nil), want: outbox},
		{name: "a mail rate limit", env: base(map[string]string{"MAIL_RATE_LIMIT": "30"}), want: with(func(m *Mail) { m.RateLimit = MailRate{PerMinute: 30} })},
		{name: "a mail rate limit a minute and an hour", env: base(map[string]string{"MAIL_RATE_LIMIT": "30/m,100/h"}),
			want: with(func(m *Mail) { m.RateLimit = MailRate{PerMinute: 30, PerHour: 100} })},
		{name: "a mail rate limit that is not one", env: base(map[string]string{"MAIL_RATE_LIMIT": "30/min"}), want: outbox,
			problems: []string{`MAIL_RATE_LIMIT must be the mails your mail service accepts a minute and, if it limits them, an hour, such as 30/m,100/h (a bare number is a minute; 0 learns the rate from its refusals), not "30/min": "/min" is not a unit`}},
		{name: "every address setting",
			env: base(map[string]string{
				"SHOP_NAME":      "Photos & Co",
				"EMAIL_SENDER":   "Photos & Co <DoNotReply@shop.example>",
				"EMAIL_REPLY_TO": "Help <help@shop.example>",
				"EMAIL_BCC":      "copies@shop.example, Archive <archive@shop.example>",
				"SUPPORT_EMAIL":  "Support <support@shop.example>",
			}),
			want: with(func(m *Mail) {
				m.ShopName, m.Sender, m.ReplyTo = "Photos & Co", "Photos & Co <DoNotReply@shop.example>", "Help <help@shop.example>"
				m.Bcc, m.Support = []string{"copies@shop.example", "archive@shop.example"}, "support@shop.example"
			})},
		{name: "support defaults to the reply-to address",
			env:  base(map[string]string{"EMAIL_REPLY_TO": "Help <help@shop.example>"}),
			want: with(func(m *Mail) { m.ReplyTo, m.Support = "Help <help@shop.example>", "help@shop.example" })},
		{name: "no sender", env: map[string]string{"EMAIL_OUTBOX_DIR": "x"}, problems: []string{"EMAIL_SENDER is required"}},
		{name: "sender not an address", env: base(map[string]string{"EMAIL_SENDER": "shop at example"}), problems: []string{`EMAIL_SENDER must be an email address such as shop@example.com or "Our shop <shop@example.com>", not "shop at example"`}},
		{name: "bad reply-to", env: base(map[string]string{"EMAIL_REPLY_TO": "help@"}), problems: []string{"EMAIL_REPLY_TO must be an email address"}},
		{name: "bad bcc", env: base(map[string]string{"EMAIL_BCC": "a@shop.example; b@shop.example"}), problems: []string{"EMAIL_BCC must be email addresses separated by commas"}},
		{name: "bad support", env: base(map[string]string{"SUPPORT_EMAIL": "support"}), problems: []string{"SUPPORT_EMAIL must be an email address"}},

		{name: "no transport", env: noOutbox(nil),
			problems: []string{"ACS_CONNECTION_STRING, ACS_ENDPOINT, SMTP_URL, EMAIL_OUTBOX_DIR are all unset: set exactly one of them"}},
		{name: "two transports", env: base(map[string]string{"SMTP_URL": "smtp://u:p@mail.example.com"}),
			problems: []string{"SMTP_URL, EMAIL_OUTBOX_DIR are set together: set exactly one of ACS_CONNECTION_STRING, ACS_ENDPOINT, SMTP_URL, EMAIL_OUTBOX_DIR"}},

		{name: "acs connection string",
			env: noOutbox(map[string]string{"ACS_CONNECTION_STRING": "Endpoint=https://res.communication.azure.com/;AccessKey=" + key}),
			want: with(func(m *Mail) {
				m.Transport, m.OutboxDir = MailACS, ""
				m.ACS = ACS{Endpoint: "https://res.communication.azure.com", AccessKey: key}
			})},
		{name: "acs connection string against a local fake",
			env: noOutbox(map[string]string{"ACS_CONNECTION_STRING": "endpoint=http://127.0.0.1:7070;accesskey=" + key}),
			want: with(func(m *Mail) {
				m.Transport, m.OutboxDir = MailACS, ""
				m.ACS = ACS{Endpoint: "http://127.0.0.1:7070", AccessKey: key}
			})},
		{name: "acs connection string without a key", env: noOutbox(map[string]string{"ACS_CONNECTION_STRING": "endpoint=https://res.communication.azure.com/"}),
			problems: []string{"ACS_CONNECTION_STRING has no accesskey="}},
		{name: "acs connection string with a bad key", env: noOutbox(map[string]string{"ACS_CONNECTION_STRING": "endpoint=https://res.communication.azure.com/;accesskey=not*base64"}),
			problems: []string{"ACS_CONNECTION_STRING has an accesskey that is not base64"}},
		{name: "acs connection string over http", env: noOutbox(map[string]string{"ACS_CONNECTION_STRING": "endpoint=http://res.communication.azure.com/;accesskey=" + key}),
			problems: []string{"ACS_CONNECTION_STRING must have an https endpoint"}},
		{name: "acs connection string that is not one", env: noOutbox(map[string]string{"ACS_CONNECTION_STRING": "https://res.communication.azure.com"}),
			problems: []string{"ACS_CONNECTION_STRING is not a connection string"}},

		{name: "acs endpoint with a user-assigned identity",
			env: noOutbox(map[string]string{"ACS_ENDPOINT": "https://res.communication.azure.com/", "ACS_CLIENT_ID": "11111111-2222-3333-4444-555555555555"}),
			want: with(func(m *Mail) {
				m.Transport, m.OutboxDir = MailACSEntra, ""
				m.ACS = ACS{Endpoint: "https://res.communication.azure.com", ClientID: "11111111-2222-3333-4444-555555555555"}
			})},
		{name: "acs endpoint over http", env: noOutbox(map[string]string{"ACS_ENDPOINT": "http://127.0.0.1:7070"}),
			problems: []string{"ACS_ENDPOINT must have an https endpoint"}},
		{name: "client id without the endpoint", env: base(map[string]string{"ACS_CLIENT_ID": "x"}),
			problems: []string{"ACS_CLIENT_ID is set but ACS_ENDPOINT is not"}},

		{name: "smtp with STARTTLS",
			env: noOutbox(map[string]string{"SMTP_URL": "smtp://user%40shop.example:p%40ss@smtp.example.com"}),
			want: with(func(m *Mail) {
				m.Transport, m.OutboxDir = MailSMTP, ""
				m.SMTP = SMTP{Host: "smtp.example.com", Port: 587, Username: "user@shop.example", Password: "p@ss", StartTLS: true}
			})},
		{name: "smtps",
			env: noOutbox(map[string]string{"SMTP_URL": "smtps://u:p@smtp.example.com"}),
			want: with(func(m *Mail) {
				m.Transport, m.OutboxDir = MailSMTP, ""
				m.SMTP = SMTP{Host: "smtp.example.com", Port: 465, Username: "u", Password: "p", ImplicitTLS: true}
			})},
		{name: "smtp to a local sink in plain text",
			env: noOutbox(map[string]string{"SMTP_URL": "smtp://127.0.0.1:1025?starttls=false"}),
			want: with(func(m *Mail) {
				m.Transport, m.OutboxDir = MailSMTP, ""
				m.SMTP = SMTP{Host: "127.0.0.1", Port: 1025}
			})},
		{name: "smtp to a test server with any certificate",
			env: noOutbox(map[string]string{"SMTP_URL": "smtp://u:p@127.0.0.1:2525/?insecure=true"}),
			want: with(func(m *Mail) {
				m.Transport, m.OutboxDir = MailSMTP, ""
				m.SMTP = SMTP{Host: "127.0.0.1", Port: 2525, Username: "u", Password: "p", StartTLS: true, InsecureSkipVerify: true}
			})},
		{name: "smtp with another scheme", env: noOutbox(map[string]string{"SMTP_URL": "http://u:hunter2@smtp.example.com"}),
			problems: []string{`SMTP_URL must start with smtp:// (STARTTLS) or smtps:// (implicit TLS), not "http://u:****@smtp.example.com"`}},
		{name: "smtp without a password", env: noOutbox(map[string]string{"SMTP_URL": "smtp://u@smtp.example.com"}),
			problems: []string{"SMTP_URL must have both a user name and a password"}},
		{name: "smtp with a bad port", env: noOutbox(map[string]string{"SMTP_URL": "smtp://u:hunter2@smtp.example.com:99999"}),
			problems: []string{"SMTP_URL has a port that is not a number from 1 to 65535"}},
		{name: "smtp with an unknown parameter", env: noOutbox(map[string]string{"SMTP_URL": "smtp://u:hunter2@smtp.example.com?tls=off"}),
			problems: []string{`SMTP_URL has the unknown parameter "tls"`}},
		{name: "smtps with starttls", env: noOutbox(map[string]string{"SMTP_URL": "smtps://u:hunter2@smtp.example.com?starttls=false"}),
			problems: []string{"SMTP_URL has starttls=false but smtps:// already uses TLS"}},
		{name: "smtp with a bad starttls", env: noOutbox(map[string]string{"SMTP_URL": "smtp://u:hunter2@smtp.example.com?starttls=maybe"}),
			problems: []string{`SMTP_URL has starttls="maybe"`}},
		{name: "smtp with a path", env: noOutbox(map[string]string{"SMTP_URL": "smtp://u:hunter2@smtp.example.com/inbox"}),
			problems: []string{"SMTP_URL must not have a path"}},
		{name: "smtp that does not parse", env: noOutbox(map[string]string{"SMTP_URL": "smtp://u:hunter2@smtp.example.com:x%zz"}),
			problems: []string{"SMTP_URL is not a URL"}},
		{name: "shop name on two lines", env: base(map[string]string{"SHOP_NAME": "Photos\nand more"}),
			problems: []string{"SHOP_NAME must be a single line"}},
		{name: "logo and accent colour",
			env:  base(map[string]string{"SHOP_LOGO_URL": "https://cdn.shop.example/logo.png?v=2", "SHOP_ACCENT_COLOR": "#0F766E"}),
			want: with(func(m *Mail) { m.LogoURL, m.AccentColor = "https://cdn.shop.example/logo.png?v=2", "#0f766e" })},
		{name: "logo over http", env: base(map[string]string{"SHOP_LOGO_URL": "http://shop.example/logo.png"}),
			problems: []string{`SHOP_LOGO_URL must start with https:// (mail clients block images over http), not "http://shop.example/logo.png"`}},
		{name: "logo not a URL", env: base(map[string]string{"SHOP_LOGO_URL": "logo.png"}),
			problems: []string{"SHOP_LOGO_URL must be the https URL of an image, such as https://shop.example/logo.png"}},
		{name: "logo with a password", env: base(map[string]string{"SHOP_LOGO_URL": "https://user:hunter2@shop.example/logo.png"}),
			problems: []string{"SHOP_LOGO_URL must be the https URL of an image"}},
		{name: "logo too long", env: base(map[string]string{"SHOP_LOGO_URL": "https://shop.example/" + strings.Repeat("a", MaxLogoURL)}),
			problems: []string{"SHOP_LOGO_URL is 2069 bytes long; use a URL of at most 2048"}},
		{name: "accent colour by name", env: base(map[string]string{"SHOP_ACCENT_COLOR": "teal"}),
			problems: []string{`SHOP_ACCENT_COLOR must be a colour written #rrggbb, such as #1a56db, not "teal"`}},
		{name: "accent colour short form", env: base(map[string]string{"SHOP_ACCENT_COLOR": "#abc"}),
			problems: []string{"SHOP_ACCENT_COLOR must be a colour written #rrggbb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &loader{get: func(k string) string { return tt.env[k] }}
			got := loadMail(l)
			if len(tt.problems) == 0 {
				require.Empty(t, l.errs)
				require.Equal(t, tt.want, got)
				return
			}
			require.Len(t, l.errs, len(tt.problems), "%v", l.errs)
			for i, p := range tt.problems {
				require.Contains(t, l.errs[i].Error(), p)
				for _, secret := range []string{"hunter2", key} {
					require.NotContains(t, l.errs[i].Error(), secret)
				}
			}
		})
	}
}

// TestMailSecretsDoNotPrint formats the settings the ways a log line or a
// panic would.
func TestMailSecretsDoNotPrint(t *testing.T) {
	env := map[string]string{"EMAIL_SENDER": "a@shop.example", "SMTP_URL": "smtp://user:hunter2@smtp.example.com"}
	m := loadMail(&loader{get: func(k string) string { return env[k] }})
	require.Equal(t, secret.Value("hunter2"), m.SMTP.Password)
	for _, s := range []string{fmt.Sprint(m), fmt.Sprintf("%+v", m), fmt.Sprintf("%#v", m)} {
		require.NotContains(t, s, "hunter2")
	}
	env = map[string]string{"EMAIL_SENDER": "a@shop.example", "ACS_CONNECTION_STRING": "endpoint=https://r.communication.azure.com/;accesskey=c2VjcmV0LWtleQ=="}
	m = loadMail(&loader{get: func(k string) string { return env[k] }})
	require.Equal(t, "c2VjcmV0LWtleQ==", m.ACS.AccessKey.Reveal())
	for _, s := range []string{fmt.Sprint(m), fmt.Sprintf("%+v", m), fmt.Sprintf("%#v", m)} {
		require.NotContains(t, s, "c2VjcmV0LWtleQ==")
	}
}

func TestLoadReportsMailProblems(t *testing.T) {
	env := map[string]string{
		"STRIPE_WEBHOOK_SECRET":            "whsec_x",
		"STRIPE_API_KEY":                   "sk_test_x",
		"AzureWebJobsStorage__accountName": "acct",
		"EMAIL_SENDER":                     "a@shop.example",
		"SMTP_URL":                         "smtp://u:p@smtp.example.com",
		"ACS_ENDPOINT":                     "https://r.communication.azure.com",
	}
	_, err := Load(func(k string) string { return env[k] })
	var cerr *Error
	require.True(t, errors.As(err, &cerr), "got %v", err)
	require.True(t, strings.Contains(err.Error(), "ACS_ENDPOINT, SMTP_URL are set together"), err.Error())
}

func TestParseMailRate(t *testing.T) {
	tests := []struct {
		in      string
		want    MailRate
		problem string // a substring of the error; "" for none
	}{
		{in: "0", want: MailRate{}},
		{in: "30", want: MailRate{PerMinute: 30}},
		{in: "30/m", want: MailRate{PerMinute: 30}},
		{in: "100/h", want: MailRate{PerHour: 100}},
		{in: "30/m,100/h", want: MailRate{PerMinute: 30, PerHour: 100}},
		{in: " 100/h , 30 ", want: MailRate{PerMinute: 30, PerHour: 100}},
		{in: "0/m,100/h", want: MailRate{PerHour: 100}},
		{in: "100000/m", want: MailRate{PerMinute: 100000}},
		{in: "-1", problem: `"-1" is not a whole number of mails`},
		{in: "+5", problem: `"+5" is not a whole number of mails`},
		{in: "thirty", problem: `"thirty" is not a whole number of mails`},
		{in: "1.5/m", problem: `"1.5" is not a whole number of mails`},
		{in: "30/m,", problem: `"" is not a whole number of mails`},
		{in: "30/s", problem: `"/s" is not a unit: write /m for a minute or /h for an hour`},
		{in: "30/minute", problem: `"/minute" is not a unit`},
		{in: "30,40/m", problem: "the rate per minute is given twice"},
		{in: "1/h,2/h", problem: "the rate per hour is given twice"},
		{in: "100001", problem: "100001 a minute is more than 100000"},
		{in: "10000001/h", problem: "10000001 an hour is more than 10000000"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseMailRate(tt.in)
			if tt.problem != "" {
				require.ErrorContains(t, err, tt.problem)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}
