package app

import (
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/filedrop/filedrop/internal/config"
	"github.com/filedrop/filedrop/internal/mail"
	"github.com/filedrop/filedrop/internal/mail/acs"
	"github.com/filedrop/filedrop/internal/mail/outbox"
	"github.com/filedrop/filedrop/internal/mail/smtpmail"
	"github.com/filedrop/filedrop/internal/sendlink"
)

// newRenderer builds the mail renderer from the settings.
func newRenderer(c config.Mail) (*mail.Renderer, error) {
	return mail.NewRenderer(mail.Settings{Shop: c.ShopName, From: c.Sender, ReplyTo: c.ReplyTo, Bcc: c.Bcc, Support: c.Support,
		LogoURL: c.LogoURL, Accent: c.AccentColor})
}

// identity is the credential of a service reached as an identity (ACS,
// Dataverse): the user-assigned managed identity clientID, or, without
// one, the default Azure credential chain.
func identity(clientID string) (azcore.TokenCredential, error) {
	if clientID == "" {
		return azidentity.NewDefaultAzureCredential(nil)
	}
	return azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(clientID)})
}

// newMailSender builds the one configured mail transport.
func newMailSender(c config.Mail) (sendlink.Sender, error) {
	switch c.Transport {
	case config.MailACS:
		return acs.NewWithKey(c.ACS.Endpoint, c.ACS.AccessKey.Reveal(), nil)
	case config.MailACSEntra:
		cred, err := identity(c.ACS.ClientID)
		if err != nil {
			return nil, fmt.Errorf("ACS credential: %w", err)
		}
		return acs.NewWithCredential(c.ACS.Endpoint, cred, nil)
	case config.MailSMTP:
		sec := smtpmail.StartTLS
		switch {
		case c.SMTP.ImplicitTLS:
			sec = smtpmail.ImplicitTLS
		case !c.SMTP.StartTLS:
			sec = smtpmail.Plain
		}
		return smtpmail.New(smtpmail.Config{Host: c.SMTP.Host, Port: c.SMTP.Port, Username: c.SMTP.Username,
			Password: c.SMTP.Password.Reveal(), Security: sec, InsecureSkipVerify: c.SMTP.InsecureSkipVerify})
	case config.MailOutbox:
		return outbox.New(c.OutboxDir)
	}
	return nil, fmt.Errorf("no mail transport configured")
}
