package sepa

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Reasons why a buyer may not pay by SEPA, as the contract writes them (API.md, SEPA profile).
// Reasons always come in this order.
const (
	ReasonNoBankAccount     = "no_bank_account"
	ReasonNoActiveMandate   = "no_active_mandate"
	ReasonNoScore           = "no_score"
	ReasonScoreBelowMinimum = "score_below_minimum"
	ReasonScoreUnavailable  = "score_unavailable"
	ReasonUnpaidDebit       = "unpaid_debit"
	// ReasonCollectionRetrying: a collection of the buyer failed for insufficient funds and
	// waits for its re-presentation.
	ReasonCollectionRetrying = "collection_retrying"
)

// Snapshot is what eligibility depends on, read at one instant.
type Snapshot struct {
	// HasBankAccount: the buyer has at least one active bank account.
	HasBankAccount bool
	// HasActiveMandate: the buyer's default bank account has a mandate that is submitted or
	// active.
	HasActiveMandate bool
	// Score is what is known of the buyer's score checks.
	Score ScoreState
	// Suspended: SEPA is suspended after an unpaid debit and no operator has reinstated the buyer.
	Suspended bool
	// Retrying: a collection of the buyer waits for its re-presentation.
	Retrying bool
	// Now is the clock's time.
	Now time.Time
}

// Reasons returns every reason why the buyer of s may not pay by SEPA, in the contract's order
// (no_bank_account, no_active_mandate, no_score, score_below_minimum, score_unavailable,
// unpaid_debit); an empty, non-nil slice when it may, so that it encodes as [].
//
// Every unmet condition is listed, even when one implies another: a buyer without a bank account
// gets both no_bank_account and no_active_mandate, since both steps remain to be done. The score
// reasons are ScorePolicy.Reasons'.
func Reasons(p ScorePolicy, s Snapshot) []string {
	reasons := []string{}
	if !s.HasBankAccount {
		reasons = append(reasons, ReasonNoBankAccount)
	}
	if !s.HasActiveMandate {
		reasons = append(reasons, ReasonNoActiveMandate)
	}
	reasons = append(reasons, p.Reasons(s.Score, s.Now)...)
	if s.Suspended {
		reasons = append(reasons, ReasonUnpaidDebit)
	}
	if s.Retrying {
		reasons = append(reasons, ReasonCollectionRetrying)
	}
	return reasons
}

// CheckEligible returns nil when the buyer of s may pay by SEPA, else a *NotEligibleError with
// its reasons (errors.Is(err, ErrNotEligible) holds).
func CheckEligible(p ScorePolicy, s Snapshot) error {
	if reasons := Reasons(p, s); len(reasons) > 0 {
		return &NotEligibleError{Reasons: reasons}
	}
	return nil
}

// Errors of a SEPA payment refused before any money moves.
var (
	// ErrNotEligible is matched by every *NotEligibleError (contract code sepa_not_eligible).
	ErrNotEligible = errors.New("sepa: not eligible")
	// ErrCeilingExceeded is matched by every *CeilingExceededError (sepa_ceiling_exceeded).
	ErrCeilingExceeded = errors.New("sepa: ceiling exceeded")
	// ErrInvalidAmount: an amount to reserve that is not positive.
	ErrInvalidAmount = errors.New("sepa: amount must be positive")
)

// NotEligibleError says why a buyer may not pay by SEPA. Reasons is never empty.
type NotEligibleError struct {
	Reasons []string
}

func (e *NotEligibleError) Error() string {
	return "sepa: not eligible: " + strings.Join(e.Reasons, ", ")
}

// Is makes errors.Is(err, ErrNotEligible) true.
func (e *NotEligibleError) Is(target error) bool { return target == ErrNotEligible }

// CeilingExceededError says that an amount does not fit in the buyer's available balance.
type CeilingExceededError struct {
	Available int64 // cents still available this month, ≥ 0
}

func (e *CeilingExceededError) Error() string {
	return fmt.Sprintf("sepa: ceiling exceeded: %d cents available", e.Available)
}

// Is makes errors.Is(err, ErrCeilingExceeded) true.
func (e *CeilingExceededError) Is(target error) bool { return target == ErrCeilingExceeded }

// Available returns ceiling − outstanding, the FAQ's "solde", never below 0: outstanding may be
// above the ceiling after an operator lowered it, and nothing more is then available.
func Available(ceiling, outstanding int64) int64 {
	if outstanding >= ceiling {
		return 0
	}
	return ceiling - outstanding
}
