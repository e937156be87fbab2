package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/filedrop/filedrop/internal/app"
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
	// Closed names the holds that close the order's access, when --force
	// sent it anyway.
	Closed string `json:"closed,omitempty"`
}

// runResend sends an order's mail again.
func runResend(ctx context.Context, env Env, args []string) error {
	op := newOperation(env, "resend", "resend <session> [--to ADDRESS] [--new-links] [--force] [--local] [--json]\n\nSends the order's last mail again as a new mail generation, so that it is not\ndeduplicated away, and records it in the ledger. With --to, sends it to that\naddress instead (a bounced or mistyped one: see orders show); the order's list\nof mails records where it went, and the address finds the order on the \"Lost\nyour link?\" page once the mail is sent. With --new-links, queues the order for\nProcessOrder instead, which mints fresh links and mails them (needed once the\nlinks have expired). An order whose access is closed (revoke, a refund, a\ndispute) is refused: grant reopens it first, or --force sends anyway.\nExits 1 when refused, 2 for an address that is not one, 4 when the ledger has\nno such order.", true)
	newLinks := op.fs.Bool("new-links", false, "mint fresh download links (through ProcessOrder) instead of resending the last mail")
	force := op.fs.Bool("force", false, "send even though the order's access is closed (its page says access has ended)")
	to := op.fs.String("to", "", "send to this address instead of the last mail's (one bare address, such as ada@example.com)")
	op.vet = func() error {
		if *to == "" {
			return nil
		}
		if *newLinks {
			return usageErr("--to resends the last mail; it does not go with --new-links (resend --to first, or resend --new-links)")
		}
		return checkAddress("--to", *to)
	}
	return op.runOrder(ctx, env, args, func(p *app.Pipeline, out printer, rec order.Order) error {
		rs, err := p.Resender()
		if err != nil {
			return err
		}
		r := resent{SessionID: rec.SessionID}
		if *force && rec.Revoked() {
			r.Closed = order.DescribeHolds(rec.AccessHolds())
		}
		if *newLinks {
			msg, err := rs.NewLinks(ctx, rec, *force)
			if err != nil {
				return err
			}
			r.Queue, r.EventID = p.OrdersQueue(), msg.EventID
		} else {
			msg, err := rs.MailTo(ctx, rec, *force, *to)
			if err != nil {
				return err
			}
			v := mailViewFrom(msg)
			r.Queue, r.Mail = p.MailsQueue(), &v
		}
		return out.print(r, func(w io.Writer) { printResent(w, r) })
	})
}

func printResent(w io.Writer, r resent) {
	if r.Closed != "" {
		fmt.Fprintf(w, "warning: access to %s is closed by %s: its order page says access has ended (handler grant reopens it)\n", r.SessionID, r.Closed)
	}
	if m := r.Mail; m != nil {
		fmt.Fprintf(w, "queued %s mail generation %d for %s to %s on %s (mail key %s)\n", m.Kind, m.Generation, r.SessionID, m.To, r.Queue, m.Key)
		return
	}
	fmt.Fprintf(w, "queued %s on %s with new links (event %s): ProcessOrder mints fresh links and mails them as a new generation\n",
		r.SessionID, r.Queue, r.EventID)
}

// checkAddress refuses, as a usage error naming flag, anything but one bare
// address a mail can be sent to.
func checkAddress(flag, addr string) error {
	if err := app.CheckRecipient(addr); err != nil {
		return usageErr("%s %v", flag, err)
	}
	return nil
}
