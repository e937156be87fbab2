package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/operator"
	"github.com/filedrop/filedrop/internal/order"
)

// accessView is an order's access to the order page as orders show, revoke
// and grant print it. The JSON names are a stable contract.
type accessView struct {
	// State is open, revoked, suspended (a dispute is open), expired,
	// pending or payment_failed.
	State          string     `json:"state"`
	Ends           *time.Time `json:"ends,omitempty"`
	RevokedBy      string     `json:"revoked_by,omitempty"`
	Reason         string     `json:"reason,omitempty"`
	RevokedAt      *time.Time `json:"revoked_at,omitempty"`
	PaymentIntent  string     `json:"payment_intent,omitempty"`
	RefundedAmount int64      `json:"refunded_amount,omitempty"`
	Dispute        string     `json:"dispute,omitempty"`
	Files          []fileView `json:"files,omitempty"`
}

// fileView is one file of the order page and its downloads.
type fileView struct {
	Title     string `json:"title"`
	FileName  string `json:"file_name"`
	Size      int64  `json:"size"`
	Downloads int    `json:"downloads"`
	// Left is the downloads left under DOWNLOAD_LIMIT, -1 for unlimited.
	Left int `json:"left"`
	// DownloadedAt are the newest downloads' times, oldest first.
	DownloadedAt []time.Time `json:"downloaded_at,omitempty"`
}

// accessViewOf is o's access at now under DOWNLOAD_WINDOW window and
// DOWNLOAD_LIMIT limit.
func accessViewOf(o order.Order, now time.Time, window time.Duration, limit int) *accessView {
	v := &accessView{State: string(o.Access(now, window)), Ends: jsonTime(o.AccessEnds(window)), RevokedBy: o.RevokedBy,
		Reason: o.RevokeReason, RevokedAt: jsonTime(o.RevokedAt), PaymentIntent: o.PaymentIntent,
		RefundedAmount: o.RefundedAmount, Dispute: o.Dispute}
	for _, f := range o.Files {
		fv := fileView{Title: f.Title, FileName: f.FileName, Size: f.Size, Downloads: f.Downloads, Left: f.Remaining(limit)}
		for _, at := range f.DownloadedAt {
			fv.DownloadedAt = append(fv.DownloadedAt, at.UTC())
		}
		v.Files = append(v.Files, fv)
	}
	return v
}

// printAccess writes the access rows of orders show.
func printAccess(w io.Writer, a *accessView) {
	row := func(k, val string) { fmt.Fprintf(w, "%s\t%s\n", k, val) }
	state := a.State
	if a.RevokedBy != "" {
		state = fmt.Sprintf("%s (by %s %s: %s)", a.State, a.RevokedBy, stamp(deref(a.RevokedAt)), dash(a.Reason))
	}
	row("Access", state)
	row("Access ends", stamp(deref(a.Ends)))
	if a.PaymentIntent != "" {
		row("Payment", a.PaymentIntent)
	}
	if a.RefundedAmount > 0 {
		row("Refunded", fmt.Sprintf("%d (smallest currency unit)", a.RefundedAmount))
	}
	if a.Dispute != "" {
		row("Dispute", a.Dispute)
	}
	for _, f := range a.Files {
		left := "unlimited"
		if f.Left >= 0 {
			left = fmt.Sprintf("%d left", f.Left)
		}
		times := make([]string, len(f.DownloadedAt))
		for i, at := range f.DownloadedAt {
			times[i] = stamp(at)
		}
		row("  "+f.FileName, fmt.Sprintf("%s, %s: %s", plural(f.Downloads, "download"), left, dash(strings.Join(times, ", "))))
	}
}

// accessChange is what revoke and grant print.
type accessChange struct {
	SessionID string `json:"session_id"`
	// Changed is false when the order already was as asked (revoke of a
	// revoked order).
	Changed bool `json:"changed"`
	// Lifted is the cause of the revocation a grant lifted.
	Lifted string      `json:"lifted,omitempty"`
	Access *accessView `json:"access"`
}

// runRevoke ends an order's access to the order page.
func runRevoke(ctx context.Context, env Env, args []string) error {
	op := newOperation(env, "revoke", "revoke <session> --reason R [--local] [--json]\n\nEnds the order's access to the order page: its page says access has ended and\nno download works. An order already revoked (by a refund, a dispute or an\noperator) keeps its first cause. Undo with grant.\nExits 2 without --reason, 4 when the ledger has no such order.", true)
	reason := op.fs.String("reason", "", "why, for the next operator and support (required)")
	op.vet = func() error {
		if strings.TrimSpace(*reason) == "" {
			return usageErr("revoke needs --reason: say why, for the next operator and support")
		}
		return nil
	}
	return op.runOrder(ctx, env, args, func(p *pipeline, out printer, rec order.Order) error {
		o, changed, err := operator.NewAccess(p.ledger, p.cfg.Download.Window, time.Now).Revoke(ctx, rec, *reason)
		if err != nil {
			return err
		}
		c := accessChange{SessionID: o.SessionID, Changed: changed, Access: accessViewOf(o, time.Now(), p.cfg.Download.Window, p.cfg.Download.Limit)}
		return out.print(c, func(w io.Writer) {
			if changed {
				fmt.Fprintf(w, "revoked access to %s: %s\n", c.SessionID, c.Access.Reason)
			} else {
				fmt.Fprintf(w, "%s was already revoked by %s (%s); nothing changed\n", c.SessionID, c.Access.RevokedBy, dash(c.Access.Reason))
			}
		})
	})
}

// runGrant reopens an order's access, optionally extending it and
// resetting its download counts.
func runGrant(ctx context.Context, env Env, args []string) error {
	op := newOperation(env, "grant", "grant <session> [--extend 720h] [--reset-downloads] [--local] [--json]\n\nReopens the order's access to the order page, whoever closed it (an operator,\na refund, a dispute), and optionally extends its window from its end or from\nnow, whichever is later, and starts every file's download count again.\nExits 1 for an order without files yet, 4 when the ledger has no such order.", true)
	extend := op.fs.Duration("extend", 0, "extend access by this long from its end or from now, whichever is later (0: leave the end)")
	reset := op.fs.Bool("reset-downloads", false, "start every file's download count again")
	op.vet = func() error {
		if *extend < 0 {
			return usageErr("--extend must not be negative")
		}
		return nil
	}
	return op.runOrder(ctx, env, args, func(p *pipeline, out printer, rec order.Order) error {
		o, lifted, err := operator.NewAccess(p.ledger, p.cfg.Download.Window, time.Now).Grant(ctx, rec, *extend, *reset)
		if err != nil {
			return err
		}
		c := accessChange{SessionID: o.SessionID, Changed: true, Lifted: lifted, Access: accessViewOf(o, time.Now(), p.cfg.Download.Window, p.cfg.Download.Limit)}
		return out.print(c, func(w io.Writer) {
			fmt.Fprintf(w, "granted access to %s until %s", c.SessionID, stamp(deref(c.Access.Ends)))
			if lifted != "" {
				fmt.Fprintf(w, " (lifted a revocation by %s)", lifted)
			}
			if *reset {
				fmt.Fprint(w, "; download counts reset")
			}
			fmt.Fprintln(w)
		})
	})
}
