// Package disputes is the card chargebacks: a dispute the buyer's bank opens on a succeeded card
// payment arrives from the provider (a notification, re-read), debits the selling centre at once,
// and is answered by the centre — evidence (text and, where it has one, the order's delivery
// note) or acceptance — before its due date; won credits the centre back, lost (accepted, decided
// by the bank, or unanswered by the due date) keeps the debit.
//
// Every change is written in one unit of work with its ledger transaction, its event
// (dispute.created, dispute.closed) and, for people's acts, its audit entry. The provider is never
// called inside a unit: a decision is recorded first with the provider action it needs
// (ProviderAction), then told to the provider, retried until it is.
package disputes

import (
	"errors"
	"time"

	"github.com/vhupay/vhupay/internal/ledger"
)

// Status is where a dispute stands.
type Status string

// Dispute statuses (API-2.md).
const (
	StatusNeedsResponse Status = "needs_response" // the centre must answer before EvidenceDueBy
	StatusUnderReview   Status = "under_review"   // evidence submitted, the bank decides
	StatusWon           Status = "won"            // final: the centre is credited back
	StatusLost          Status = "lost"           // final: the debit stays
)

// Final reports whether s is won or lost.
func (s Status) Final() bool { return s == StatusWon || s == StatusLost }

// ProviderAction is what vhupay still has to tell the provider about a dispute.
type ProviderAction string

// Provider actions.
const (
	ActionNone   ProviderAction = "none"
	ActionSubmit ProviderAction = "submit" // submit the evidence (documents, then the dispute)
	ActionClose  ProviderAction = "close"  // close the dispute: the centre accepted the loss
)

// ResponseWindow is how long a centre has to answer (DOMAIN-2.md: 7 days), unless the provider's
// own deadline is sooner.
const ResponseWindow = 7 * 24 * time.Hour

// MaxTextLen is the largest evidence text, in characters (our choice).
const MaxTextLen = 5000

// Ledger transaction kinds (the balance transaction types dispute and dispute_won).
const (
	KindDispute    = "dispute"
	KindDisputeWon = "dispute_won"
)

// Errors.
var (
	// ErrNotFound: no such dispute, or one the caller may not see (not_found).
	ErrNotFound = errors.New("dispute not found")
	// ErrInvalidTransition: the dispute's status (or its due date) does not allow the act
	// (invalid_transition).
	ErrInvalidTransition = errors.New("invalid dispute status transition")
	// ErrExists: a dispute of that provider dispute is stored already.
	ErrExists = errors.New("dispute already recorded")
)

// Evidence is the centre's answer.
type Evidence struct {
	// DeliveryNoteID names the order's delivery note (its BL/BR number); "" when none.
	DeliveryNoteID string
	Text           string
	SubmittedAt    time.Time
}

// Dispute is a chargeback of a card payment.
type Dispute struct {
	ID                string // dp_
	ProviderDisputeID string
	PaymentIntentID   string
	OrderID           string
	BuyerID           string
	CenterID          string
	Amount            int64 // disputed, cents
	Currency          string
	Reason            string // the provider's reason, lower case: fraud, product_not_provided, ...
	Status            Status
	EvidenceDueBy     time.Time
	Evidence          *Evidence
	ProviderAction    ProviderAction
	// Debited is what the dispute took from the centre's balance: the disputed amount, or less
	// when part of the payment had been refunded before the dispute arrived (the centre gave that
	// part back already: a dispute on a refunded payment is recorded as such).
	Debited   int64
	CreatedAt time.Time
	UpdatedAt time.Time
	ClosedAt  time.Time // zero until won or lost
}

// DebitFor is what a dispute of amount on a payment of paymentAmount, of which refunded was
// refunded before, takes from the centre: the disputed amount, at most what the centre still
// holds of the payment.
func DebitFor(amount, paymentAmount, refunded int64) int64 {
	return max(min(amount, paymentAmount-max(refunded, 0)), 0)
}

// SubmitEvidence records the centre's answer: needs_response → under_review, only before the
// due date. The provider is told afterwards (ActionSubmit).
func (d *Dispute) SubmitEvidence(e Evidence) error {
	if d.Status != StatusNeedsResponse || !e.SubmittedAt.Before(d.EvidenceDueBy) {
		return ErrInvalidTransition
	}
	d.Status, d.Evidence, d.ProviderAction, d.UpdatedAt = StatusUnderReview, &e, ActionSubmit, e.SubmittedAt
	return nil
}

// Accept records that the centre accepts the loss: needs_response → lost. The provider is told
// afterwards (ActionClose).
func (d *Dispute) Accept(at time.Time) error {
	if d.Status != StatusNeedsResponse {
		return ErrInvalidTransition
	}
	d.Status, d.ProviderAction, d.UpdatedAt, d.ClosedAt = StatusLost, ActionClose, at, at
	return nil
}

// Expire makes a dispute nobody answered by its due date lost: needs_response → lost, at or
// after EvidenceDueBy. The provider closes it by itself (its own deadline passed).
func (d *Dispute) Expire(at time.Time) error {
	if d.Status != StatusNeedsResponse || at.Before(d.EvidenceDueBy) {
		return ErrInvalidTransition
	}
	d.Status, d.ProviderAction, d.UpdatedAt, d.ClosedAt = StatusLost, ActionNone, at, at
	return nil
}

// Reopen applies the bank's request for more evidence (MangoPay: REOPENED_PENDING_CLIENT_ACTION):
// under_review → needs_response until the provider's new deadline; the earlier evidence stays
// shown until the centre answers again.
func (d *Dispute) Reopen(due, at time.Time) error {
	if d.Status != StatusUnderReview || d.ProviderAction != ActionNone {
		return ErrInvalidTransition
	}
	d.Status, d.EvidenceDueBy, d.UpdatedAt = StatusNeedsResponse, due, at
	return nil
}

// Decide applies the provider's final decision: needs_response or under_review → won or lost.
func (d *Dispute) Decide(won bool, at time.Time) error {
	if d.Status.Final() {
		return ErrInvalidTransition
	}
	d.Status = StatusLost
	if won {
		d.Status = StatusWon
	}
	d.ProviderAction, d.UpdatedAt, d.ClosedAt = ActionNone, at, at
	return nil
}

// Opened is the ledger transaction of a new dispute: the centre's balance debited, the money
// gone back to the card network. None (false) when the debit is 0.
func Opened(d Dispute) (ledger.Transaction, bool) {
	debit := d.Debited
	if debit == 0 {
		return ledger.Transaction{}, false
	}
	return ledger.Transaction{Kind: KindDispute, SourceID: d.ID, At: d.CreatedAt, Postings: []ledger.Posting{
		{Account: ledger.Center(d.CenterID), Amount: -debit}, {Account: ledger.ExternalCard, Amount: debit}}}, true
}

// WonBack is the ledger transaction of a won dispute: the centre credited back what it was
// debited. None (false) when it was debited nothing.
func WonBack(d Dispute) (ledger.Transaction, bool) {
	debit := d.Debited
	if debit == 0 {
		return ledger.Transaction{}, false
	}
	return ledger.Transaction{Kind: KindDisputeWon, SourceID: d.ID, At: d.ClosedAt, Postings: []ledger.Posting{
		{Account: ledger.ExternalCard, Amount: -debit}, {Account: ledger.Center(d.CenterID), Amount: debit}}}, true
}
