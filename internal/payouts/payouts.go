// Package payouts pays centres: a centre's payout account (its IBAN registered at the provider,
// never stored), payouts on demand and every Monday at 06:00 Paris, and their outcome from the
// provider's notifications and polling.
//
// A payout is recorded — its row pending, the centre's balance debited in the ledger (payout:
// center → external:bank) — in one unit of work before the provider is asked, with the payout's
// id as the provider's idempotency key; a crash between the two is resumed by the submit round
// with the same key. paid ends it; failed (the bank refused it) and returned (the bank sent it
// back after it was paid) credit the balance back (payout_failed: external:bank → center). Each
// end writes its event (payout.paid|failed|returned) in the same unit.
package payouts

import (
	"errors"
	"time"

	"github.com/vhupay/vhupay/internal/ledger"
)

// Errors of the payouts service.
var (
	// ErrNotFound: no such payout or payout account, or one the caller may not see (not_found).
	ErrNotFound = errors.New("payout not found")
	// ErrInsufficientBalance: the amount is more than the centre's available balance, or the
	// balance is not positive (insufficient_balance).
	ErrInsufficientBalance = errors.New("the amount is more than the centre's available balance")
	// ErrNoPayoutAccount: the centre has no active payout account (no_payout_account).
	ErrNoPayoutAccount = errors.New("the centre has no active payout account: add one with POST /v1/bank-accounts")
	// ErrAccountExists: the centre's active payout account has this IBAN already
	// (bank_account_exists).
	ErrAccountExists = errors.New("this IBAN is already the centre's active payout account")
	// ErrInvalidTransition: a payout moved from a status it is not in (a concurrent change won).
	ErrInvalidTransition = errors.New("payout status transition not allowed")
)

// Status is where a payout stands.
type Status string

// Payout statuses: pending → paid | failed; paid → returned.
const (
	StatusPending  Status = "pending"
	StatusPaid     Status = "paid"
	StatusFailed   Status = "failed"
	StatusReturned Status = "returned"
)

// transitions are the allowed status changes.
var transitions = map[Status][]Status{
	StatusPending: {StatusPaid, StatusFailed},
	StatusPaid:    {StatusReturned},
}

// CanMove reports whether a payout may move from one status to another.
func CanMove(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Ledger kinds (and balance transaction types) of payouts.
const (
	KindPayout       = "payout"
	KindPayoutFailed = "payout_failed"
)

// Payout moves money from a centre's balance to its payout account.
type Payout struct {
	ID            string // po_
	CenterID      string
	Amount        int64
	BankAccountID string // the payout account (ba_)
	Status        Status
	FailureCode   string // failed or returned: account_closed, provider_error ...
	Automatic     bool
	// RunSlot is the weekly run of an automatic payout (its Monday, YYYY-MM-DD); "" otherwise.
	RunSlot string
	// ArrivalDate is the Paris day the money is expected (pending) or arrived (paid), YYYY-MM-DD.
	ArrivalDate      string
	ProviderPayoutID string // "" until the provider answered
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Posted is the ledger transaction of a payout's creation: the centre's balance to the bank.
func (p Payout) Posted() ledger.Transaction {
	return ledger.Transaction{Kind: KindPayout, SourceID: p.ID, At: p.CreatedAt, Postings: []ledger.Posting{
		{Account: ledger.Center(p.CenterID), Amount: -p.Amount}, {Account: ledger.ExternalBank, Amount: p.Amount}}}
}

// Reversed is the ledger transaction of a failed or returned payout: the money back in the
// centre's balance.
func (p Payout) Reversed(at time.Time) ledger.Transaction {
	return ledger.Transaction{Kind: KindPayoutFailed, SourceID: p.ID, At: at, Postings: []ledger.Posting{
		{Account: ledger.ExternalBank, Amount: -p.Amount}, {Account: ledger.Center(p.CenterID), Amount: p.Amount}}}
}

// Account is a centre's payout account: never the IBAN, only its country, last 4 characters,
// masked form and keyed fingerprint.
type Account struct {
	ID          string // ba_
	CenterID    string
	ProviderID  string
	OwnerName   string
	Country     string
	Last4       string
	MaskedIBAN  string
	Fingerprint string
	BIC         string
	Active      bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Filter narrows a listing of payouts; empty fields do not filter.
type Filter struct {
	CenterID string
	Status   Status
}

// Move changes the payout's status to one its current status allows (pending → paid | failed,
// paid → returned), with the failure code of a failure or a return, at the time given.
// Errors: ErrInvalidTransition.
func (p *Payout) Move(to Status, failureCode string, at time.Time) error {
	if !CanMove(p.Status, to) {
		return ErrInvalidTransition
	}
	p.Status, p.UpdatedAt = to, at
	if to == StatusFailed || to == StatusReturned {
		p.FailureCode = failureCode
	}
	return nil
}
