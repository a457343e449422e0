// Package psp is the payment-provider port: what payments and SEPA need from a payment service
// provider, in provider-neutral words. The MangoPay client (psp/mangopay) and the simulated provider
// (psp/sandbox) both implement Provider.
//
// Conventions shared by every method:
//   - Amounts are int64 euro cents; every resource is in EUR.
//   - Ids are the provider's, opaque strings (at most 128 characters); callers persist them.
//   - Every create takes an IdempotencyKey chosen by the caller and stored with the operation: calling
//     again with the same key (after a timeout, a crash, ErrUnavailable) returns the resource created
//     the first time instead of creating another one. One key may serve several kinds of creates
//     (for instance the buyer id for its user and its wallet): keys are scoped by kind of resource.
//   - Errors: ErrUnavailable when the provider could not be reached or did not answer in time
//     (callers answer 502 psp_unavailable and may retry later with the same key), ErrNotFound when
//     the provider does not know the id, *RejectedError when it refused the request. Business
//     outcomes of transactions (a declined card, an unpaid debit) are not errors: they come back as
//     a resource with a failed status and a FailureCode.
package psp

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrUnavailable means the provider could not be reached, failed (5xx), did not answer within the
// call's timeout, or kept rate-limiting the call. Whether a create took effect is unknown: retry
// later with the same idempotency key.
var ErrUnavailable = errors.New("payment provider unavailable")

// ErrNotFound means the provider has no resource with the given id.
var ErrNotFound = errors.New("payment provider resource not found")

// ErrRepresentativeRequired means the provider needs the company's legal representative (a real
// person: first and last name for a payer; also birthday, nationality, country of residence and
// e-mail for an owner) and the request has none. The provider was not called. Providers that need
// no representative (the sandbox) never return it.
var ErrRepresentativeRequired = errors.New("the payment provider requires the company's legal representative (first and last name; to be paid out, also birthday, nationality, country of residence and e-mail)")

// RejectedError is the provider's refusal of a request (a 4xx other than not found): invalid or
// missing fields, a resource in a state that forbids the operation, a key reused after a refusal.
// Code is the provider's error type (e.g. "param_error"), Message its text, Fields the per-field
// messages, Reference the provider's error id for its support. Nothing else from the provider's
// answer leaves the client.
type RejectedError struct {
	Code      string
	Message   string
	Fields    map[string]string
	Reference string
}

func (e *RejectedError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("payment provider rejected the request: %s", e.Code)
	}
	return fmt.Sprintf("payment provider rejected the request: %s: %s", e.Code, e.Message)
}

// Users creates the provider-side identity of a buyer: one legal user and one EUR wallet, created
// lazily, once. Callers persist both ids.
type Users interface {
	// CreateLegalUser creates the buyer's legal user (a payer: it pays, it does not receive funds).
	// Errors: ErrUnavailable, *RejectedError (e.g. invalid company number or e-mail).
	CreateLegalUser(ctx context.Context, req LegalUserRequest) (User, error)
	// CreateWallet creates an EUR wallet owned by req.OwnerID, credited by the buyer's pay-ins.
	// Errors: ErrUnavailable, *RejectedError (e.g. unknown owner).
	CreateWallet(ctx context.Context, req WalletRequest) (Wallet, error)
}

// Cards registers cards (the card number goes from the browser to the provider, never through
// vhupay) and manages registered cards.
type Cards interface {
	// CreateCardRegistration starts registering an EUR CB/Visa/Mastercard card for a user. The
	// browser then posts the card to CardRegistrationURL with AccessKey and PreregistrationData.
	// Errors: ErrUnavailable, *RejectedError.
	CreateCardRegistration(ctx context.Context, req CardRegistrationRequest) (CardRegistration, error)
	// CompleteCardRegistration hands the tokenisation answer ("data=...") to the provider. A bad
	// token is not an error: the registration comes back with status CardRegistrationError and a
	// ResultCode. Errors: ErrUnavailable, ErrNotFound, *RejectedError (e.g. already completed).
	CompleteCardRegistration(ctx context.Context, registrationID, registrationData string) (CardRegistration, error)
	// GetCard reads a registered card. Errors: ErrUnavailable, ErrNotFound.
	GetCard(ctx context.Context, cardID string) (Card, error)
	// DeactivateCard makes a card unusable, for good. Deactivating an inactive card succeeds.
	// Errors: ErrUnavailable, ErrNotFound, *RejectedError.
	DeactivateCard(ctx context.Context, cardID string) (Card, error)
}

// PayIns collects money into a buyer's wallet (by card with 3-D Secure, or by SEPA direct debit),
// reads pay-ins back and refunds them.
type PayIns interface {
	// CreateCardPayIn charges a registered card, asking the issuer for 3-D Secure. The pay-in comes
	// back succeeded or failed when no challenge is needed, or created with SecureModeNeeded and a
	// RedirectURL where the buyer's browser must go; the bank then sends the browser back to
	// req.SecureModeReturnURL (with the provider's pay-in id appended) and the final status is read
	// with GetPayIn. A declined card is a failed pay-in, not an error.
	// Errors: ErrUnavailable, *RejectedError (invalid fields, wrong currency...).
	CreateCardPayIn(ctx context.Context, req CardPayInRequest) (PayIn, error)
	// CreateDirectDebitPayIn asks for a SEPA debit on a submitted or active mandate. The pay-in comes
	// back created and settles days later (succeeded or failed, read with GetPayIn); a mandate in
	// another state gives a failed pay-in. Errors: ErrUnavailable, *RejectedError.
	CreateDirectDebitPayIn(ctx context.Context, req DirectDebitPayInRequest) (PayIn, error)
	// GetPayIn reads a pay-in of either kind. Errors: ErrUnavailable, ErrNotFound.
	GetPayIn(ctx context.Context, payInID string) (PayIn, error)
	// FindCardPayIn reads the card pay-in created by CreateCardPayIn with that idempotency key,
	// to resume a payment whose answer was lost. Errors: ErrUnavailable, ErrNotFound (no pay-in
	// was created with the key: the request never arrived, was refused, or is older than the
	// provider keeps keys — 24 hours at MangoPay).
	FindCardPayIn(ctx context.Context, idempotencyKey string) (PayIn, error)
	// SucceededPayIns lists the ids of the pay-ins (either kind) that succeeded from since to
	// until, for the sweep that finds pay-ins nothing in vhupay keeps. Errors: ErrUnavailable.
	SucceededPayIns(ctx context.Context, since, until time.Time) ([]string, error)
	// RefundPayIn refunds a succeeded pay-in, fully (req.Amount 0) or partly. A refund the provider
	// refuses for business reasons (too late, already refunded, same amount twice a day) comes back
	// failed with a ResultCode. Errors: ErrUnavailable, ErrNotFound, *RejectedError.
	RefundPayIn(ctx context.Context, req RefundRequest) (Refund, error)
	// GetRefund reads a refund. Errors: ErrUnavailable, ErrNotFound.
	GetRefund(ctx context.Context, refundID string) (Refund, error)
	// GetRepudiation reads a repudiation: money taken back after a pay-in succeeded (a SEPA late
	// failure or a chargeback). Errors: ErrUnavailable, ErrNotFound.
	GetRepudiation(ctx context.Context, repudiationID string) (Repudiation, error)
}

// BankAccounts registers buyers' IBANs with the provider. vhupay keeps the id, never the IBAN.
type BankAccounts interface {
	// CreateBankAccount registers an IBAN for a user. Errors: ErrUnavailable, *RejectedError (the
	// provider refuses invalid IBANs; Fields names "IBAN" without its value).
	CreateBankAccount(ctx context.Context, req BankAccountRequest) (BankAccount, error)
	// DeactivateBankAccount makes an account unusable, for good. It does not cancel its mandates.
	// Errors: ErrUnavailable, ErrNotFound, *RejectedError.
	DeactivateBankAccount(ctx context.Context, userID, bankAccountID string) (BankAccount, error)
}

// Mandates are SEPA direct-debit mandates signed by the buyer on the provider's page.
type Mandates interface {
	// CreateMandate creates a mandate on a bank account, to be signed by the buyer at RedirectURL
	// within the hour (else it ends MandateExpired); the provider then sends the browser back to
	// req.ReturnURL. Errors: ErrUnavailable, *RejectedError (e.g. unknown or inactive account).
	CreateMandate(ctx context.Context, req MandateRequest) (Mandate, error)
	// GetMandate reads a mandate. Errors: ErrUnavailable, ErrNotFound.
	GetMandate(ctx context.Context, mandateID string) (Mandate, error)
	// CancelMandate cancels a submitted or active mandate (it ends MandateCancelled). A mandate in
	// another state cannot be cancelled: *RejectedError. Errors: ErrUnavailable, ErrNotFound,
	// *RejectedError.
	CancelMandate(ctx context.Context, mandateID string) (Mandate, error)
}

// Provider is the whole port.
type Provider interface {
	Users
	Cards
	PayIns
	BankAccounts
	Mandates
}

// DirectDebitBatcher is optional: a provider that can take many direct-debit pay-ins in one call
// (the sandbox provider: one transaction for the lot) implements it; callers fall back to one
// CreateDirectDebitPayIn per debit otherwise (the MangoPay client: one API call per pay-in).
type DirectDebitBatcher interface {
	// CreateDirectDebitPayIns is CreateDirectDebitPayIn for each request, with the same
	// idempotency per request key: a request whose key was used before gets the pay-in created
	// then (or the same refusal), never a second debit. The answer has one result per request, in
	// the requests' order. The error is the whole call's (ErrUnavailable: whether any debit took
	// effect is unknown, call again with the same keys); a request's own outcome is its result's.
	CreateDirectDebitPayIns(ctx context.Context, reqs []DirectDebitPayInRequest) ([]DirectDebitResult, error)
}

// DirectDebitResult is one request's outcome in CreateDirectDebitPayIns: its pay-in, or its
// error as CreateDirectDebitPayIn would return it (ErrUnavailable, *RejectedError).
type DirectDebitResult struct {
	PayIn PayIn
	Err   error
}
