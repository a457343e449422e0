package mangopay

import (
	"net/url"
	"strings"

	"github.com/vhupay/vhupay/internal/psp"
)

// cardFailures maps MangoPay result codes of card pay-ins (reference §3.5) to neutral codes.
var cardFailures = map[string]psp.FailureCode{
	// 3-D Secure.
	"101301": psp.FailureAuthenticationFailed, // authentication failed, cancelled, left the page
	"101302": psp.FailureAuthenticationFailed, // card not enrolled
	"101303": psp.FailureAuthenticationFailed, // card not compatible
	"101305": psp.FailureAuthenticationFailed, // soft decline: SCA required
	"101399": psp.FailureAuthenticationFailed, // 3DS not available
	"008511": psp.FailureAuthenticationFailed, // 3DS failed on supplementary checks
	"008515": psp.FailureAuthenticationFailed, // authentication not available
	"101304": psp.FailureExpired,              // 3DS session expired: the buyer did not finish
	"001030": psp.FailureExpired,              // user has not been redirected
	"001033": psp.FailureExpired,              // not redirected, session expired
	"001034": psp.FailureExpired,              // payment session expired
	"101001": psp.FailureExpired,              // the user did not complete the transaction
	"001031": psp.FailureAuthenticationFailed, // user cancelled the payment
	"101002": psp.FailureAuthenticationFailed, // transaction cancelled by the user
	// The card must never be used again.
	"101111": psp.FailureCardBlocked, // maximum number of attempts reached
	"008001": psp.FailureCardBlocked, // counterfeit
	"008002": psp.FailureCardBlocked, // lost
	"008003": psp.FailureCardBlocked, // stolen
	"101410": psp.FailureCardBlocked, // card deactivated at MangoPay
	// Declines by the bank, the terminal or the fraud rules.
	"101101": psp.FailureCardDeclined, // do not honor
	"101102": psp.FailureCardDeclined,
	"101103": psp.FailureCardDeclined,
	"101104": psp.FailureCardDeclined,
	"101105": psp.FailureCardDeclined, // card expired
	"101106": psp.FailureCardDeclined, // card inactive at the bank
	"101112": psp.FailureCardDeclined,
	"101113": psp.FailureCardDeclined,
	"101115": psp.FailureCardDeclined,
	"101116": psp.FailureCardDeclined,
	"101118": psp.FailureCardDeclined, // another payment with the card is pending
	"101199": psp.FailureCardDeclined,
	"001011": psp.FailureCardDeclined, // amount too high
	"001012": psp.FailureCardDeclined, // amount too low
	"008004": psp.FailureCardDeclined,
	"008005": psp.FailureCardDeclined,
	"008006": psp.FailureCardDeclined,
	"008007": psp.FailureCardDeclined,
	"008008": psp.FailureCardDeclined,
}

// directDebitFailures maps MangoPay result codes of direct-debit pay-ins (reference §4.2).
var directDebitFailures = map[string]psp.FailureCode{
	"001830": psp.FailureInsufficientFunds,
	"001801": psp.FailureAccountClosed,
	"001802": psp.FailureAccountClosed, // bank details incorrect: this account cannot be debited
	"001803": psp.FailureAccountClosed, // direct debit not enabled on this account
	"001804": psp.FailureMandateCancelled,
	"001805": psp.FailureMandateCancelled,
	"001806": psp.FailureMandateCancelled,
	"001833": psp.FailureMandateCancelled, // mandate status does not allow payments
	"001835": psp.FailureMandateCancelled, // mandate expired
	"001834": psp.FailurePaymentDisputed,
	"001832": psp.FailurePaymentDisputed, // payment cancelled
}

// FailureCode maps the ResultCode of a failed MangoPay pay-in to a neutral failure code. Unknown
// card codes of the refusal families (1011xx, 008xxx) are card_declined, of 1013xx
// authentication_failed; anything else, and every unknown direct-debit code, is provider_error. A
// success code ("000000", "") maps to "".
func FailureCode(method psp.PayInMethod, resultCode string) psp.FailureCode {
	if resultCode == "" || resultCode == "000000" {
		return ""
	}
	if method == psp.PayInDirectDebit {
		if f, ok := directDebitFailures[resultCode]; ok {
			return f
		}
		return psp.FailureProviderError
	}
	if f, ok := cardFailures[resultCode]; ok {
		return f
	}
	switch {
	case strings.HasPrefix(resultCode, "1011"), strings.HasPrefix(resultCode, "008"):
		return psp.FailureCardDeclined
	case strings.HasPrefix(resultCode, "1013"):
		return psp.FailureAuthenticationFailed
	}
	return psp.FailureProviderError
}

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
		switch resultCode {
		case "001805", "001806":
			return psp.MandateCancelled, psp.FailureMandateCancelled
		case "001807":
			return psp.MandateExpired, psp.FailureMandateCancelled
		}
		if f, ok := directDebitFailures[resultCode]; ok {
			return psp.MandateFailed, f
		}
		return psp.MandateFailed, psp.FailureProviderError
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
