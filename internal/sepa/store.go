package sepa

import (
	"context"
	"time"

	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/txn"
)

// BankAccount is a buyer's bank account, registered at the payment provider. vhupay never keeps
// the IBAN: only its country, last 4 characters, masked form and keyed fingerprint.
type BankAccount struct {
	ID          string
	BuyerID     string
	ProviderID  string
	OwnerName   string
	Country     string
	Last4       string
	MaskedIBAN  string // "FR76 **** **** **** **** ***0 189"
	Fingerprint string // IBAN.Fingerprint under the service's key
	BIC         string // "" when not given
	Active      bool
	IsDefault   bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// MandateStatus is where a mandate stands (the contract's values).
type MandateStatus string

// Mandate statuses. Debits are allowed on submitted and active mandates; failed, expired and
// cancelled are final.
const (
	MandatePendingSignature MandateStatus = "pending_signature"
	MandateSubmitted        MandateStatus = "submitted"
	MandateActive           MandateStatus = "active"
	MandateFailed           MandateStatus = "failed"
	MandateExpired          MandateStatus = "expired"
	MandateCancelled        MandateStatus = "cancelled"
)

// Usable reports whether debits may be made on a mandate in status st.
func (st MandateStatus) Usable() bool { return st == MandateSubmitted || st == MandateActive }

// Final reports whether st is an end state.
func (st MandateStatus) Final() bool {
	return st == MandateFailed || st == MandateExpired || st == MandateCancelled
}

// canBecome reports whether a mandate may move from st to next when the provider says so:
// pending → anything; submitted → active or an end; active → an end; an end never changes.
func (st MandateStatus) canBecome(next MandateStatus) bool {
	switch {
	case st == next, st.Final():
		return false
	case st == MandatePendingSignature:
		return true
	case st == MandateSubmitted:
		return next != MandatePendingSignature
	default: // active
		return next.Final()
	}
}

// Mandate is a SEPA direct-debit mandate on a bank account, signed by the buyer on the provider's
// page.
type Mandate struct {
	ID            string
	BuyerID       string
	BankAccountID string
	ProviderID    string
	Status        MandateStatus
	Reference     string // the bank's mandate reference (RUM); "" until the provider gives one
	SignatureURL  string
	ReturnURL     string // the client's, without the mandate_id vhupay adds
	FailureCode   string // the provider-neutral failure code of an ended mandate
	CreatedAt     time.Time
	UpdatedAt     time.Time
	SignedAt      time.Time // zero until the mandate first became submitted or active
}

// Profile is a buyer's SEPA standing, created on first use with the initial ceiling.
type Profile struct {
	BuyerID         string
	Ceiling         int64
	Suspended       bool
	SuspendedReason string
	SuspendedAt     time.Time // zero when not suspended
	// ProbationStart is the first signed mandate or the last reinstatement; zero before any.
	ProbationStart time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// CeilingChange is one recorded change of a buyer's ceiling.
type CeilingChange struct {
	ID        string
	BuyerID   string
	From, To  int64
	Reason    string // CeilingChangeInitial, ...MonthlyReview, ...UnpaidReset, ...Manual
	Note      string
	CreatedAt time.Time
}

// ScoreOutcome is how a score check ended.
type ScoreOutcome string

// Score check outcomes.
const (
	ScoreScored         ScoreOutcome = "scored"
	ScoreUnavailable    ScoreOutcome = "unavailable"     // the partner could not answer
	ScoreUnknownCompany ScoreOutcome = "unknown_company" // the partner knows no such SIREN
)

// ScoreCheck is one attempt to score a buyer.
type ScoreCheck struct {
	ID          string
	BuyerID     string
	Outcome     ScoreOutcome
	Value       int    // set when Outcome is ScoreScored
	RequestedBy string // "buyer", "admin", "service" or "system"
	CheckedAt   time.Time
}

// Facts are what eligibility reads about a buyer, at one time.
type Facts struct {
	Profile          Profile
	HasBankAccount   bool   // at least one active bank account
	DefaultMandateID string // the newest usable mandate of the default account, "" when none
	Score            ScoreState
	Outstanding      int64 // the month's outstanding
	Retrying         bool  // a collection of the buyer waits for its re-presentation
}

// MandateChange is a conditional status change of a mandate, applied by Store.ChangeMandate.
type MandateChange struct {
	MandateID string
	From      []MandateStatus // the statuses the mandate may be in; the change is skipped otherwise
	To        MandateStatus
	Reference string // kept unless ""
	Failure   string
	At        time.Time
}

// Store keeps SEPA's state. Errors: ErrNotFound where a read names one resource, plus the
// specific ones each method lists.
type Store interface {
	// EnsureProfile returns the buyer's profile, creating it with the ceiling initial and a
	// CeilingChangeInitial change (from 0) at now when missing, in one transaction.
	EnsureProfile(ctx context.Context, buyerID string, initial int64, now time.Time) (Profile, error)
	// SetCeiling sets the ceiling of an existing profile and records the change (even when the
	// value is the same), in one transaction; it returns the updated profile.
	// audit, when not nil, is written in that transaction with Before and After set to the
	// profile before and after the change.
	SetCeiling(ctx context.Context, buyerID string, to int64, reason, note string, now time.Time, audit *txn.AuditEntry) (Profile, error)
	// Suspend marks an existing profile suspended with reason; it reports whether it was not
	// suspended already.
	Suspend(ctx context.Context, buyerID, reason string, now time.Time) (bool, error)
	// Reinstate lifts a suspension: ceiling set to ceiling with a CeilingChangeUnpaidReset change,
	// a new probation from now, in one transaction. ErrInvalidTransition when not suspended.
	// audit as for SetCeiling.
	Reinstate(ctx context.Context, buyerID string, ceiling int64, now time.Time, audit *txn.AuditEntry) (Profile, error)
	// CeilingChanges lists a buyer's ceiling changes, newest first.
	CeilingChanges(ctx context.Context, buyerID string, p page.Request) (page.Page[CeilingChange], error)
	// ClaimScoreRequest records a buyer's own score request at now unless it made one after
	// notBefore; it returns whether it was recorded, and else the time of the last one.
	ClaimScoreRequest(ctx context.Context, buyerID string, now, notBefore time.Time) (bool, time.Time, error)
	// ReleaseScoreRequest undoes the claim made at claimed, when it is still the last one,
	// restoring previous (zero: none).
	ReleaseScoreRequest(ctx context.Context, buyerID string, claimed, previous time.Time) error
	// Outstanding returns the sum of the buyer's SEPA payments reserved in month (0 when none).
	Outstanding(ctx context.Context, buyerID, month string) (int64, error)
	// Facts reads what eligibility depends on, for the month.
	Facts(ctx context.Context, buyerID, month string) (Facts, error)
	// FactsMany reads, set-based, what Facts reads of each buyer; a buyer without a profile is
	// absent from the answer.
	FactsMany(ctx context.Context, buyerIDs []string, month string) (map[string]Facts, error)

	// FingerprintUses counts the buyer's bank accounts, active or not, with this fingerprint,
	// and tells whether one of them is active.
	FingerprintUses(ctx context.Context, buyerID, fingerprint string) (uses int, active bool, err error)
	// AddBankAccount inserts a, as the default when the buyer has no other active account.
	// ErrBankAccountExists when an active account of the buyer has its fingerprint.
	AddBankAccount(ctx context.Context, a BankAccount) (BankAccount, error)
	// BankAccount returns a bank account.
	BankAccount(ctx context.Context, id string) (BankAccount, error)
	// BankAccounts lists bank accounts newest first, of one buyer or of all ("").
	BankAccounts(ctx context.Context, buyerID string, p page.Request) (page.Page[BankAccount], error)
	// SetDefaultBankAccount makes an active account the buyer's only default, atomically.
	// ErrNotFound, ErrInvalidTransition (inactive account).
	SetDefaultBankAccount(ctx context.Context, id string, now time.Time) (BankAccount, error)
	// DeactivateBankAccount marks an account inactive and cancels its mandates that have not
	// ended, in one transaction; when it was the default, the newest other active account of
	// the buyer becomes the default. Deactivating an inactive account changes nothing.
	DeactivateBankAccount(ctx context.Context, id string, now time.Time) error

	// AddMandate inserts a mandate.
	AddMandate(ctx context.Context, m Mandate) error
	// Mandate returns a mandate.
	Mandate(ctx context.Context, id string) (Mandate, error)
	// MandateByProviderID returns the mandate with this provider id.
	MandateByProviderID(ctx context.Context, providerID string) (Mandate, error)
	// Mandates lists mandates newest first, of one buyer or of all ("").
	Mandates(ctx context.Context, buyerID string, p page.Request) (page.Page[Mandate], error)
	// MandatesOfBankAccount lists every mandate of an account, newest first.
	MandatesOfBankAccount(ctx context.Context, bankAccountID string) ([]Mandate, error)
	// ChangeMandate applies c when the mandate is in one of c.From, in one transaction. When
	// c.To is usable and the mandate was never signed, it records c.At as its signature time
	// and, when the buyer's profile has no probation yet, starts it at c.At (firstSigned).
	// It returns the mandate as stored afterwards and whether c was applied.
	ChangeMandate(ctx context.Context, c MandateChange) (m Mandate, applied, firstSigned bool, err error)

	// AddScoreCheck records a score check.
	AddScoreCheck(ctx context.Context, c ScoreCheck) error
	// AddScoreChecks records several buyers' score checks (one each) in one unit of work, with
	// the events AddScoreCheck would emit for each.
	AddScoreChecks(ctx context.Context, checks []ScoreCheck) error
	// ScoreState returns what is known of the buyer's score checks.
	ScoreState(ctx context.Context, buyerID string) (ScoreState, error)
}
