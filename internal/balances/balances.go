// Package balances is the centres' money: the platform's fee, what a centre earns from each
// payment (as ledger transactions written with the change that earns it), a centre's balance and
// balance transactions, and the ledger's accounts and trial balance for operators.
//
// The money flow (the provider holds the money, MangoPay's escrow model):
//
//	card pay-in:        external:card  → buyer:<id>                      (card_payin)
//	card success:       buyer:<id>     → center:<id> + platform:fees     (payment)
//	SEPA debit paid:    external:sepa  → buyer:<id>                      (sepa_payin, per collection)
//	  each payment:     buyer:<id>     → center:<id> + platform:fees     (payment)
//	SEPA debit unpaid:  platform:guarantee → center:<id> + platform:fees (sepa_guarantee, per payment)
//	late failure:       platform:guarantee → external:sepa               (sepa_unpaid, per collection)
//	paid by card later: external:card  → buyer:<id> → platform:guarantee (card_payin, sepa_recovered)
//
// A centre's available balance is its account's balance: the sum of its postings, which are its
// balance transactions.
package balances

import (
	"errors"
	"time"

	"github.com/vhupay/vhupay/internal/ledger"
)

// Errors of the balances service.
var (
	// ErrCenterNotFound: no such centre, or one the caller may not see (not_found).
	ErrCenterNotFound = errors.New("center not found")
)

// MaxFeeRateBPS is the highest fee rate: 100 %.
const MaxFeeRateBPS = 10000

// Type is a balance transaction's type: what changed the centre's balance. It is the kind of the
// ledger transaction that posted to the centre's account.
type Type string

// Balance transaction types.
const (
	TypePayment       Type = "payment"
	TypeRefund        Type = "refund"
	TypeDispute       Type = "dispute"
	TypeDisputeWon    Type = "dispute_won"
	TypePayout        Type = "payout"
	TypePayoutFailed  Type = "payout_failed"
	TypeSEPAGuarantee Type = "sepa_guarantee"
	TypeAdjustment    Type = "adjustment"
)

// Types lists every balance transaction type.
var Types = []Type{TypePayment, TypeRefund, TypeDispute, TypeDisputeWon, TypePayout, TypePayoutFailed,
	TypeSEPAGuarantee, TypeAdjustment}

// Valid reports whether t is one of Types.
func (t Type) Valid() bool {
	for _, v := range Types {
		if t == v {
			return true
		}
	}
	return false
}

// Ledger transaction kinds that move no centre's money.
const (
	KindCardPayIn  = "card_payin"
	KindSEPAPayIn  = "sepa_payin"
	KindSEPAUnpaid = "sepa_unpaid"
	// KindSEPARecovered: a failed collection paid by card repays the platform's guarantee.
	KindSEPARecovered = "sepa_recovered"
)

// Fee is the platform's fee on amount at rate bps (basis points), rounded half up to the cent.
// amount must be non-negative and bps in 0..MaxFeeRateBPS.
func Fee(amount int64, bps int) int64 {
	if amount <= 0 || bps <= 0 {
		return 0
	}
	return (amount*int64(bps) + 5000) / 10000
}

// Earning is one payment a centre earns, with the fee rate it earns it at.
type Earning struct {
	IntentID   string
	BuyerID    string
	CenterID   string
	Amount     int64
	FeeRateBPS int
}

// from moves e's amount out of account: the centre gets the amount less the fee, the platform the
// fee (no fee posting when it is zero).
func (e Earning) from(kind string, account ledger.Account, at time.Time) ledger.Transaction {
	fee := Fee(e.Amount, e.FeeRateBPS)
	postings := []ledger.Posting{{Account: account, Amount: -e.Amount}}
	if net := e.Amount - fee; net != 0 {
		postings = append(postings, ledger.Posting{Account: ledger.Center(e.CenterID), Amount: net})
	}
	if fee != 0 {
		postings = append(postings, ledger.Posting{Account: ledger.PlatformFees, Amount: fee})
	}
	return ledger.Transaction{Kind: kind, SourceID: e.IntentID, Postings: postings, At: at}
}

// CardEarned is what a card payment's success posts: the pay-in into the buyer's funds, then the
// payment to the centre and the fee to the platform.
func CardEarned(e Earning, at time.Time) []ledger.Transaction {
	return []ledger.Transaction{
		{Kind: KindCardPayIn, SourceID: e.IntentID, At: at, Postings: []ledger.Posting{
			{Account: ledger.ExternalCard, Amount: -e.Amount}, {Account: ledger.Buyer(e.BuyerID), Amount: e.Amount}}},
		e.from(string(TypePayment), ledger.Buyer(e.BuyerID), at),
	}
}

// SEPASucceeded is what a succeeded collection posts: its debit into the buyer's funds, then each
// of its payments to its centre.
func SEPASucceeded(collectionID, buyerID string, total int64, earned []Earning, at time.Time) []ledger.Transaction {
	out := []ledger.Transaction{{Kind: KindSEPAPayIn, SourceID: collectionID, At: at, Postings: []ledger.Posting{
		{Account: ledger.ExternalSEPA, Amount: -total}, {Account: ledger.Buyer(buyerID), Amount: total}}}}
	for _, e := range earned {
		out = append(out, e.from(string(TypePayment), ledger.Buyer(buyerID), at))
	}
	return out
}

// SEPAGuaranteed is what a failed collection posts: each of its payments paid to its centre from
// the platform's guarantee, which carries the buyer's debt.
func SEPAGuaranteed(earned []Earning, at time.Time) []ledger.Transaction {
	out := make([]ledger.Transaction, 0, len(earned))
	for _, e := range earned {
		out = append(out, e.from(string(TypeSEPAGuarantee), ledger.PlatformGuarantee, at))
	}
	return out
}

// SEPAUnpaidAfterSuccess is what a collection that fails after it succeeded posts: the debit
// taken back by the buyer's bank, carried by the platform's guarantee (its centres keep what
// they earned).
func SEPAUnpaidAfterSuccess(collectionID string, total int64, at time.Time) []ledger.Transaction {
	return []ledger.Transaction{{Kind: KindSEPAUnpaid, SourceID: collectionID, At: at, Postings: []ledger.Posting{
		{Account: ledger.PlatformGuarantee, Amount: -total}, {Account: ledger.ExternalSEPA, Amount: total}}}}
}

// SEPARecovered is what a failed collection paid by card posts: the card pay-in into the buyer's
// funds, then those funds repaying the platform's guarantee, which carried the buyer's debt (its
// centres were paid when the collection failed).
func SEPARecovered(collectionID, intentID, buyerID string, amount int64, at time.Time) []ledger.Transaction {
	return []ledger.Transaction{
		{Kind: KindCardPayIn, SourceID: intentID, At: at, Postings: []ledger.Posting{
			{Account: ledger.ExternalCard, Amount: -amount}, {Account: ledger.Buyer(buyerID), Amount: amount}}},
		{Kind: KindSEPARecovered, SourceID: collectionID, At: at, Postings: []ledger.Posting{
			{Account: ledger.Buyer(buyerID), Amount: -amount}, {Account: ledger.PlatformGuarantee, Amount: amount}}},
	}
}

// Transaction is a balance transaction: one change of a centre's balance. Net = Gross − Fee is
// the signed change of its available balance.
type Transaction struct {
	ID        string // btx_...
	CenterID  string
	Type      Type
	Gross     int64
	Fee       int64
	Net       int64
	SourceID  string
	CreatedAt time.Time
}

// Balance is a centre's money at the platform.
type Balance struct {
	CenterID       string
	Available      int64 // may be negative
	InTransit      int64
	PayoutsEnabled bool
}

// AccountBalance is one ledger account's balance.
type AccountBalance struct {
	Account ledger.Account
	Balance int64
}

// TrialBalance sums the whole ledger: Total is always 0.
type TrialBalance struct {
	Total    int64
	Accounts int
	Entries  int
}

// Filter narrows a listing of balance transactions; empty fields do not filter.
type Filter struct {
	CenterID string
	Type     Type
	SourceID string
	// From and To bound the creation time: From ≤ created_at < To (zero: no bound).
	From, To time.Time
}
