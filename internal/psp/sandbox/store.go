package sandbox

import (
	"context"
	"time"

	"github.com/vhupay/vhupay/internal/psp"
)

// Store keeps the sandbox provider's state (implemented by storage.SandboxPSP). Reads of a missing
// row return psp.ErrNotFound. Methods named "conditional" change a row only when it is in the
// stated state and report whether they did, so that concurrent callers, in one process or
// several, cannot both make the same change. Times are written in UTC.
type Store interface {
	// InTx runs fn with a Store bound to one transaction: committed when fn returns nil, rolled
	// back otherwise (fn's error is returned). Under a context of WithRelaxedCommit the commit
	// need not wait for the disk (see RelaxedCommit).
	InTx(ctx context.Context, fn func(tx Store) error) error

	// ClaimKey records that the idempotency key of a kind of resource names resourceID ("" records
	// a refused create). When the key was claimed before it returns the id recorded then (maybe "")
	// and false. The pair (kind, key) is unique.
	ClaimKey(ctx context.Context, kind, key, resourceID string, at time.Time) (existing string, claimed bool, err error)
	// ClaimKeys is ClaimKey for many keys of a kind, keys[i] naming resourceIDs[i] (keys
	// distinct), all at at: it returns the keys this call claimed; a key claimed before keeps
	// its resource.
	ClaimKeys(ctx context.Context, kind string, keys, resourceIDs []string, at time.Time) (claimed map[string]bool, err error)
	// KeyResource returns the id recorded for an idempotency key ("" for a refused create) and
	// whether the key was claimed at all.
	KeyResource(ctx context.Context, kind, key string) (resourceID string, found bool, err error)
	// ReclaimRefusedKey gives a key recorded for a refused create before refusedBefore to
	// resourceID (conditional).
	ReclaimRefusedKey(ctx context.Context, kind, key, resourceID string, at, refusedBefore time.Time) (bool, error)

	CreateUser(ctx context.Context, u User) error
	User(ctx context.Context, id string) (User, error)

	// SetPayoutsEnabled sets whether an owner user may be paid out.
	SetPayoutsEnabled(ctx context.Context, userID string, enabled bool) error

	CreateWallet(ctx context.Context, w Wallet) error
	Wallet(ctx context.Context, id string) (Wallet, error)
	// WalletsExist returns which of ids are wallets.
	WalletsExist(ctx context.Context, ids []string) (map[string]bool, error)
	// CreditWallet adds delta cents (negative to debit) to a wallet's balance.
	CreditWallet(ctx context.Context, id string, delta int64) error
	// DebitWallet takes amount from a wallet whose balance covers it (conditional).
	DebitWallet(ctx context.Context, id string, amount int64) (bool, error)

	CreateTransfer(ctx context.Context, t Transfer) error
	Transfer(ctx context.Context, id string) (Transfer, error)

	CreatePayout(ctx context.Context, p Payout) error
	Payout(ctx context.Context, id string) (Payout, error)
	// PendingPayouts lists the created payouts created at or before createdBefore, oldest first.
	PendingPayouts(ctx context.Context, createdBefore time.Time) ([]Payout, error)
	// FinishPayout moves a created payout to status (succeeded or failed) with resultCode
	// (conditional: status created).
	FinishPayout(ctx context.Context, id string, status psp.PayoutStatus, resultCode, resultMessage string, at time.Time) (bool, error)

	CreateCardRegistration(ctx context.Context, r CardRegistration) error
	CardRegistration(ctx context.Context, id string) (CardRegistration, error)
	// TokeniseCard stores the tokenised card on a created registration (conditional: status
	// created), replacing an earlier token.
	TokeniseCard(ctx context.Context, registrationID string, t TokenisedCard, at time.Time) (bool, error)
	// CompleteCardRegistration ends a created registration (conditional: status created) with
	// status, cardID and resultCode, and forgets its token.
	CompleteCardRegistration(ctx context.Context, id string, status psp.CardRegistrationStatus, cardID, resultCode string, at time.Time) (bool, error)

	CreateCard(ctx context.Context, c Card) error
	Card(ctx context.Context, id string) (Card, error)
	// DeactivateCard makes a card inactive; blocked also makes it invalid (the bank blocked it).
	DeactivateCard(ctx context.Context, id string, blocked bool) error
	// SettleCardValidity sets the validity of a card still unknown (conditional: validity unknown).
	SettleCardValidity(ctx context.Context, id string, v psp.CardValidity) error

	CreatePayIn(ctx context.Context, p PayIn) error
	// CreatePayIns stores many pay-ins (a batch of direct debits).
	CreatePayIns(ctx context.Context, ps []PayIn) error
	PayIn(ctx context.Context, id string) (PayIn, error)
	// FinishPayIn moves a created pay-in to status (succeeded or failed) with resultCode
	// (conditional: status created). executedAt is kept for a success.
	FinishPayIn(ctx context.Context, id string, status psp.PayInStatus, resultCode, resultMessage string, at time.Time) (bool, error)
	// AddWrongSecureCode counts one more wrong 3-D Secure code on a created pay-in that has fewer
	// than limit (conditional) and returns the new count.
	AddWrongSecureCode(ctx context.Context, id string, limit int, at time.Time) (int, bool, error)
	// SucceededPayIns lists the ids of the pay-ins that succeeded (executed) in [since, until),
	// oldest first.
	SucceededPayIns(ctx context.Context, since, until time.Time) ([]string, error)
	// PendingDirectDebits lists the created direct-debit pay-ins created at or before
	// createdBefore, oldest first.
	PendingDirectDebits(ctx context.Context, createdBefore time.Time) ([]PayIn, error)
	// CountFailedDirectDebits counts the failed direct-debit pay-ins of a mandate with tag.
	CountFailedDirectDebits(ctx context.Context, mandateID, tag string) (int, error)
	// AddRefunded adds amount to a pay-in's refunded total when the total stays within its amount
	// (conditional).
	AddRefunded(ctx context.Context, payInID string, amount int64) (bool, error)

	// AddTransferRefunded adds amount and fees to a transfer's refunded totals when they stay
	// within its amount and fees (conditional).
	AddTransferRefunded(ctx context.Context, transferID string, amount, fees int64) (bool, error)
	// CreateRefund stores a refund of a pay-in or (InitialKind psp.RefundOfTransfer) of a transfer.
	CreateRefund(ctx context.Context, r Refund) error
	Refund(ctx context.Context, id string) (Refund, error)
	// RefundedSince reports whether a succeeded refund of that amount was made on the pay-in at
	// or after since.
	RefundedSince(ctx context.Context, payInID string, amount int64, since time.Time) (bool, error)

	CreateBankAccount(ctx context.Context, b BankAccount) error
	BankAccount(ctx context.Context, id string) (BankAccount, error)
	DeactivateBankAccount(ctx context.Context, id string) error

	CreateMandate(ctx context.Context, m Mandate) error
	Mandate(ctx context.Context, id string) (Mandate, error)
	// Mandates reads the mandates of ids, by id; unknown ids are absent.
	Mandates(ctx context.Context, ids []string) (map[string]Mandate, error)
	// MoveMandate moves a mandate in one of the from statuses to status "to" with resultCode
	// (conditional); scheme is kept when not empty.
	MoveMandate(ctx context.Context, id string, from []psp.MandateStatus, to psp.MandateStatus, resultCode, scheme string, at time.Time) (bool, error)

	DisputeStore
}

// User is a provider user (a legal user, payer).
type User struct {
	ID            string
	Name          string
	Email         string
	CompanyNumber string
	Kind          psp.CompanyKind
	Tag           string
	// Category is psp.CategoryPayer (buyers), psp.CategoryOwner (centres) or "platform".
	Category       psp.UserCategory
	PayoutsEnabled bool
	CreatedAt      time.Time
}

// Transfer is a wallet-to-wallet transfer; Fees of Amount go to the platform's fee wallet.
type Transfer struct {
	ID               string
	Status           psp.TransferStatus
	AuthorID         string
	DebitedWalletID  string
	CreditedWalletID string
	Amount           int64
	Fees             int64
	ResultCode       string
	ResultMessage    string
	Tag              string
	CreatedAt        time.Time
	ExecutedAt       time.Time // zero until it succeeded
}

// Payout is a bank wire from an owner's wallet to its payout account (a bank account).
type Payout struct {
	ID              string
	Status          psp.PayoutStatus
	AuthorID        string
	DebitedWalletID string
	BankAccountID   string
	Amount          int64
	ResultCode      string
	ResultMessage   string
	Tag             string
	CreatedAt       time.Time
	ExecutedAt      time.Time // zero until it succeeded
}

// Wallet is an EUR wallet.
type Wallet struct {
	ID          string
	OwnerID     string
	Description string
	Tag         string
	Balance     int64 // cents
	CreatedAt   time.Time
}

// CardClass is how a registered card behaves at payment time.
type CardClass string

const (
	CardChallenge    CardClass = "challenge"    // the 3-D Secure challenge test card
	CardFrictionless CardClass = "frictionless" // the frictionless test card: no challenge
	CardNormal       CardClass = "normal"       // any other card: challenged too (DOMAIN.md)
)

// TokenisedCard is what tokenisation keeps of a card until the registration completes: never the
// number, only its alias, expiry, brand, behaviour class and keyed fingerprint, and a hash of the
// token handed to the browser.
type TokenisedCard struct {
	TokenHash      string
	Alias          string // "497010XXXXXX8183"
	ExpirationDate string // MMYY
	Brand          string // "VISA", "MASTERCARD", "CB"
	Class          CardClass
	Fingerprint    string
}

// CardRegistration is a card registration.
type CardRegistration struct {
	ID                  string
	UserID              string
	Status              psp.CardRegistrationStatus
	AccessKey           string
	PreregistrationData string
	CardID              string
	ResultCode          string
	Tag                 string
	Token               TokenisedCard // zero until the card is tokenised, forgotten once completed
	CreatedAt           time.Time
}

// Card is a registered card.
type Card struct {
	ID             string
	UserID         string
	RegistrationID string
	Alias          string
	ExpirationDate string
	Brand          string
	CardType       string
	Country        string
	Class          CardClass
	Fingerprint    string
	Active         bool
	Validity       psp.CardValidity
	CreatedAt      time.Time
}

// PayIn is a card or direct-debit pay-in.
type PayIn struct {
	ID                  string
	Method              psp.PayInMethod
	Status              psp.PayInStatus
	AuthorID            string
	CreditedWalletID    string
	CardID              string
	MandateID           string
	Amount              int64 // cents
	Refunded            int64 // cents refunded so far
	SecureModeNeeded    bool
	ReturnURL           string // SecureModeReturnURL
	WrongCodes          int    // wrong 3-D Secure codes typed so far
	ResultCode          string
	ResultMessage       string
	StatementDescriptor string
	Tag                 string
	CreatedAt           time.Time
	UpdatedAt           time.Time
	ExecutedAt          time.Time // zero until succeeded
	ChargeDate          time.Time // direct debits
}

// Refund is a refund of a pay-in or, when InitialKind is psp.RefundOfTransfer, of a transfer
// (PayInID is then the transfer's id and Fees the part of its fee given back).
type Refund struct {
	ID            string
	InitialKind   psp.RefundKind
	PayInID       string
	Fees          int64
	AuthorID      string
	Status        psp.RefundStatus
	Amount        int64
	ResultCode    string
	ResultMessage string
	Tag           string
	CreatedAt     time.Time
}

// DebitOutcome is what happens to a direct debit on a bank account (SANDBOX.md's test IBANs).
type DebitOutcome string

const (
	DebitSucceeds          DebitOutcome = "succeed"
	DebitInsufficientFunds DebitOutcome = "insufficient_funds"
	DebitAccountClosed     DebitOutcome = "account_closed"
)

// BankAccount is a registered IBAN account: never the IBAN itself.
type BankAccount struct {
	ID         string
	UserID     string
	OwnerName  string
	MaskedIBAN string // psp.MaskIBAN
	Country    string
	Last4      string
	BIC        string
	Outcome    DebitOutcome
	// FailsOnce (the re-presentation IBAN): Outcome applies to the first debit of each tag only;
	// a later debit of the same tag (a collection presented again) succeeds.
	FailsOnce bool
	Active    bool
	Tag       string
	CreatedAt time.Time
}

// Mandate is a SEPA direct-debit mandate.
type Mandate struct {
	ID            string
	UserID        string
	BankAccountID string
	Status        psp.MandateStatus
	ReturnURL     string
	Culture       string
	BankReference string
	Scheme        string
	ResultCode    string
	Tag           string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// DisputeStore keeps the sandbox's disputes (part of Store).
type DisputeStore interface {
	// DisputeCandidates lists up to limit succeeded pay-ins of dispute test cards, executed at or
	// before executedBefore, not fully refunded, that have no dispute yet, oldest first.
	DisputeCandidates(ctx context.Context, executedBefore time.Time, limit int) ([]PayIn, error)
	// CreateDispute inserts d unless its pay-in has a dispute; it reports whether it did.
	CreateDispute(ctx context.Context, d Dispute) (bool, error)
	Dispute(ctx context.Context, id string) (Dispute, error)
	// DisputeOfPayIn returns the dispute of a pay-in, or psp.ErrNotFound.
	DisputeOfPayIn(ctx context.Context, payInID string) (Dispute, error)
	// SubmitDispute records a needs_response dispute's evidence and makes it under_review
	// (conditional).
	SubmitDispute(ctx context.Context, id string, contested int64, deliveryProof bool, documents int, at time.Time) (bool, error)
	// CloseDispute closes a dispute in one of the from statuses with outcome (conditional).
	CloseDispute(ctx context.Context, id string, from []psp.DisputeStatus, outcome psp.DisputeOutcome, at time.Time) (bool, error)
	// DisputesToClose lists the under_review disputes submitted at or before submittedBefore and
	// the needs_response ones whose deadline is at or before now.
	DisputesToClose(ctx context.Context, submittedBefore, now time.Time) ([]Dispute, error)
}

// CardDispute is the dispute test card's class: frictionless, and disputed a day later.
const CardDispute CardClass = "dispute"

// Dispute is a chargeback of a card pay-in.
type Dispute struct {
	ID              string
	PayInID         string
	Status          psp.DisputeStatus
	Outcome         psp.DisputeOutcome // set once closed
	Reason          string
	Amount          int64
	Contested       int64
	DeliveryProof   bool // the evidence holds a delivery proof document
	Documents       int
	ContestDeadline time.Time
	CreatedAt       time.Time
	SubmittedAt     time.Time
	ClosedAt        time.Time
}

type relaxedCommitKey struct{}

// WithRelaxedCommit marks ctx for the direct-debit pay-ins of the month close: the store may
// commit their transaction without waiting for the disk (PostgreSQL's synchronous_commit off).
// This is safe only because vhupay records each pay-in it is answered in a later transaction of
// its own that does wait, and PostgreSQL's synchronous commit flushes every earlier commit with
// its own; a crash can lose only pay-ins vhupay has not recorded, as if the call never arrived
// (it is made again with the same idempotency key).
func WithRelaxedCommit(ctx context.Context) context.Context {
	return context.WithValue(ctx, relaxedCommitKey{}, true)
}

// RelaxedCommit reports whether ctx was marked by WithRelaxedCommit.
func RelaxedCommit(ctx context.Context) bool {
	v, _ := ctx.Value(relaxedCommitKey{}).(bool)
	return v
}
