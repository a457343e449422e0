// Package events is what integrators are told: the catalogue of event types, and the events
// written with the changes they report (txn.Tx.Emit), listed by GET /v1/events and kept 90 days.
package events

import "slices"

// Object kinds: the resource an event's data.object is, as that resource's GET answers it.
const (
	ObjectOrder            = "order"
	ObjectPaymentIntent    = "payment_intent"
	ObjectCard             = "card"
	ObjectMandate          = "mandate"
	ObjectSEPAProfile      = "sepa_profile"
	ObjectCollection       = "sepa_collection"
	ObjectInvoicingAccount = "invoicing_account"
	ObjectStatement        = "statement"
	ObjectRefund           = "refund"
	ObjectDispute          = "dispute"
	ObjectPayout           = "payout"
	ObjectReconciliation   = "reconciliation"
	ObjectWebhookEndpoint  = "webhook_endpoint"
)

// Audience is who may see the events of a type.
type Audience string

// Audiences.
const (
	// Parties: the buyer and the centre the event names (its buyer_id, center_id), admin and
	// service.
	Parties Audience = "parties"
	// Platform: admin and service only.
	Platform Audience = "platform"
)

// Type is one type of the catalogue.
type Type struct {
	Name     string
	Object   string // the kind of data.object (Object* constants)
	Audience Audience
}

// Catalogue is every event type, in the contract's order. Emitting a type that is not here is a
// programming error; subscribing to one is refused (422).
var Catalogue = []Type{
	{"order.confirmed", ObjectOrder, Parties},
	{"order.cancelled", ObjectOrder, Parties},
	{"order.refunded", ObjectOrder, Parties},
	{"payment_intent.requires_action", ObjectPaymentIntent, Parties},
	{"payment_intent.scheduled", ObjectPaymentIntent, Parties},
	{"payment_intent.succeeded", ObjectPaymentIntent, Parties},
	{"payment_intent.failed", ObjectPaymentIntent, Parties},
	{"payment_intent.canceled", ObjectPaymentIntent, Parties},
	{"card.blocked", ObjectCard, Parties},
	{"mandate.submitted", ObjectMandate, Parties},
	{"mandate.active", ObjectMandate, Parties},
	{"mandate.failed", ObjectMandate, Parties},
	{"mandate.cancelled", ObjectMandate, Parties},
	{"sepa.enabled", ObjectSEPAProfile, Parties},
	{"sepa.disabled", ObjectSEPAProfile, Parties},
	{"sepa.ceiling_changed", ObjectSEPAProfile, Parties},
	{"sepa_collection.prenotified", ObjectCollection, Parties},
	{"sepa_collection.submitted", ObjectCollection, Parties},
	{"sepa_collection.succeeded", ObjectCollection, Parties},
	{"sepa_collection.failed", ObjectCollection, Parties},
	{"sepa_collection.retrying", ObjectCollection, Parties},
	{"sepa_collection.recovered", ObjectCollection, Parties},
	{"invoicing_account.requested", ObjectInvoicingAccount, Parties},
	{"invoicing_account.approved", ObjectInvoicingAccount, Parties},
	{"invoicing_account.rejected", ObjectInvoicingAccount, Parties},
	{"invoicing_account.revoked", ObjectInvoicingAccount, Parties},
	{"statement.issued", ObjectStatement, Parties},
	{"statement.paid", ObjectStatement, Parties},
	{"refund.succeeded", ObjectRefund, Parties},
	{"refund.failed", ObjectRefund, Parties},
	{"dispute.created", ObjectDispute, Parties},
	{"dispute.closed", ObjectDispute, Parties},
	{"payout.paid", ObjectPayout, Parties},
	{"payout.failed", ObjectPayout, Parties},
	{"payout.returned", ObjectPayout, Parties},
	{"reconciliation.mismatch", ObjectReconciliation, Platform},
	{"webhook_endpoint.disabled", ObjectWebhookEndpoint, Parties},
}

// Lookup returns the catalogue's type of that name.
func Lookup(name string) (Type, bool) {
	i := slices.IndexFunc(Catalogue, func(t Type) bool { return t.Name == name })
	if i < 0 {
		return Type{}, false
	}
	return Catalogue[i], true
}

// Names returns the catalogue's type names, in its order.
func Names() []string {
	out := make([]string, len(Catalogue))
	for i, t := range Catalogue {
		out[i] = t.Name
	}
	return out
}

// PlatformOnly returns the names of the types only admin and service see.
func PlatformOnly() []string {
	var out []string
	for _, t := range Catalogue {
		if t.Audience == Platform {
			out = append(out, t.Name)
		}
	}
	return out
}
