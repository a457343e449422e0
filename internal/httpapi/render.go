package httpapi

import (
	"encoding/json"

	"github.com/vhupay/vhupay/internal/apikeys"
	"github.com/vhupay/vhupay/internal/balances"
	"github.com/vhupay/vhupay/internal/collections"
	"github.com/vhupay/vhupay/internal/disputes"
	"github.com/vhupay/vhupay/internal/events"
	"github.com/vhupay/vhupay/internal/invoicing"
	"github.com/vhupay/vhupay/internal/monthclose"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/payouts"
	"github.com/vhupay/vhupay/internal/refunds"
	"github.com/vhupay/vhupay/internal/sepa"
	"github.com/vhupay/vhupay/internal/txn"
	"github.com/vhupay/vhupay/internal/webhooks"
)

var _ txn.Renderer = Render

// Render is the txn.Renderer of the API: a domain value as the API answers it, through the same
// converter as the resource's GET, so that an event's data.object (and an audit entry's before
// and after) is exactly what the GET answered at that moment. Values of other types are encoded
// as they are.
//
// An orders.Order must carry its payment and delivery notes (as orders.Service.Order gives it):
// the Order GET shows them.
func Render(v any) ([]byte, error) {
	return json.Marshal(dto(v))
}

// dto is the answer shape of a domain value.
func dto(v any) any {
	switch v := v.(type) {
	case orders.Order:
		return toOrder(v)
	case payments.Intent:
		return toPaymentIntent(v)
	case payments.Card:
		return toCard(v)
	case sepa.Mandate:
		return toMandate(v)
	case sepa.BankAccount:
		return toBankAccount(v)
	case sepa.Eligibility:
		return toSEPAProfile(v)
	case collections.Collection:
		return toCollection(v)
	case invoicing.Account:
		return toInvoicingAccount(v)
	case invoicing.Statement:
		return toStatement(v)
	case parties.Buyer:
		return toBuyer(v)
	case parties.Center:
		return toCenter(v)
	case monthclose.MonthClose:
		return toMonthClose(v)
	case webhooks.Endpoint:
		return toWebhookEndpoint(v)
	case webhooks.Delivery:
		return toWebhookDelivery(v)
	case events.Event:
		return toEvent(v)
	case apikeys.Key:
		return toAPIKey(v)
	case sepa.Profile:
		return toSEPAStanding(v)
	case balances.Reconciliation:
		return toReconciliation(v)
	case payouts.Payout:
		return toPayout(v)
	case payouts.Account:
		return toPayoutAccount(v)
	case refunds.Refund:
		return toRefund(v)
	case disputes.Dispute:
		return toDispute(v)
	}
	return v
}
