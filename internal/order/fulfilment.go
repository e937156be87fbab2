package order

// Fulfilled reports whether the customer has had the download mail: the
// order is mail_sent, or a generation of the download mail was sent before an
// operator resent it or the order needed attention again. Reconcile queues no
// fulfilled order.
func (o *Order) Fulfilled() bool {
	return o.state == StateMailSent || o.sentGeneration >= 1 && o.MailKind == MailDownloadLinks
}

// NextGeneration is the generation of a new logical mail for the order: one
// above every generation queued or sent, so that its idempotency key differs
// from every earlier mail's and SendLink sends it once.
func (o *Order) NextGeneration() int { return max(o.mailGeneration, o.sentGeneration) + 1 }

// NewLinksGeneration is the generation of the download mail that the
// request for fresh links eventID queues: the generation it already minted
// when eventID minted MailGeneration (a redelivery of the same request, which
// SendLink then sends once), else NextGeneration.
func (o *Order) NewLinksGeneration(eventID string) int {
	if eventID != "" && eventID == o.MailEventID && o.mailGeneration > 0 {
		return o.mailGeneration
	}
	return o.NextGeneration()
}

// Resend records m, a new generation of the order's last mail queued again as
// data (m's JSON), as the order's last mail: the order is links_ready again
// for a download mail and payment_failed for the notice, and its last failure
// is cleared. SendLink records the send as for any other generation.
func (o *Order) Resend(m MailJob, data []byte) {
	o.MailKind, o.mailGeneration, o.Mail, o.MailEventID = m.Kind, m.Generation, data, ""
	if m.Kind == MailDownloadLinks {
		o.state = StateLinksReady
	} else {
		o.state = StatePaymentFailed
	}
	o.Reason, o.LastError, o.Attempts = "", "", 0
}
