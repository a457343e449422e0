// Package refunds gives money back to buyers: full and partial refunds of card, SEPA and invoice
// payments, any number of them, never more than the payment together. refund.go is the pure
// domain of a refund (no I/O); its status changes only through guarded transitions.
//
// Per method (the rules of docs/refunds.md):
//   - card: the centre's balance is debited at once (the refund less its share of the fee); the
//     centre's transfer is refunded at the provider, then the pay-in.
//   - sepa_debit, not yet collected: nothing moves; the intent's amount to collect drops, and so
//     does the buyer's outstanding, in the refund's unit of work. Succeeded at once.
//   - sepa_debit, collected (or in a collection created before the refund): as a card, once the
//     debit is collected and from the 8th day after it.
//   - vhu_invoice: a credit line on the statement of the refund's month. Succeeded at once.
package refunds

import (
	"errors"
	"fmt"
	"time"

	"github.com/vhupay/vhupay/internal/detail"
)

// Status is where a refund stands: pending → succeeded | failed.
type Status string

// The statuses of a refund.
const (
	StatusPending   Status = "pending"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
)

// Reason says why the centre refunds.
type Reason string

// The reasons of the contract.
const (
	ReasonRequestedByBuyer Reason = "requested_by_buyer"
	ReasonPartMissing      Reason = "part_missing"
	ReasonPartDamaged      Reason = "part_damaged"
	ReasonDuplicate        Reason = "duplicate"
	ReasonOther            Reason = "other"
)

// Reasons lists every reason.
var Reasons = []Reason{ReasonRequestedByBuyer, ReasonPartMissing, ReasonPartDamaged, ReasonDuplicate, ReasonOther}

// Valid reports whether r is one of Reasons.
func (r Reason) Valid() bool {
	for _, v := range Reasons {
		if r == v {
			return true
		}
	}
	return false
}

// Stage is how far a pending refund went (internal, never shown).
type Stage string

// Stages.
const (
	// StageRecorded: recorded; nothing asked of the provider yet.
	StageRecorded Stage = "recorded"
	// StageAwaitingCollection: a SEPA payment already in a collection when it was refunded; it is
	// refunded at the provider once collected (or fails with the collection).
	StageAwaitingCollection Stage = "awaiting_collection"
	// StageTransferRefunded: the centre's transfer was given back at the provider; the pay-in's
	// refund is next.
	StageTransferRefunded Stage = "transfer_refunded"
	// StageDone: nothing more to do (succeeded or failed).
	StageDone Stage = "done"
	// StageLowered: a SEPA payment refunded before its collection: its amount to collect was
	// lowered (done).
	StageLowered Stage = "lowered"
	// StageCredited: an invoice payment refunded with a credit line (done).
	StageCredited Stage = "credited"
)

// Failure codes of a failed refund.
const (
	// FailureCollectionFailed: the SEPA collection the payment was in failed: nothing was paid.
	FailureCollectionFailed = "collection_failed"
	// FailureProviderRefused: the provider refused the refund (too late, ...).
	FailureProviderRefused = "provider_refused"
)

// Refund gives back (part of) a payment. Amount and Fee (the platform fee's share returned with
// it) are euro cents.
type Refund struct {
	ID              string
	PaymentIntentID string
	OrderID         string
	BuyerID         string
	CenterID        string
	Method          string // the payment's method
	Amount          int64
	Fee             int64
	Currency        string
	Reason          Reason
	Note            string
	Status          Status
	FailureCode     string
	Stage           Stage
	// Posted: the refund's ledger transaction is written (the centre's balance debited).
	Posted bool
	// Attempts counts the provider's refusals the refund waited on: each new try of a step is
	// asked with a new idempotency key (the provider answers a key's first outcome again).
	Attempts                 int
	ProviderTransferRefundID string
	ProviderRefundID         string
	StatementID              string
	// NotBefore: the provider is not asked before then.
	NotBefore time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

var (
	// ErrNotFound: no such refund, or one the caller may not see (not_found).
	ErrNotFound = errors.New("refund not found")
	// ErrExceedsPayment: the amount is above what remains refundable (refund_exceeds_payment).
	ErrExceedsPayment = errors.New("refund exceeds the payment")
	// ErrNotRefundable: the payment is not succeeded or scheduled, or is disputed
	// (payment_not_refundable).
	ErrNotRefundable = errors.New("payment is not refundable")
	// ErrInvalidTransition: the refund's status does not allow the change.
	ErrInvalidTransition = errors.New("invalid refund status transition")
)

// Succeed records that the money went back: pending → succeeded at at (stage done unless given).
func (r *Refund) Succeed(stage Stage, at time.Time) error {
	if err := r.requirePending(); err != nil {
		return err
	}
	r.Status, r.Stage, r.FailureCode, r.UpdatedAt = StatusSucceeded, stage, "", at
	return nil
}

// Fail records that the refund cannot be made: pending → failed with code at at.
func (r *Refund) Fail(code string, at time.Time) error {
	if err := r.requirePending(); err != nil {
		return err
	}
	r.Status, r.Stage, r.FailureCode, r.UpdatedAt = StatusFailed, StageDone, code, at
	return nil
}

func (r *Refund) requirePending() error {
	if r.Status != StatusPending {
		return detail.Wrap(fmt.Errorf("refund %s is %s: %w", r.ID, r.Status, ErrInvalidTransition),
			"The refund is %s: only a pending refund changes.", r.Status)
	}
	return nil
}

// FeeShare is the part of the payment's fee a refund returns: fee × amount / base, rounded half
// up; the refund that completes the base returns what the earlier ones left (so that the shares
// add up to the fee). base is what the centre earned on (the collected amount), refundedBefore
// and feeBefore what earlier refunds of it gave back.
func FeeShare(fee, base, amount, refundedBefore, feeBefore int64) int64 {
	if fee <= 0 || base <= 0 || amount <= 0 {
		return 0
	}
	if refundedBefore+amount >= base {
		return max(fee-feeBefore, 0)
	}
	return min((fee*amount*2+base)/(2*base), max(fee-feeBefore, 0))
}
