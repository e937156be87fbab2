package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/filedrop/filedrop/internal/app"
	"github.com/filedrop/filedrop/internal/order"
)

// deliveryStatuses are the statuses simulate delivery offers: the Azure
// SDKs' names.
var deliveryStatuses = []order.DeliveryStatus{order.MailDelivered, order.MailBounced, order.MailSuppressed, order.MailFailed,
	order.MailQuarantined, order.MailFilteredSpam}

// simulatedReport is what simulate delivery queued, as it prints it.
type simulatedReport struct {
	SessionID   string `json:"session_id"`
	OperationID string `json:"operation_id"`
	Status      string `json:"status"`
	EventID     string `json:"event_id"`
	Queue       string `json:"queue"`
}

// simulateDelivery puts on the DeliveryReport function's queue the report
// ACS would send of the order's last mail, as Event Grid writes it.
func simulateDelivery(ctx context.Context, env Env, args []string) error {
	names := make([]string, len(deliveryStatuses))
	for i, s := range deliveryStatuses {
		names[i] = string(s)
	}
	op := newOperation(env, "simulate delivery", "simulate delivery --session <id> [--status Delivered] [--message TEXT] [--local] [--json]\n\n"+
		"Puts on the delivery-reports queue the report Azure Communication Services\nwould send of the order's last mail (Microsoft.Communication.EmailDeliveryReportReceived),\n"+
		"one base64 event in the Event Grid schema, as the Event Grid subscription writes it.\nThe DeliveryReport function (handler local runs it) records it on the mail:\n"+
		"orders show then shows it. SMTP and the outbox have no reports: this is how the\ndemo and the tests show one.\nExits 4 when the ledger has no such order.", true)
	session := op.fs.String("session", "", "the order's Checkout Session id (cs_test_...)")
	status := op.fs.String("status", string(order.MailDelivered), "the report's status: "+strings.Join(names, ", "))
	message := op.fs.String("message", "", "the receiving server's message (default: a plausible one for the status)")
	var st order.DeliveryStatus
	check := func(rest []string) error {
		switch {
		case len(rest) > 0:
			return usageErr("simulate delivery takes no arguments, got %q (the session goes in --session)", rest)
		case !order.ValidSessionID(*session):
			return usageErr("--session must be a Checkout Session id such as cs_test_a1b2, not %q", *session)
		}
		i := slices.IndexFunc(deliveryStatuses, func(s order.DeliveryStatus) bool { return strings.EqualFold(string(s), *status) })
		if i < 0 {
			return usageErr("--status must be one of %s, not %q", strings.Join(names, ", "), *status)
		}
		st = deliveryStatuses[i]
		return nil
	}
	return op.run(env, args, check, func(p *app.Pipeline, out printer) error {
		rec, err := getOrder(ctx, p, *session)
		if err != nil {
			return err
		}
		last, ok := rec.LastMail()
		if !ok {
			return fmt.Errorf("order %s lists no mail to report on (SendLink lists each mail it sends)", rec.SessionID)
		}
		msg := *message
		if msg == "" && st != order.MailDelivered {
			msg = "550 5.1.1 The email account that you tried to reach does not exist (simulated by handler simulate delivery)"
		}
		r, err := p.SimulateDelivery(ctx, last, st, msg)
		if err != nil {
			return err
		}
		res := simulatedReport{SessionID: rec.SessionID, OperationID: last.OperationID, Status: string(st), EventID: r.EventID, Queue: r.Queue}
		return out.print(res, func(w io.Writer) {
			fmt.Fprintf(w, "queued a %s report of %s mail generation %d of %s (key %s) on %s; handler orders show %s shows it once DeliveryReport ran\n",
				st, last.Kind, last.Generation, rec.SessionID, last.OperationID, r.Queue, rec.SessionID)
		})
	})
}
