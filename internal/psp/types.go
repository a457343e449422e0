package psp

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Address is a postal address. Country is ISO 3166-1 alpha-2 ("FR").
type Address struct {
	Line1      string
	Line2      string
	City       string
	Region     string
	PostalCode string
	Country    string
}

// CompanyKind is the legal form family of a company, as payment providers classify them.
type CompanyKind string

const (
	// CompanyBusiness covers commercial companies (SA, SARL, EURL, SAS, SASU, SNC...). It is the
	// default when the kind is empty.
	CompanyBusiness CompanyKind = "business"
	// CompanyOrganization covers associations, foundations, unions, public bodies.
	CompanyOrganization CompanyKind = "organization"
	// CompanySoleTrader covers sole traders (auto-entrepreneur, micro-entreprise, EI, EIRL).
	CompanySoleTrader CompanyKind = "sole_trader"
)

// Representative is the person legally representing a company.
type Representative struct {
	FirstName          string
	LastName           string
	Email              string
	Birthday           time.Time // a date (UTC midnight); zero when unknown
	Nationality        string    // ISO 3166-1 alpha-2
	CountryOfResidence string    // ISO 3166-1 alpha-2
}

// LegalUserRequest describes a buyer company for CreateLegalUser.
type LegalUserRequest struct {
	IdempotencyKey string
	Name           string      // registered company name
	Kind           CompanyKind // empty means CompanyBusiness
	CompanyNumber  string      // SIREN (9 digits) or SIRET (14 digits)
	Email          string
	Address        Address // headquarters
	// Representative is the real person representing the company. Providers that need one
	// (MangoPay refuses placeholder names) answer ErrRepresentativeRequired when its first or last
	// name is missing, without calling out.
	Representative Representative
	// TermsAccepted records that the buyer accepted the provider's terms (through vhupay's).
	TermsAccepted bool
	Tag           string // free text kept by the provider, e.g. the vhupay buyer id
}

// User is a provider-side user.
type User struct {
	ID string
}

// WalletRequest describes an EUR wallet for CreateWallet.
type WalletRequest struct {
	IdempotencyKey string
	OwnerID        string // the provider user id
	Description    string // required by providers; a short label such as "vhupay buyer b_..."
	Tag            string
}

// Wallet is a provider-side EUR wallet.
type Wallet struct {
	ID      string
	OwnerID string
	Balance int64 // cents
}

// CardRegistrationRequest starts the registration of a card for CreateCardRegistration.
type CardRegistrationRequest struct {
	IdempotencyKey string
	UserID         string
	Tag            string
}

// CardRegistrationStatus is where a card registration stands.
type CardRegistrationStatus string

const (
	CardRegistrationCreated   CardRegistrationStatus = "created"   // waiting for the tokenised card
	CardRegistrationValidated CardRegistrationStatus = "validated" // CardID is set
	CardRegistrationError     CardRegistrationStatus = "error"     // ResultCode says why
)

// CardRegistration is a card registration. AccessKey and PreregistrationData are secrets handed to
// the buyer's browser for one tokenisation: they are masked in logs.
type CardRegistration struct {
	ID                  string
	UserID              string
	Status              CardRegistrationStatus
	AccessKey           string
	PreregistrationData string
	CardRegistrationURL string
	CardID              string // set once validated
	ResultCode          string // the provider's code; "000000" or empty when fine
}

// LogValue masks the tokenisation secrets.
func (r CardRegistration) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", r.ID),
		slog.String("user_id", r.UserID),
		slog.String("status", string(r.Status)),
		slog.String("access_key", mask(r.AccessKey)),
		slog.String("preregistration_data", mask(r.PreregistrationData)),
		slog.String("card_id", r.CardID),
		slog.String("result_code", r.ResultCode),
	)
}

// String masks the tokenisation secrets.
func (r CardRegistration) String() string {
	return fmt.Sprintf("CardRegistration{ID:%s Status:%s CardID:%s ResultCode:%s AccessKey:%s}",
		r.ID, r.Status, r.CardID, r.ResultCode, mask(r.AccessKey))
}

// CardValidity tells whether a card proved usable.
type CardValidity string

const (
	CardValidityUnknown CardValidity = "unknown" // not used yet
	CardValidityValid   CardValidity = "valid"   // a first payment succeeded
	CardValidityInvalid CardValidity = "invalid" // a first payment failed, or unused for 24 h; final
)

// Card is a registered card. Alias is the masked card number ("497010XXXXXX0154").
type Card struct {
	ID             string
	UserID         string
	Alias          string
	ExpirationDate string // MMYY
	Brand          string // card network as the provider names it ("CB", "VISA", "MASTERCARD"...)
	CardType       string // the provider's card type ("CB_VISA_MASTERCARD")
	Country        string // issuing country, as the provider gives it
	Active         bool
	Validity       CardValidity
	Fingerprint    string // same for every registration of the same card number
}

// BrowserInfo is what 3-D Secure 2 needs to know about the buyer's browser. Every field is required
// by providers.
type BrowserInfo struct {
	AcceptHeader      string
	JavaEnabled       bool
	JavascriptEnabled bool
	Language          string // "fr" or "fr-FR"
	ColorDepth        int    // 1, 4, 8, 15, 16, 24, 30, 32 or 48
	ScreenHeight      int
	ScreenWidth       int
	TimeZoneOffset    int // minutes, as the browser's Date.getTimezoneOffset() gives it
	UserAgent         string
}

// CardPayInRequest is a card payment for CreateCardPayIn.
type CardPayInRequest struct {
	IdempotencyKey      string
	AuthorID            string // the card's owner
	CreditedWalletID    string
	CardID              string
	Amount              int64  // cents
	SecureModeReturnURL string // where the bank sends the browser back; avoid '#'
	BrowserInfo         BrowserInfo
	IPAddress           string
	StatementDescriptor string // optional, at most 10 letters, digits or spaces
	Tag                 string
}

// DirectDebitPayInRequest is a SEPA debit for CreateDirectDebitPayIn.
type DirectDebitPayInRequest struct {
	IdempotencyKey   string
	AuthorID         string // the mandate's owner
	CreditedWalletID string
	MandateID        string
	Amount           int64 // cents
	// StatementDescriptor is shown on the buyer's bank statement: at most 100 letters, digits or
	// spaces (MangoPay refuses anything else; its client turns other characters into spaces).
	StatementDescriptor string
	Tag                 string
}

// PayInMethod is how a pay-in collects money.
type PayInMethod string

const (
	PayInCard        PayInMethod = "card"
	PayInDirectDebit PayInMethod = "direct_debit"
)

// PayInStatus is where a pay-in stands. Created is not final: a 3-D Secure challenge or a SEPA
// debit is under way.
type PayInStatus string

const (
	PayInCreated   PayInStatus = "created"
	PayInSucceeded PayInStatus = "succeeded"
	PayInFailed    PayInStatus = "failed"
)

// FailureCode is a provider-neutral reason for a failed pay-in, mandate or refund.
type FailureCode string

const (
	// Card payments.
	FailureCardDeclined         FailureCode = "card_declined"         // refused by the bank or the fraud rules
	FailureAuthenticationFailed FailureCode = "authentication_failed" // 3-D Secure failed or cancelled
	FailureCardBlocked          FailureCode = "card_blocked"          // too many attempts, lost, stolen: never use the card again
	FailureExpired              FailureCode = "expired"               // abandoned: the buyer did not finish in time
	// SEPA collections.
	FailureInsufficientFunds FailureCode = "insufficient_funds"
	FailureAccountClosed     FailureCode = "account_closed"    // closed, or bank details the bank refuses
	FailureMandateCancelled  FailureCode = "mandate_cancelled" // cancelled, disputed or expired mandate
	FailurePaymentDisputed   FailureCode = "payment_disputed"  // the payer disputed or cancelled the debit
	// Anything else (technical errors, limits, unknown codes).
	FailureProviderError FailureCode = "provider_error"
)

// PayIn is a card or direct-debit pay-in.
type PayIn struct {
	ID               string
	Method           PayInMethod
	Status           PayInStatus
	AuthorID         string
	CreditedWalletID string
	Amount           int64 // cents
	CardID           string
	MandateID        string
	// SecureModeNeeded and RedirectURL: the buyer's browser must go to RedirectURL for 3-D Secure.
	SecureModeNeeded bool
	RedirectURL      string
	ResultCode       string      // the provider's code, "000000" when fine
	Failure          FailureCode // set when Status is PayInFailed
	ExecutedAt       time.Time   // zero until succeeded
	ChargeDate       time.Time   // direct debits: the day the buyer's account is debited
	Tag              string
}

// RefundRequest refunds a pay-in for RefundPayIn.
type RefundRequest struct {
	IdempotencyKey string
	PayInID        string
	AuthorID       string // the author of the pay-in
	Amount         int64  // cents; 0 refunds the whole pay-in
	Tag            string
}

// RefundStatus is where a refund stands.
type RefundStatus string

const (
	RefundCreated   RefundStatus = "created"
	RefundSucceeded RefundStatus = "succeeded"
	RefundFailed    RefundStatus = "failed"
)

// Refund is a refund of a pay-in, of a transfer, or a payout returned by the bank.
type Refund struct {
	ID string
	// InitialKind and InitialID name what it refunds; PayInID is InitialID for a pay-in's refund.
	InitialKind RefundKind
	InitialID   string
	PayInID     string
	Status      RefundStatus
	Amount      int64 // cents that go back to the payer (a transfer's refund: fee part included)
	ResultCode  string
	Failure     FailureCode // set when Status is RefundFailed
}

// Repudiation is money taken back by the buyer's bank after a pay-in succeeded.
type Repudiation struct {
	ID      string
	PayInID string
	Status  PayInStatus // created, succeeded (money taken back) or failed
	Amount  int64       // cents
	Failure FailureCode // why the money was taken back, when known
}

// BankAccountRequest registers an IBAN for CreateBankAccount. It carries a full IBAN: its String
// and LogValue mask it.
type BankAccountRequest struct {
	IdempotencyKey string
	UserID         string
	OwnerName      string
	OwnerAddress   Address
	IBAN           string
	BIC            string // optional
	Tag            string
}

// LogValue masks the IBAN.
func (r BankAccountRequest) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("user_id", r.UserID),
		slog.String("owner_name", r.OwnerName),
		slog.String("iban", MaskIBAN(r.IBAN)),
		slog.String("bic", r.BIC),
	)
}

// String masks the IBAN.
func (r BankAccountRequest) String() string {
	return fmt.Sprintf("BankAccountRequest{UserID:%s OwnerName:%s IBAN:%s BIC:%s}",
		r.UserID, r.OwnerName, MaskIBAN(r.IBAN), r.BIC)
}

// GoString masks the IBAN for %#v too.
func (r BankAccountRequest) GoString() string { return r.String() }

// MarshalText gives the masked form, so that encoding the request (JSON, XML) cannot leak the IBAN.
func (r BankAccountRequest) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// BankAccount is a registered bank account. It never carries the IBAN.
type BankAccount struct {
	ID     string
	UserID string
	Active bool
}

// MandateRequest describes a web mandate for CreateMandate.
type MandateRequest struct {
	IdempotencyKey string
	BankAccountID  string
	ReturnURL      string
	Culture        string // language of the signature page; "FR" when empty
	Tag            string
}

// MandateStatus is where a mandate stands. Debits are allowed on submitted and active mandates.
type MandateStatus string

const (
	MandateCreated   MandateStatus = "created"   // waiting for the buyer's signature
	MandateSubmitted MandateStatus = "submitted" // signed, sent to the bank
	MandateActive    MandateStatus = "active"    // accepted, or a first debit succeeded
	MandateFailed    MandateStatus = "failed"    // refused by the buyer or the bank
	MandateExpired   MandateStatus = "expired"   // not signed in time, or unused too long
	MandateCancelled MandateStatus = "cancelled" // cancelled by the buyer or the platform
)

// Mandate is a SEPA direct-debit mandate.
type Mandate struct {
	ID            string
	UserID        string
	BankAccountID string
	Status        MandateStatus
	RedirectURL   string // the signature page
	ReturnURL     string
	BankReference string // the mandate reference the bank shows (RUM)
	Scheme        string // "SEPA" once submitted, empty before
	ResultCode    string
	Failure       FailureCode // set when the mandate failed, expired or was cancelled
}

// ResourceKind is the kind of resource a provider notification is about; the notification itself
// is never trusted, the resource is re-read with the matching getter.
type ResourceKind string

const (
	ResourcePayIn       ResourceKind = "pay_in"      // GetPayIn
	ResourceRefund      ResourceKind = "refund"      // GetRefund
	ResourceRepudiation ResourceKind = "repudiation" // GetRepudiation
	ResourceMandate     ResourceKind = "mandate"     // GetMandate
)

// Notification is a provider notification reduced to what to re-read.
type Notification struct {
	Kind       ResourceKind
	ResourceID string
	Event      string // the provider's event name, for logs
}

// MaskIBAN keeps the country, the check digits and the last 4 characters of an IBAN and groups it
// by 4: "FR7630006000011234567890189" → "FR76 **** **** **** **** ***0 189". Spaces in the input
// are ignored; an input of 8 characters or fewer is fully masked.
func MaskIBAN(iban string) string {
	compact := strings.ToUpper(strings.ReplaceAll(iban, " ", ""))
	if compact == "" {
		return ""
	}
	masked := []byte(compact)
	for i := range masked {
		if len(masked) <= 8 || (i >= 4 && i < len(masked)-4) {
			masked[i] = '*'
		}
	}
	var b strings.Builder
	for i, c := range masked {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// mask hides a secret entirely, keeping only whether it is set.
func mask(secret string) string {
	if secret == "" {
		return ""
	}
	return "***"
}
