package psp

import (
	"context"
	"errors"
	"time"
)

// The money-out part of the port: centres as provider users that receive funds, transfers from
// buyers' wallets to centres' wallets (with the platform's fee), payouts to centres' banks,
// wallet balances for reconciliation, refunds of transfers, and card disputes. The sandbox and
// the MangoPay client implement every interface here; MoneyOut is their union.
//
// The conventions of package psp hold: int64 cents, EUR, an IdempotencyKey on every create,
// ErrUnavailable / ErrNotFound / *RejectedError, business outcomes as statuses, not errors.

// UserCategory says what a provider user may do (MangoPay's UserCategory).
type UserCategory string

const (
	// CategoryPayer pays (pay-ins, transfers to owners, refunds); buyers are payers.
	CategoryPayer UserCategory = "payer"
	// CategoryOwner also receives transfers and is paid out once verified; centres are owners.
	CategoryOwner UserCategory = "owner"
)

// PendingAction is a step a person must take on the provider's own page before an operation goes
// on (MangoPay's strong customer authentication of owners: enrolment, payout account, reading an
// owner's wallet). URL is where to send their browser; it is valid a few minutes.
type PendingAction struct {
	URL string
}

// OwnerRequest makes a centre a provider user that can receive transfers and payouts.
type OwnerRequest struct {
	IdempotencyKey string
	Name           string
	Kind           CompanyKind
	CompanyNumber  string // SIRET or SIREN
	Email          string
	Address        Address // headquarters, required for owners
	// Representative is required for owners (real names: providers refuse placeholders).
	Representative Representative
	TermsAccepted  bool
	Tag            string
}

// OwnerStatus is where an owner user stands.
type OwnerStatus string

const (
	OwnerPendingAction OwnerStatus = "pending_action" // the representative must enrol (PendingAction)
	OwnerActive        OwnerStatus = "active"
	OwnerClosed        OwnerStatus = "closed" // closed by the provider; nothing more can move
)

// Owner is a provider user that receives funds.
type Owner struct {
	ID     string
	Status OwnerStatus
	// PayoutsEnabled: the provider verified the company (KYB) and allows payouts.
	PayoutsEnabled bool
	PendingAction  *PendingAction
}

// Owners creates and reads owner users.
type Owners interface {
	// CreateOwner creates a centre's owner user (its wallet is made with Users.CreateWallet). The
	// owner may come back OwnerPendingAction with the PendingAction its representative must take
	// (MangoPay: enrolment in strong customer authentication, a link valid 10 minutes).
	// Errors: ErrUnavailable, ErrRepresentativeRequired, *RejectedError (e.g. a placeholder
	// representative name).
	CreateOwner(ctx context.Context, req OwnerRequest) (Owner, error)
	// GetOwner reads an owner user (status, payouts enabled). Errors: ErrUnavailable, ErrNotFound.
	GetOwner(ctx context.Context, userID string) (Owner, error)
	// EnrolOwner asks for a fresh PendingAction for the owner's representative (the previous link
	// expired or failed, or the owner was created without one). It does not change the owner's
	// status. Errors: ErrUnavailable, ErrNotFound, *RejectedError (e.g. no representative e-mail).
	EnrolOwner(ctx context.Context, userID string) (PendingAction, error)
}

// PayoutAccountRequest registers a centre's IBAN for payouts (MangoPay: a recipient, or a legacy
// IBAN bank account). It carries a full IBAN: its String and LogValue must mask it (see
// BankAccountRequest).
type PayoutAccountRequest = BankAccountRequest

// PayoutAccountStatus is where a payout account stands.
type PayoutAccountStatus string

const (
	PayoutAccountPending  PayoutAccountStatus = "pending" // waiting for the owner's PendingAction
	PayoutAccountActive   PayoutAccountStatus = "active"
	PayoutAccountInactive PayoutAccountStatus = "inactive"
)

// PayoutAccount is a registered payout bank account. It never carries the IBAN.
type PayoutAccount struct {
	ID            string
	UserID        string
	Status        PayoutAccountStatus
	PendingAction *PendingAction
}

// PayoutAccounts registers centres' payout IBANs.
type PayoutAccounts interface {
	// CreatePayoutAccount registers an IBAN for an owner's payouts. Errors: ErrUnavailable,
	// *RejectedError.
	CreatePayoutAccount(ctx context.Context, req PayoutAccountRequest) (PayoutAccount, error)
	// GetPayoutAccount reads one. Errors: ErrUnavailable, ErrNotFound.
	GetPayoutAccount(ctx context.Context, userID, accountID string) (PayoutAccount, error)
	// DeactivatePayoutAccount makes one unusable, for good. Errors: ErrUnavailable, ErrNotFound.
	DeactivatePayoutAccount(ctx context.Context, userID, accountID string) (PayoutAccount, error)
}

// TransferRequest moves Amount from one wallet to another; Fees of it go to the platform's fee
// wallet, so the credited wallet receives Amount − Fees.
type TransferRequest struct {
	IdempotencyKey   string
	AuthorID         string // the debited wallet's owner
	DebitedWalletID  string
	CreditedWalletID string
	CreditedUserID   string // the credited wallet's owner
	Amount           int64
	Fees             int64
	Tag              string
}

// GuaranteeFunding is money the platform brings from its own bank into the provider for a
// centre (a failed SEPA debit it guarantees): Amount − Fees into the credited wallet, Fees into
// the platform's fee wallet. Only the sandbox offers it (a real provider needs the platform's
// bank wire).
type GuaranteeFunding struct {
	IdempotencyKey   string
	CreditedWalletID string
	CreditedUserID   string
	Amount           int64
	Fees             int64
	Tag              string
}

// TransferStatus is where a transfer stands.
type TransferStatus string

const (
	TransferCreated   TransferStatus = "created"
	TransferSucceeded TransferStatus = "succeeded"
	TransferFailed    TransferStatus = "failed"
)

// Transfer is a wallet-to-wallet transfer.
type Transfer struct {
	ID               string
	Status           TransferStatus
	AuthorID         string
	DebitedWalletID  string
	CreditedWalletID string
	Amount           int64
	Fees             int64
	ResultCode       string
	Failure          FailureCode
	ExecutedAt       time.Time
	PendingAction    *PendingAction // an owner-to-owner transfer needing the owner's authentication
	Tag              string
}

// TransferRefundRequest gives back (part of) a transfer: Amount returns to the debited wallet,
// Fees of it from the platform's fee wallet and the rest (Amount − Fees) from the credited wallet
// (0 keeps the fee; Amount 0 refunds the whole transfer and its whole fee).
type TransferRefundRequest struct {
	IdempotencyKey string
	TransferID     string
	AuthorID       string // the transfer's author
	Amount         int64  // 0: the whole transfer
	Fees           int64  // the part of the fee given back (positive cents)
	Tag            string
}

// Transfers moves money between wallets.
type Transfers interface {
	// CreateTransfer creates a transfer. A refused transfer (insufficient balance...) comes back
	// failed with a ResultCode. Errors: ErrUnavailable, *RejectedError.
	CreateTransfer(ctx context.Context, req TransferRequest) (Transfer, error)
	// GetTransfer reads one. Errors: ErrUnavailable, ErrNotFound.
	GetTransfer(ctx context.Context, transferID string) (Transfer, error)
	// RefundTransfer refunds a transfer (the Refund's InitialKind is RefundOfTransfer). Errors:
	// ErrUnavailable, ErrNotFound, *RejectedError.
	RefundTransfer(ctx context.Context, req TransferRefundRequest) (Refund, error)
}

// PayoutRequest wires Amount from an owner's wallet to its payout account.
type PayoutRequest struct {
	IdempotencyKey  string
	AuthorID        string // the owner
	DebitedWalletID string
	PayoutAccountID string
	Amount          int64
	// Reference appears on the centre's bank statement: at most 12 letters, digits or spaces.
	Reference string
	Tag       string
}

// PayoutStatus is where a payout stands. A payout that succeeded and then came back from the
// bank stays succeeded at the provider; the return is a Refund whose InitialKind is
// RefundOfPayout.
type PayoutStatus string

const (
	PayoutCreated   PayoutStatus = "created"
	PayoutSucceeded PayoutStatus = "succeeded"
	PayoutFailed    PayoutStatus = "failed"
)

// Payout is a bank wire to an owner's payout account.
type Payout struct {
	ID              string
	Status          PayoutStatus
	AuthorID        string
	DebitedWalletID string
	PayoutAccountID string
	Amount          int64
	ResultCode      string
	Failure         FailureCode
	ExecutedAt      time.Time
	Tag             string
}

// Payouts wires owners' money to their banks.
type Payouts interface {
	// CreatePayout creates a payout; it settles later (GetPayout, notifications). Errors:
	// ErrUnavailable, *RejectedError (e.g. KYB not validated).
	CreatePayout(ctx context.Context, req PayoutRequest) (Payout, error)
	// GetPayout reads one. Errors: ErrUnavailable, ErrNotFound.
	GetPayout(ctx context.Context, payoutID string) (Payout, error)
}

// Presence says who asks to read an owner's money: the owner's representative on session, or
// vhupay on its own (a reconciliation, a job).
type Presence string

const (
	// OwnerPresent: the centre's person is on session and can follow a PendingAction now.
	OwnerPresent Presence = "present"
	// OwnerNotPresent: vhupay acts under the owner's standing consent given at the provider
	// (MangoPay: proxy consent); without it the read is refused.
	OwnerNotPresent Presence = "not_present"
)

// Wallets reads wallet balances, for reconciliation.
type Wallets interface {
	// GetWallet reads a payer's wallet (a buyer's), which needs no authentication.
	// Errors: ErrUnavailable, ErrNotFound.
	GetWallet(ctx context.Context, walletID string) (Wallet, error)
	// GetOwnerWallet reads an owner's wallet (a centre's). The provider may first want the owner's
	// authentication (MangoPay: at first access and every 180 days): *PendingActionError with the
	// URL to send the centre's person to when presence is OwnerPresent; with OwnerNotPresent and
	// no standing consent, *PendingActionError or *RejectedError.
	// Errors: ErrUnavailable, ErrNotFound, *PendingActionError, *RejectedError.
	GetOwnerWallet(ctx context.Context, walletID string, presence Presence) (Wallet, error)
	// GetFeesWallet reads the platform's EUR fee wallet. Errors: ErrUnavailable.
	GetFeesWallet(ctx context.Context) (Wallet, error)
}

// PendingActionError says that the provider waits for a person's authentication (PendingAction)
// before it answers. errors.Is(err, ErrPendingAction) holds for it.
type PendingActionError struct {
	Action PendingAction
}

// ErrPendingAction is matched by every *PendingActionError.
var ErrPendingAction = errors.New("the payment provider waits for the authentication of the company's representative on the provider's page")

func (e *PendingActionError) Error() string {
	return "payment provider waits for the user's authentication"
}

// Is makes errors.Is(err, ErrPendingAction) true.
func (e *PendingActionError) Is(target error) bool { return target == ErrPendingAction }

// RefundKind is what a refund gives back.
type RefundKind string

const (
	RefundOfPayIn    RefundKind = "pay_in"
	RefundOfTransfer RefundKind = "transfer"
	RefundOfPayout   RefundKind = "payout" // a payout returned by the bank
)

// DisputeStatus is where a dispute stands, in provider-neutral words.
type DisputeStatus string

const (
	DisputeNeedsResponse DisputeStatus = "needs_response" // created, or waiting for the platform's evidence
	DisputeUnderReview   DisputeStatus = "under_review"   // evidence submitted, the bank decides
	DisputeClosed        DisputeStatus = "closed"         // see Dispute.Outcome
)

// DisputeOutcome is how a closed dispute ended.
type DisputeOutcome string

const (
	DisputeWon  DisputeOutcome = "won"
	DisputeLost DisputeOutcome = "lost"
	DisputeVoid DisputeOutcome = "void"
)

// Dispute is a chargeback of a pay-in opened by the buyer's bank.
type Dispute struct {
	ID            string
	PayInID       string
	Status        DisputeStatus
	Outcome       DisputeOutcome // set once closed
	Contestable   bool
	Reason        string // provider-neutral, lower case: "fraud", "product_not_provided", "duplicate", "other"...
	Amount        int64  // disputed funds
	EvidenceDueBy time.Time
	RepudiationID string
	ClosedAt      time.Time
}

// DisputeDocument is evidence for a dispute: pages of one document (PDF or image bytes).
type DisputeDocument struct {
	IdempotencyKey string
	Kind           string // "delivery_proof" or "other"
	Pages          [][]byte
	Tag            string
}

// DisputeQuery selects disputes by creation time, one page at a time.
type DisputeQuery struct {
	CreatedAfter  time.Time // zero: no lower bound
	CreatedBefore time.Time // zero: no upper bound
	Page          int       // 1 for the first page (0 means 1)
	PerPage       int       // 1–100 (0 means 100)
}

// DisputePage is one page of disputes.
type DisputePage struct {
	Disputes []Dispute
	HasMore  bool // a next page exists
}

// SettlementRequest pays back, from the debited user's wallet, what a lost dispute or an unpaid
// debit took from the platform (MangoPay: a settlement transfer to the repudiation wallet).
type SettlementRequest struct {
	IdempotencyKey string
	RepudiationID  string
	AuthorID       string // the author of the disputed pay-in
	Amount         int64  // at most the repudiated amount
	Fees           int64  // usually 0
	Tag            string
}

// Disputes reads and answers chargebacks.
type Disputes interface {
	// GetDispute reads one. Errors: ErrUnavailable, ErrNotFound.
	GetDispute(ctx context.Context, disputeID string) (Dispute, error)
	// ListDisputes lists disputes in the provider's order, for polling when notifications were
	// missed.
	// Errors: ErrUnavailable.
	ListDisputes(ctx context.Context, q DisputeQuery) (DisputePage, error)
	// PayInDisputes lists the disputes of a pay-in (a repudiation names its pay-in, not its
	// dispute). Errors: ErrUnavailable, ErrNotFound (unknown pay-in).
	PayInDisputes(ctx context.Context, payInID string) ([]Dispute, error)
	// SubmitDisputeEvidence uploads the documents and submits the dispute for the bank's
	// review, contesting Amount. Calling it again with the same documents' keys after a failure
	// resumes where it stopped (no document uploaded twice); a dispute already submitted comes
	// back as it is. Errors: ErrUnavailable, ErrNotFound, *RejectedError.
	SubmitDisputeEvidence(ctx context.Context, disputeID string, amount int64, docs []DisputeDocument) (Dispute, error)
	// CloseDispute accepts the loss. Errors: ErrUnavailable, ErrNotFound, *RejectedError.
	CloseDispute(ctx context.Context, disputeID string) (Dispute, error)
	// SettleRepudiation pays back a repudiation (see SettlementRequest); a refused settlement
	// comes back failed with a ResultCode. Errors: ErrUnavailable, ErrNotFound, *RejectedError.
	SettleRepudiation(ctx context.Context, req SettlementRequest) (Transfer, error)
	// GetSettlement reads a settlement. Errors: ErrUnavailable, ErrNotFound.
	GetSettlement(ctx context.Context, settlementID string) (Transfer, error)
}

// MoneyOut is the whole money-out port.
type MoneyOut interface {
	Owners
	PayoutAccounts
	Transfers
	Payouts
	Wallets
	Disputes
}

// Resource kinds of the money-out notifications (see Notification). Refunds of transfers and
// returned payouts are ResourceRefund (GetRefund tells their InitialKind).
const (
	ResourceTransfer      ResourceKind = "transfer"       // GetTransfer
	ResourcePayout        ResourceKind = "payout"         // GetPayout
	ResourceDispute       ResourceKind = "dispute"        // GetDispute
	ResourceSettlement    ResourceKind = "settlement"     // GetSettlement
	ResourceOwner         ResourceKind = "owner"          // GetOwner (enrolment, KYB, category changes)
	ResourcePayoutAccount ResourceKind = "payout_account" // GetPayoutAccount
)
