package psp

import "strings"

// Result codes: the provider's numbering of why an operation failed. vhupay uses MangoPay's
// numbering (MangoPay's reference, "Result codes") as its lingua franca: the MangoPay client reads
// them from MangoPay and the sandbox provider produces the same ones, so both map them to neutral
// failure codes here, and no adapter depends on another.

// cardFailures maps MangoPay result codes of card pay-ins (reference §3.5) to neutral codes.
var cardFailures = map[string]FailureCode{
	// 3-D Secure.
	"101301": FailureAuthenticationFailed, // authentication failed, cancelled, left the page
	"101302": FailureAuthenticationFailed, // card not enrolled
	"101303": FailureAuthenticationFailed, // card not compatible
	"101305": FailureAuthenticationFailed, // soft decline: SCA required
	"101399": FailureAuthenticationFailed, // 3DS not available
	"008511": FailureAuthenticationFailed, // 3DS failed on supplementary checks
	"008515": FailureAuthenticationFailed, // authentication not available
	"101304": FailureExpired,              // 3DS session expired: the buyer did not finish
	"001030": FailureExpired,              // user has not been redirected
	"001033": FailureExpired,              // not redirected, session expired
	"001034": FailureExpired,              // payment session expired
	"101001": FailureExpired,              // the user did not complete the transaction
	"001031": FailureAuthenticationFailed, // user cancelled the payment
	"101002": FailureAuthenticationFailed, // transaction cancelled by the user
	// The card must never be used again.
	"101111": FailureCardBlocked, // maximum number of attempts reached
	"008001": FailureCardBlocked, // counterfeit
	"008002": FailureCardBlocked, // lost
	"008003": FailureCardBlocked, // stolen
	"101410": FailureCardBlocked, // card deactivated at MangoPay
	// Declines by the bank, the terminal or the fraud rules.
	"101101": FailureCardDeclined, // do not honor
	"101102": FailureCardDeclined,
	"101103": FailureCardDeclined,
	"101104": FailureCardDeclined,
	"101105": FailureCardDeclined, // card expired
	"101106": FailureCardDeclined, // card inactive at the bank
	"101112": FailureCardDeclined,
	"101113": FailureCardDeclined,
	"101115": FailureCardDeclined,
	"101116": FailureCardDeclined,
	"101118": FailureCardDeclined, // another payment with the card is pending
	"101199": FailureCardDeclined,
	"001011": FailureCardDeclined, // amount too high
	"001012": FailureCardDeclined, // amount too low
	"008004": FailureCardDeclined,
	"008005": FailureCardDeclined,
	"008006": FailureCardDeclined,
	"008007": FailureCardDeclined,
	"008008": FailureCardDeclined,
}

// directDebitFailures maps MangoPay result codes of direct-debit pay-ins (reference §4.2).
var directDebitFailures = map[string]FailureCode{
	"001830": FailureInsufficientFunds,
	"001801": FailureAccountClosed,
	"001802": FailureAccountClosed, // bank details incorrect: this account cannot be debited
	"001803": FailureAccountClosed, // direct debit not enabled on this account
	"001804": FailureMandateCancelled,
	"001805": FailureMandateCancelled,
	"001806": FailureMandateCancelled,
	"001833": FailureMandateCancelled, // mandate status does not allow payments
	"001835": FailureMandateCancelled, // mandate expired
	"001834": FailurePaymentDisputed,
	"001832": FailurePaymentDisputed, // payment cancelled
}

// PayInFailure maps the ResultCode of a failed pay-in to a neutral failure code. Unknown
// card codes of the refusal families (1011xx, 008xxx) are card_declined, of 1013xx
// authentication_failed; anything else, and every unknown direct-debit code, is provider_error. A
// success code ("000000", "") maps to "".
func PayInFailure(method PayInMethod, resultCode string) FailureCode {
	if resultCode == "" || resultCode == "000000" {
		return ""
	}
	if method == PayInDirectDebit {
		if f, ok := directDebitFailures[resultCode]; ok {
			return f
		}
		return FailureProviderError
	}
	if f, ok := cardFailures[resultCode]; ok {
		return f
	}
	switch {
	case strings.HasPrefix(resultCode, "1011"), strings.HasPrefix(resultCode, "008"):
		return FailureCardDeclined
	case strings.HasPrefix(resultCode, "1013"):
		return FailureAuthenticationFailed
	}
	return FailureProviderError
}

// MandateFailure maps the ResultCode of a FAILED mandate to a neutral status and failure code.
// MangoPay reports cancellations as FAILED: 001805 (by the user) and 001806 (by the platform) make
// it cancelled; 001807 (not confirmed within the hour) makes it expired.
func MandateFailure(resultCode string) (MandateStatus, FailureCode) {
	switch resultCode {
	case "001805", "001806":
		return MandateCancelled, FailureMandateCancelled
	case "001807":
		return MandateExpired, FailureMandateCancelled
	}
	if f, ok := directDebitFailures[resultCode]; ok {
		return MandateFailed, f
	}
	return MandateFailed, FailureProviderError
}
