package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/filedrop/filedrop/internal/operator"
	"github.com/filedrop/filedrop/internal/order"
)

// resent is what resend queued, as it prints it.
type resent struct {
	SessionID string `json:"session_id"`
	// Queue is the queue the message went to.
	Queue string `json:"queue"`
	// Mail is the mail queued again (without --new-links).
	Mail *mailView `json:"mail,omitempty"`
	// EventID is the id of the order message queued with --new-links.
	EventID string `json:"event_id,omitempty"`
}

// runResend sends an order's mail again.
func runResend(ctx context.Context, env Env, args []string) error {
	op := newOperation(env, "resend", "resend <session> [--new-links] [--local] [--json]\n\nSends the order's last mail again as a new mail generation, so that it is not\ndeduplicated away, and records it in the ledger. With --new-links, queues the\norder for ProcessOrder instead, which mints fresh links and mails them (needed\nonce the links have expired). Exits 4 when the ledger has no such order.", true)
	newLinks := op.fs.Bool("new-links", false, "mint fresh download links (through ProcessOrder) instead of resending the last mail")
	return op.runOrder(ctx, env, args, func(p *pipeline, out printer, rec order.Order) error {
		rs := operator.NewResender(p.ledger, p.mails, p.orders, time.Now)
		r := resent{SessionID: rec.SessionID}
		if *newLinks {
			msg, err := rs.NewLinks(ctx, rec)
			if err != nil {
				return err
			}
			r.Queue, r.EventID = p.orders.Name, msg.EventID
		} else {
			msg, err := rs.Mail(ctx, rec)
			if err != nil {
				return err
			}
			v := mailViewFrom(msg)
			r.Queue, r.Mail = p.mails.Name, &v
		}
		return out.print(r, func(w io.Writer) { printResent(w, r) })
	})
}

func printResent(w io.Writer, r resent) {
	if m := r.Mail; m != nil {
		fmt.Fprintf(w, "queued %s mail generation %d for %s to %s on %s (mail key %s)\n", m.Kind, m.Generation, r.SessionID, m.To, r.Queue, m.Key)
		return
	}
	fmt.Fprintf(w, "queued %s on %s with new links (event %s): ProcessOrder mints fresh links and mails them as a new generation\n",
		r.SessionID, r.Queue, r.EventID)
}
