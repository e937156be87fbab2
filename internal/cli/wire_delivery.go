package cli

import (
	"time"

	"github.com/filedrop/filedrop/internal/deliveryreport"
	"github.com/filedrop/filedrop/internal/download"
	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/orderlink"
)

// This file wires what tells the seller and the customer whether a mail
// arrived: the DeliveryReport function (ACS delivery reports that Event
// Grid writes into its queue) and the "Lost your link?" page of the
// Download function.

// fnDeliveryReport is the queue function of the delivery reports.
const fnDeliveryReport = "DeliveryReport"

// deliveryReportStage returns the DeliveryReport function's stage: reports
// decoded (an undecodable one is poisoned unread), found through the
// ledger's index of mails and recorded on their mail.
func (p *pipeline) deliveryReportStage() (functions.HandlerFunc, error) {
	st, err := deliveryreport.New(deliveryreport.Deps{Records: p.ledger, Mails: p.ledger, Now: time.Now, Log: p.log})
	if err != nil {
		return nil, err
	}
	return functions.Decoded(deliveryreport.Decode, st.Handle), nil
}

// withLostLinks adds the "Lost your link?" page to the Download function:
// the ledger's index of orders by email, SendLink's queue, and the order
// page links signed with the first ORDER_LINK_SECRET.
func (p *pipeline) withLostLinks(h *download.Handler, signer *orderlink.Signer) *download.Handler {
	return h.WithLostLinks(download.LostLinks{Customers: p.ledger, Mails: p.mails, Link: signer.URL})
}
