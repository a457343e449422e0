package mangopay

import (
	"net/url"

	"github.com/vhupay/vhupay/internal/psp"
)

// MandateStatus maps a MangoPay mandate Status and ResultCode to a neutral status and, for a
// mandate that ended, a failure code. MangoPay reports cancellations as FAILED: result codes 001805
// (by the user) and 001806 (by the platform) make it cancelled; 001807 (not confirmed within the
// hour) makes it expired, like MangoPay's EXPIRED.
func MandateStatus(status, resultCode string) (psp.MandateStatus, psp.FailureCode) {
	switch status {
	case "SUBMITTED":
		return psp.MandateSubmitted, ""
	case "ACTIVE":
		return psp.MandateActive, ""
	case "EXPIRED":
		return psp.MandateExpired, psp.FailureMandateCancelled
	case "FAILED":
		return psp.MandateFailure(resultCode)
	default:
		return psp.MandateCreated, ""
	}
}

// hookResources maps the MangoPay hook event types vhupay acts on onto the resource to re-read.
// Event types from Mangopay/docs webhooks/event-types.mdx and the Node SDK's
// typings/models/event.d.ts.
var hookResources = map[string]psp.ResourceKind{
	"PAYIN_NORMAL_CREATED":   psp.ResourcePayIn,
	"PAYIN_NORMAL_SUCCEEDED": psp.ResourcePayIn,
	"PAYIN_NORMAL_FAILED":    psp.ResourcePayIn,
	// Refunds of pay-ins and transfers, and payouts returned by the bank: GET /refunds/{id}.
	"PAYIN_REFUND_CREATED":      psp.ResourceRefund,
	"PAYIN_REFUND_SUCCEEDED":    psp.ResourceRefund,
	"PAYIN_REFUND_FAILED":       psp.ResourceRefund,
	"TRANSFER_REFUND_CREATED":   psp.ResourceRefund,
	"TRANSFER_REFUND_SUCCEEDED": psp.ResourceRefund,
	"TRANSFER_REFUND_FAILED":    psp.ResourceRefund,
	"PAYOUT_REFUND_CREATED":     psp.ResourceRefund,
	"PAYOUT_REFUND_SUCCEEDED":   psp.ResourceRefund,
	"PAYOUT_REFUND_FAILED":      psp.ResourceRefund,
	// Repudiations (SEPA late failures, chargebacks) and their settlements.
	"PAYIN_REPUDIATION_CREATED":     psp.ResourceRepudiation,
	"PAYIN_REPUDIATION_SUCCEEDED":   psp.ResourceRepudiation,
	"PAYIN_REPUDIATION_FAILED":      psp.ResourceRepudiation,
	"TRANSFER_SETTLEMENT_CREATED":   psp.ResourceSettlement,
	"TRANSFER_SETTLEMENT_SUCCEEDED": psp.ResourceSettlement,
	"TRANSFER_SETTLEMENT_FAILED":    psp.ResourceSettlement,
	// Mandates.
	"MANDATE_CREATED":   psp.ResourceMandate,
	"MANDATE_SUBMITTED": psp.ResourceMandate,
	"MANDATE_ACTIVATED": psp.ResourceMandate,
	"MANDATE_ACTIVE":    psp.ResourceMandate, // the spelling of one guide page
	"MANDATE_FAILED":    psp.ResourceMandate,
	"MANDATE_EXPIRED":   psp.ResourceMandate,
	// Money out.
	"TRANSFER_NORMAL_CREATED":   psp.ResourceTransfer,
	"TRANSFER_NORMAL_SUCCEEDED": psp.ResourceTransfer,
	"TRANSFER_NORMAL_FAILED":    psp.ResourceTransfer,
	"PAYOUT_NORMAL_CREATED":     psp.ResourcePayout,
	"PAYOUT_NORMAL_SUCCEEDED":   psp.ResourcePayout,
	"PAYOUT_NORMAL_FAILED":      psp.ResourcePayout,
	"INSTANT_PAYOUT_SUCCEEDED":  psp.ResourcePayout,
	"INSTANT_PAYOUT_FAILED":     psp.ResourcePayout,
	"INSTANT_PAYOUT_FALLBACKED": psp.ResourcePayout,
	// Disputes (DISPUTE_DOCUMENT_* name a document, not a dispute: not acted on).
	"DISPUTE_CREATED":                 psp.ResourceDispute,
	"DISPUTE_ACTION_REQUIRED":         psp.ResourceDispute,
	"DISPUTE_SUBMITTED":               psp.ResourceDispute,
	"DISPUTE_SENT_TO_BANK":            psp.ResourceDispute,
	"DISPUTE_FURTHER_ACTION_REQUIRED": psp.ResourceDispute,
	"DISPUTE_CLOSED":                  psp.ResourceDispute,
	// Centres as owners: enrolment, verification (payouts enabled), category; payout accounts.
	"SCA_ENROLLMENT_SUCCEEDED":       psp.ResourceOwner,
	"SCA_ENROLLMENT_FAILED":          psp.ResourceOwner,
	"SCA_ENROLLMENT_EXPIRED":         psp.ResourceOwner,
	"USER_KYC_REGULAR":               psp.ResourceOwner,
	"USER_KYC_LIGHT":                 psp.ResourceOwner,
	"USER_CATEGORY_UPDATED_TO_OWNER": psp.ResourceOwner,
	"RECIPIENT_ACTIVE":               psp.ResourcePayoutAccount,
	"RECIPIENT_CANCELED":             psp.ResourcePayoutAccount,
	"RECIPIENT_DEACTIVATED":          psp.ResourcePayoutAccount,
}

// HookResource tells which kind of resource a MangoPay hook EventType is about; false for event
// types vhupay does not act on (KYC documents, dispute documents, cards...).
func HookResource(eventType string) (psp.ResourceKind, bool) {
	k, ok := hookResources[eventType]
	return k, ok
}

// ParseHook reads a MangoPay hook notification (a GET with EventType, RessourceId — sic — and Date
// in the query). It also accepts ResourceId. It returns false for event types vhupay does not act
// on and for an empty resource id (the dashboard's test pings). Nothing in it is trusted: the
// resource must be re-read.
func ParseHook(query url.Values) (psp.Notification, bool) {
	event := query.Get("EventType")
	id := query.Get("RessourceId")
	if id == "" {
		id = query.Get("ResourceId")
	}
	kind, ok := HookResource(event)
	if !ok || id == "" {
		return psp.Notification{}, false
	}
	return psp.Notification{Kind: kind, ResourceID: id, Event: event}, true
}
