package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/app"
	"github.com/filedrop/filedrop/internal/order"
)

// accessView is an order's access to the order page as orders show, revoke
// and grant print it. The JSON names are a stable contract.
type accessView struct {
	// State is open, revoked, suspended (only open disputes hold it),
	// expired, pending or payment_failed.
	State string     `json:"state"`
	Ends  *time.Time `json:"ends,omitempty"`
	// Holds are what closes access now, each with who, when and why; the
	// window's end is one once it has passed.
	Holds []holdView `json:"holds,omitempty"`
	// RevokedBy, Reason and RevokedAt are the first hold's, for scripts
	// written when access had one cause.
	RevokedBy      string          `json:"revoked_by,omitempty"`
	Reason         string          `json:"reason,omitempty"`
	RevokedAt      *time.Time      `json:"revoked_at,omitempty"`
	PaymentIntent  string          `json:"payment_intent,omitempty"`
	RefundedAmount int64           `json:"refunded_amount,omitempty"`
	Disputes       []order.Dispute `json:"disputes,omitempty"`
	// Dispute is the latest dispute's status, for the same scripts.
	Dispute string `json:"dispute,omitempty"`
	// Granted is the last grant and what it acknowledged.
	Granted *grantView `json:"granted,omitempty"`
	Files   []fileView `json:"files,omitempty"`
}

// holdView is one hold on an order's access.
type holdView struct {
	// Kind is operator, refund, dispute, dispute_lost or window.
	Kind string `json:"kind"`
	// Who says who placed it, for people ("refund of ch_1").
	Who    string    `json:"who"`
	Ref    string    `json:"ref,omitempty"`
	Event  string    `json:"event,omitempty"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// grantView is what the last grant acknowledged.
type grantView struct {
	At       *time.Time      `json:"at,omitempty"`
	Refunded int64           `json:"refunded,omitempty"`
	Disputes []order.Dispute `json:"disputes,omitempty"`
}

func holdViews(holds []order.Hold) []holdView {
	var out []holdView
	for _, h := range holds {
		out = append(out, holdView{Kind: string(h.Kind), Who: h.Who(), Ref: h.Ref, Event: h.Event, At: h.At.UTC(), Reason: h.Reason})
	}
	return out
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
	var first order.Hold
	if len(o.AccessHolds()) > 0 {
		first = o.AccessHolds()[0]
	}
	v := &accessView{State: string(o.Access(now, window)), Ends: jsonTime(o.AccessEnds(window)), Holds: holdViews(o.HoldsAt(now, window)),
		RevokedBy: string(first.Kind), Reason: first.Reason, RevokedAt: jsonTime(first.At),
		PaymentIntent: o.PaymentIntent, RefundedAmount: o.RefundedAmount, Disputes: o.Disputes}
	if n := len(o.Disputes); n > 0 {
		v.Dispute = o.Disputes[n-1].Status
	}
	if g := o.Granted; !g.At.IsZero() || g.Refunded != 0 || len(g.Disputes) > 0 {
		v.Granted = &grantView{At: jsonTime(g.At), Refunded: g.Refunded, Disputes: g.Disputes}
	}
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
	row("Access", a.State)
	for _, h := range a.Holds {
		row("  Hold", fmt.Sprintf("%s since %s: %s", h.Who, stamp(h.At), dash(h.Reason)))
	}
	row("Access ends", stamp(deref(a.Ends)))
	if a.PaymentIntent != "" {
		row("Payment", a.PaymentIntent)
	}
	if a.RefundedAmount > 0 {
		row("Refunded", fmt.Sprintf("%d (smallest currency unit)", a.RefundedAmount))
	}
	for _, d := range a.Disputes {
		row("Dispute", strings.TrimSpace(d.ID+" "+d.Status))
	}
	if g := a.Granted; g != nil {
		row("Granted", fmt.Sprintf("%s, acknowledging %s", stamp(deref(g.At)), acknowledged(g)))
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

// acknowledged says what a grant saw: "refunded 2000, dispute dp_1 needs_response".
func acknowledged(g *grantView) string {
	parts := []string{fmt.Sprintf("refunded %d", g.Refunded)}
	for _, d := range g.Disputes {
		parts = append(parts, strings.TrimSpace("dispute "+d.ID+" "+d.Status))
	}
	return strings.Join(parts, ", ")
}

// accessChange is what revoke and grant print.
type accessChange struct {
	SessionID string `json:"session_id"`
	// Changed is false when the order already was as asked (revoke of an
	// order an operator's hold closes already).
	Changed bool `json:"changed"`
	// Lifted are the holds a grant lifted.
	Lifted []holdView  `json:"lifted,omitempty"`
	Access *accessView `json:"access"`
}

// runRevoke ends an order's access to the order page.
func runRevoke(ctx context.Context, env Env, args []string) error {
	op := newOperation(env, "revoke", "revoke <session> --reason R [--local] [--json]\n\nEnds the order's access to the order page with an operator's hold: its page says\naccess has ended and no download works. The hold stands beside any refund or\ndispute that closes the order too, and only grant lifts it: a dispute won does\nnot. An order an operator revoked already keeps that first hold.\nExits 2 without --reason, 4 when the ledger has no such order.", true)
	reason := op.fs.String("reason", "", "why, for the next operator and support (required; line breaks and control characters are removed)")
	op.vet = func() error {
		if order.CleanReason(*reason) == "" {
			return usageErr("revoke needs --reason: say why, for the next operator and support")
		}
		return nil
	}
	return op.runOrder(ctx, env, args, func(p *app.Pipeline, out printer, rec order.Order) error {
		o, changed, err := p.Access().Revoke(ctx, rec, *reason)
		if err != nil {
			return err
		}
		c := accessChange{SessionID: o.SessionID, Changed: changed, Access: accessViewOf(o, time.Now(), p.Config().Download.Window, p.Config().Download.Limit)}
		return out.print(c, func(w io.Writer) {
			mine := slices.IndexFunc(c.Access.Holds, func(h holdView) bool { return h.Kind == string(order.HoldOperator) })
			if !changed {
				fmt.Fprintf(w, "%s was already revoked by an operator (%s); nothing changed\n", c.SessionID, dash(c.Access.Holds[mine].Reason))
				return
			}
			fmt.Fprintf(w, "revoked access to %s: %s\n", c.SessionID, c.Access.Holds[mine].Reason)
			for _, h := range c.Access.Holds {
				if h.Kind != string(order.HoldOperator) {
					fmt.Fprintf(w, "also closed by %s (%s); grant lifts every hold\n", h.Who, h.Reason)
				}
			}
		})
	})
}

// runGrant reopens an order's access, optionally extending it and
// resetting its download counts.
func runGrant(ctx context.Context, env Env, args []string) error {
	op := newOperation(env, "grant", "grant <session> [--extend 720h] [--reset-downloads] [--local] [--json]\n\nReopens the order's access to the order page, whoever closed it (an operator,\na refund, a dispute): it lifts every hold that stands and records what it\nacknowledged, so that the same refund or dispute read again from Stripe closes\nnothing, while a new refund or dispute (or the dispute lost) closes access again.\nOptionally extends the window from its end or from now, whichever is later\n(an order whose window is over stays expired without --extend), and starts\nevery file's download count again.\nExits 1 for an order without files yet, 4 when the ledger has no such order.", true)
	extend := op.fs.Duration("extend", 0, "extend access by this long from its end or from now, whichever is later (0: leave the end)")
	reset := op.fs.Bool("reset-downloads", false, "start every file's download count again")
	op.vet = func() error {
		if *extend < 0 {
			return usageErr("--extend must not be negative")
		}
		return nil
	}
	return op.runOrder(ctx, env, args, func(p *app.Pipeline, out printer, rec order.Order) error {
		o, lifted, err := p.Access().Grant(ctx, rec, *extend, *reset)
		if err != nil {
			return err
		}
		c := accessChange{SessionID: o.SessionID, Changed: true, Lifted: holdViews(lifted), Access: accessViewOf(o, time.Now(), p.Config().Download.Window, p.Config().Download.Limit)}
		return out.print(c, func(w io.Writer) {
			fmt.Fprintf(w, "granted access to %s until %s", c.SessionID, stamp(deref(c.Access.Ends)))
			if len(lifted) > 0 {
				fmt.Fprintf(w, " (lifted: %s)", order.DescribeHolds(lifted))
			}
			if *reset {
				fmt.Fprint(w, "; download counts reset")
			}
			fmt.Fprintln(w)
			if c.Access.State == string(order.AccessExpired) {
				fmt.Fprintf(w, "access stays expired: the download window ended %s; grant --extend reopens it\n", stamp(deref(c.Access.Ends)))
			}
		})
	})
}
