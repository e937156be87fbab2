package acs

import (
	"bytes"
	"encoding/json"

	"github.com/filedrop/filedrop/internal/mail"
)

// sendRequest is the body of POST /emails:send.
type sendRequest struct {
	SenderAddress string      `json:"senderAddress"`
	Content       content     `json:"content"`
	Recipients    recipients  `json:"recipients"`
	ReplyTo       []emailAddr `json:"replyTo,omitempty"`
	// UserEngagementTrackingDisabled keeps click tracking from rewriting the
	// signed download links.
	UserEngagementTrackingDisabled bool `json:"userEngagementTrackingDisabled"`
}

type content struct {
	Subject   string `json:"subject"`
	PlainText string `json:"plainText,omitempty"`
	HTML      string `json:"html,omitempty"`
}

type recipients struct {
	To  []emailAddr `json:"to"`
	BCC []emailAddr `json:"bcc,omitempty"`
}

type emailAddr struct {
	Address     string `json:"address"`
	DisplayName string `json:"displayName,omitempty"`
}

func addrs(as []mail.Address) []emailAddr {
	var out []emailAddr
	for _, a := range as {
		out = append(out, emailAddr{Address: a.Email, DisplayName: a.Name})
	}
	return out
}

// encodeRequest returns the JSON body for m, with <, > and & as they are
// (as the official SDKs send them).
func encodeRequest(m mail.Message) ([]byte, error) {
	req := sendRequest{
		// ACS takes the sender's display name from the domain's settings.
		SenderAddress:                  m.From.Email,
		Content:                        content{Subject: m.Subject, PlainText: m.Text, HTML: m.HTML},
		Recipients:                     recipients{To: addrs(m.To), BCC: addrs(m.Bcc)},
		ReplyTo:                        addrs(m.ReplyTo),
		UserEngagementTrackingDisabled: true,
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(req); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
