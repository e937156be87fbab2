package processorder

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"path"
	"time"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/storage/blobstore"
	"github.com/filedrop/filedrop/internal/stripeapi"
)

// fulfil mints a link per purchased product, queues the download mail and
// records the order as links_ready. An order whose access a hold closes (a
// refund or dispute that overtook the Checkout event, or an operator) gets
// no links and no mail, unless an operator forced new links: see revoked.
func (s *Stage) fulfil(ctx context.Context, log *slog.Logger, msg order.ProcessJob, rec order.Order, sess stripeapi.Session, owner string) error {
	if rec.Revoked() && !msg.Force {
		return s.revoked(ctx, log, rec, sess, owner)
	}
	if sess.CustomerEmail == "" {
		return order.Permanentf("session %s has no customer email: there is nobody to send the links to", sess.ID)
	}
	items, files, err := s.items(ctx, sess)
	if err != nil {
		return err
	}
	gen := max(rec.MailGeneration(), 1)
	if msg.NewLinks {
		gen = rec.NewLinksGeneration(msg.EventID)
	}
	// When the customer paid is recorded once, from Stripe, and the mail
	// and the order page both show that one date.
	orderedAt := rec.OrderedAt
	if orderedAt.IsZero() {
		orderedAt = cmp.Or(sess.PaidAt, s.now().UTC())
	}
	err = s.queueMail(ctx, msg, rec, sess, order.MailDownloadLinks, gen, items, orderedAt, owner, func(o *order.Order, now time.Time) {
		o.Items = len(items)
		o.RecordFiles(files)
		if sess.PaymentIntent != "" {
			o.PaymentIntent = sess.PaymentIntent
		}
		o.LinksReady(gen, now) // mail_sent stays when a fast SendLink already sent gen
		if o.OrderedAt.IsZero() {
			o.OrderedAt = orderedAt
		}
	})
	if err != nil {
		return err
	}
	redacted := make([]string, len(items))
	for i, it := range items {
		redacted[i] = it.Redacted()
	}
	log.Info("download links queued", "files", len(items), "line_items", len(sess.Items), "generation", gen)
	log.Debug("download links", "links", redacted)
	return nil
}

// revoked handles rec, claimed for fulfilment, whose access a hold closes:
// no link is minted and no mail queued. An order that never had its links
// queued needs attention, with the holds as the reason, so that an
// operator sees why the customer got no mail and reconcile does not queue
// it again; one that had (an operator's resend --new-links raced a revoke)
// keeps its state. It is acknowledged, not a failure: the pipeline did
// what the hold asked.
func (s *Stage) revoked(ctx context.Context, log *slog.Logger, rec order.Order, sess stripeapi.Session, owner string) error {
	holds := order.DescribeHolds(rec.AccessHolds())
	before := rec.LinksReadyAt.IsZero() && rec.MailGeneration() == 0
	reason := fmt.Sprintf("access was closed by %s before the download links were queued: none minted, no mail sent; "+
		"handler grant %s reopens it, then handler resend %s --new-links fulfils it", holds, rec.SessionID, rec.SessionID)
	_, err := order.MutateFrom(ctx, s.records, rec, s.now(), func(o *order.Order) error {
		o.Livemode = sess.Livemode
		if o.CustomerEmail == "" {
			o.CustomerEmail = sess.CustomerEmail
		}
		if o.PaymentIntent == "" {
			o.PaymentIntent = sess.PaymentIntent
		}
		o.Unhold()
		o.LastError, o.Attempts = "", 0
		if before {
			o.NeedAttention(reason, s.now())
		}
		release(o, owner)
		return nil
	})
	if err != nil {
		return fmt.Errorf("record revoked before fulfilment: %w", err)
	}
	if !before {
		log.Warn("no new links: access is closed; handler grant reopens it", "holds", holds, "state", string(rec.State()))
		return nil
	}
	log.Warn("not fulfilled: access was closed before the links were queued; no mail sent", "holds", holds,
		"state", string(order.StateNeedsAttention))
	return nil
}

// items mints one link per distinct product of the session, in the order
// the products first appear, and returns the files the order page offers.
// With the order page, the items carry no link: the mail links to the page.
func (s *Stage) items(ctx context.Context, sess stripeapi.Session) ([]order.Item, []order.File, error) {
	var files []order.File
	seen := make(map[string]bool, len(sess.Items))
	var items []order.Item
	for _, li := range sess.Items {
		if li.ProductID == "" {
			return nil, nil, order.Permanentf("line item %s of session %s has no product", li.ID, sess.ID)
		}
		if seen[li.ProductID] {
			continue
		}
		seen[li.ProductID] = true
		blob := order.OriginalOf(li.ProductID, li.Original)
		what := fmt.Sprintf("original %q for product %s (%q)", blob, li.ProductID, li.ProductName)
		if err := blobstore.ValidateName(blob); err != nil {
			return nil, nil, order.Permanentf("%s: %w: fix the product's metadata %q in Stripe, then run handler resend %s --new-links",
				what, err, stripeapi.OriginalKey, sess.ID)
		}
		size, ok, err := s.originals.Stat(ctx, blob)
		if err != nil {
			return nil, nil, fmt.Errorf("check %s: %w", what, err)
		}
		if !ok {
			return nil, nil, order.Permanentf("%s is not in container %s: upload it, then run handler resend %s --new-links",
				what, s.originals.Container(), sess.ID)
		}
		fileName := path.Base(blob)
		it := order.Item{Title: title(li, fileName), FileName: fileName}
		if s.orderPage == nil {
			link, err := s.originals.Link(ctx, blob, fileName)
			if err != nil {
				return nil, nil, fmt.Errorf("sign link to %s: %w", what, err)
			}
			it.URL, it.ExpiresAt = link.URL, link.ExpiresAt
		}
		items = append(items, it)
		files = append(files, order.File{Title: it.Title, Blob: blob, FileName: fileName, Size: size})
	}
	if len(items) == 0 {
		return nil, nil, order.Permanentf("session %s has no line items", sess.ID)
	}
	return items, files, nil
}

// title is what the mail calls a purchased file.
func title(li stripeapi.LineItem, fileName string) string {
	switch {
	case li.Description != "":
		return li.Description
	case li.ProductName != "":
		return li.ProductName
	}
	return fileName
}

// paymentFailed queues the notice that the payment did not go through and
// records the order as payment_failed.
func (s *Stage) paymentFailed(ctx context.Context, log *slog.Logger, msg order.ProcessJob, rec order.Order, sess stripeapi.Session, owner string) error {
	if sess.CustomerEmail == "" {
		return order.Permanentf("session %s has no customer email: there is nobody to tell that the payment failed", sess.ID)
	}
	gen := max(rec.MailGeneration(), 1)
	err := s.queueMail(ctx, msg, rec, sess, order.MailPaymentFailed, gen, nil, sess.Created, owner, func(o *order.Order, now time.Time) {
		o.PaymentFailed(now)
	})
	if err != nil {
		return err
	}
	log.Info("payment failed; notice queued", "generation", gen)
	return nil
}

// queueMail queues the mail of kind and generation gen for the session,
// dated date, then records it on rec (the record as claimed) with record's
// changes on top, clearing the last failure and releasing owner's lease.
// The mail is queued first: if the record fails, the redelivery queues the
// same generation again, which SendLink sends once.
func (s *Stage) queueMail(ctx context.Context, msg order.ProcessJob, rec order.Order, sess stripeapi.Session, kind string, gen int,
	items []order.Item, date time.Time, owner string, record func(o *order.Order, now time.Time)) error {
	data, err := encodeMail(fitReceipt(order.MailJob{
		Version:    order.MailJobVersion,
		Kind:       kind,
		SessionID:  msg.SessionID,
		EventID:    msg.EventID,
		Generation: gen,
		Customer:   order.Customer{Email: sess.CustomerEmail, Name: order.CustomerName(sess.CustomerName)},
		Locale:     sess.Locale,
		Items:      items,
		Receipt:    receipt(sess, date),
		OrderURL:   s.orderURL(kind, msg.SessionID),
	}))
	if err != nil {
		return err
	}
	if err := s.mail.Send(ctx, data, 0); err != nil {
		return fmt.Errorf("queue %s mail: %w", kind, err)
	}
	now := s.now()
	_, err = order.MutateFrom(ctx, s.records, rec, now, func(o *order.Order) error {
		o.Livemode, o.CustomerEmail, o.MailKind = sess.Livemode, sess.CustomerEmail, kind
		o.MailQueued(gen, msg.EventID, data)
		record(o, now)
		o.Reason, o.LastError, o.Attempts = "", "", 0
		o.Unhold()
		release(o, owner)
		return nil
	})
	if err != nil {
		return fmt.Errorf("record queued %s mail: %w", kind, err)
	}
	return nil
}

// awaitPayment records that the session completed unpaid; the
// async_payment_succeeded event fulfils it later.
func (s *Stage) awaitPayment(ctx context.Context, log *slog.Logger, msg order.ProcessJob, rec order.Order, sess stripeapi.Session, owner string) error {
	_, err := order.MutateFrom(ctx, s.records, rec, s.now(), func(o *order.Order) error {
		o.Livemode = sess.Livemode
		if o.CustomerEmail == "" {
			o.CustomerEmail = sess.CustomerEmail
		}
		o.AwaitingPayment() // unless someone got further meanwhile
		release(o, owner)
		return nil
	})
	if err != nil {
		return fmt.Errorf("record awaiting payment: %w", err)
	}
	log.Info("session unpaid; waiting for the asynchronous payment", "event_type", msg.EventType)
	return nil
}

// orderURL is the order page's link for a download mail, or "".
func (s *Stage) orderURL(kind, sessionID string) string {
	if s.orderPage == nil || kind != order.MailDownloadLinks {
		return ""
	}
	return s.orderPage(sessionID)
}
