// Package ledger holds the double-entry ledger's values: accounts, postings and transactions that
// check themselves before storage writes them. Money is int64 euro cents; an account's balance is
// the sum of its postings' amounts, so that every transaction sums to zero and the trial balance
// of the whole ledger is always zero.
//
// Sign convention: a posting's amount is what the account gains. A centre's balance is what the
// platform owes it (its available funds); a buyer's balance is what the provider holds for it; the
// external accounts mirror money entering (negative) or leaving (positive) the provider.
package ledger

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of Transaction.Check and of posting.
var (
	// ErrUnbalanced: the transaction is malformed: fewer than two postings, an amount of zero, an
	// unknown account, or postings that do not sum to zero.
	ErrUnbalanced = errors.New("ledger transaction does not balance")
	// ErrDuplicate: a transaction of the same kind and source was already posted.
	ErrDuplicate = errors.New("ledger transaction already posted")
)

// Account names a ledger account: "buyer:<byr_id>", "center:<ctr_id>", "platform:fees",
// "platform:guarantee", "external:card", "external:sepa" or "external:bank".
type Account string

// The platform's and the outside world's accounts.
const (
	PlatformFees      Account = "platform:fees"      // the platform's commission
	PlatformGuarantee Account = "platform:guarantee" // what the platform advanced on failed debits
	ExternalCard      Account = "external:card"      // card networks
	ExternalSEPA      Account = "external:sepa"      // buyers' banks, through SEPA debits
	ExternalBank      Account = "external:bank"      // centres' banks, through payouts
)

// Buyer is the account of the funds the provider holds for a buyer.
func Buyer(buyerID string) Account { return Account("buyer:" + buyerID) }

// Center is a centre's balance.
func Center(centerID string) Account { return Account("center:" + centerID) }

// Valid reports whether a is one of the account names above.
func (a Account) Valid() bool {
	switch a {
	case PlatformFees, PlatformGuarantee, ExternalCard, ExternalSEPA, ExternalBank:
		return true
	}
	s := string(a)
	for _, prefix := range []string{"buyer:byr_", "center:ctr_"} {
		if strings.HasPrefix(s, prefix) && len(s) > len(prefix) && len(s) <= 128 {
			return true
		}
	}
	return false
}

// Posting moves Amount cents into Account (negative: out of it).
type Posting struct {
	Account Account
	Amount  int64
}

// Transaction is one movement of money: two or more postings that sum to zero, never changed
// once written.
type Transaction struct {
	// Kind says what moved the money, e.g. "card_payin", "payment", "refund", "payout"; with
	// SourceID it identifies the transaction (one of a kind per source).
	Kind string
	// SourceID is the resource that caused it (pi_, col_, re_, dp_, po_ ...).
	SourceID string
	Postings []Posting
	At       time.Time
}

// Check reports ErrUnbalanced (wrapped, with the reason) unless t has a kind, a source, at least
// two postings on valid accounts, no zero amount, and amounts that sum to zero without overflow.
func (t Transaction) Check() error {
	if t.Kind == "" || t.SourceID == "" {
		return fmt.Errorf("%w: kind and source are required", ErrUnbalanced)
	}
	if len(t.Postings) < 2 {
		return fmt.Errorf("%w: %s %s has %d posting(s)", ErrUnbalanced, t.Kind, t.SourceID, len(t.Postings))
	}
	var sum int64
	for _, p := range t.Postings {
		if !p.Account.Valid() {
			return fmt.Errorf("%w: %s %s: unknown account %q", ErrUnbalanced, t.Kind, t.SourceID, p.Account)
		}
		if p.Amount == 0 {
			return fmt.Errorf("%w: %s %s: zero amount on %s", ErrUnbalanced, t.Kind, t.SourceID, p.Account)
		}
		next := sum + p.Amount
		if (p.Amount > 0 && next < sum) || (p.Amount < 0 && next > sum) {
			return fmt.Errorf("%w: %s %s: amounts overflow", ErrUnbalanced, t.Kind, t.SourceID)
		}
		sum = next
	}
	if sum != 0 {
		return fmt.Errorf("%w: %s %s sums to %d", ErrUnbalanced, t.Kind, t.SourceID, sum)
	}
	return nil
}
