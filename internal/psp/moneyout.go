package psp

import (
	"context"
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
	// CreateOwner creates a centre's owner user (its wallet is made with Users.CreateWallet).
	// Errors: ErrUnavailable, *RejectedError (e.g. a placeholder representative name).
	CreateOwner(ctx context.Context, req OwnerRequest) (Owner, error)
	// GetOwner reads an owner user (status, payouts enabled). Errors: ErrUnavailable, ErrNotFound.
	GetOwner(ctx context.Context, userID string) (Owner, error)
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

// TransferRefundRequest gives back (part of) a transfer: Amount returns to the debited wallet
// and Fees of the platform's fee (0 keeps the fee; the whole transfer's fee when Amount is 0).
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

// Wallets reads wallet balances, for reconciliation.
type Wallets interface {
	// GetWallet reads a wallet. Reading an owner's wallet may need the owner's authentication:
	// *PendingActionError. Errors: ErrUnavailable, ErrNotFound, *PendingActionError.
	GetWallet(ctx context.Context, walletID string) (Wallet, error)
	// GetFeesWallet reads the platform's EUR fee wallet. Errors: ErrUnavailable.
	GetFeesWallet(ctx context.Context) (Wallet, error)
}

// PendingActionError says that the provider waits for a person's authentication (PendingAction)
// before it answers.
type PendingActionError struct {
	Action PendingAction
}

func (e *PendingActionError) Error() string {
	return "payment provider waits for the user's authentication"
}

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

// Disputes reads and answers chargebacks.
type Disputes interface {
	// GetDispute reads one. Errors: ErrUnavailable, ErrNotFound.
	GetDispute(ctx context.Context, disputeID string) (Dispute, error)
	// SubmitDisputeEvidence uploads the documents and submits the dispute for the bank's
	// review, contesting Amount. Errors: ErrUnavailable, ErrNotFound, *RejectedError.
	SubmitDisputeEvidence(ctx context.Context, disputeID string, amount int64, docs []DisputeDocument) (Dispute, error)
	// CloseDispute accepts the loss. Errors: ErrUnavailable, ErrNotFound, *RejectedError.
	CloseDispute(ctx context.Context, disputeID string) (Dispute, error)
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

// Resource kinds of the money-out notifications (see Notification).
const (
	ResourceTransfer ResourceKind = "transfer" // GetTransfer
	ResourcePayout   ResourceKind = "payout"   // GetPayout
	ResourceDispute  ResourceKind = "dispute"  // GetDispute
)
