package sepa

import (
	"context"
	"fmt"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/txn"
)

// Reservation is the outcome of reserving an amount against a buyer's ceiling.
type Reservation struct {
	// Reserved: the amount was added to the month's outstanding.
	Reserved bool
	// Available is what was still available when the amount did not fit (cents, ≥ 0): the stored
	// ceiling minus the month's outstanding, 0 for a suspended buyer or one without a profile.
	Available int64
	// Suspended: the amount was refused because the buyer is suspended (read by the same
	// statement that refused it).
	Suspended bool
}

// Tx is the unit of work of a SEPA payment: the payment's own (payments.Tx) with what the SEPA
// payment method reads and writes in it, so that the intent, the order's confirmation and the
// reservation commit or roll back together. Storage opens it (txn.Runner[Tx]).
type Tx interface {
	payments.Tx
	// DebitFacts reads, inside tx and in one round trip, what eligibility depends on for month:
	// the profile (zero Profile when the buyer has none yet), whether the buyer has an active
	// bank account, the newest usable mandate of its default account, its score state and the
	// month's outstanding.
	DebitFacts(ctx context.Context, buyerID, month string) (Facts, error)
	// Reserve adds amount (> 0) to the buyer's outstanding for month inside tx, with ONE
	// conditional statement that re-reads, at that instant, the stored ceiling and the
	// suspension: outstanding + amount ≤ min(ceiling, stored ceiling) and not suspended. Two
	// concurrent reservations can never both pass it (PostgreSQL re-evaluates the condition on
	// the row version it waited for; SQLite runs one write transaction at a time).
	Reserve(ctx context.Context, buyerID, month string, amount, ceiling int64) (Reservation, error)
	// ReserveEligible adds amount (> 0) to the buyer's outstanding for month inside tx only when,
	// at that instant, the buyer may pay by SEPA under rule and the amount fits: the default bank
	// account has a submitted or active mandate, the latest score counts under rule, the buyer is
	// not suspended and outstanding + amount ≤ the stored ceiling. It is ONE conditional
	// statement on PostgreSQL, with Reserve's guarantee against concurrent reservations; on
	// SQLite, whose write transactions run one at a time, a read then Reserve's statement. It
	// returns the id of the default account's newest submitted or active mandate when reserved,
	// and "" when not, having written nothing: the caller then reads the facts to say why.
	ReserveEligible(ctx context.Context, buyerID, month string, amount int64, rule ScoreRule) (mandateID string, err error)
}

// DebitMethod is the sepa_debit payment method (a payments.MethodHandler): it accepts a payment
// when the buyer is eligible and the amount fits in its available balance, reserving the amount
// for the month's collection.
type DebitMethod struct {
	policy ScorePolicy
}

// DebitMethod returns the sepa_debit payment method, with the service's score policy, in units
// of work opened by units.
func (s *Service) DebitMethod(units txn.Runner[Tx]) payments.MethodHandler {
	m := &DebitMethod{policy: s.cfg.Score}
	return payments.Handler(units, m.Accept)
}

// ScoreRuleAt is the score rule that sepa_debit payments are decided with at an instant (for
// storage's one-trip payments, which check it in SQL).
func (s *Service) ScoreRuleAt(at time.Time) ScoreRule { return s.cfg.Score.RuleAt(at) }

// Accept is the payments.Accept of sepa_debit, inside the payment's transaction tx.
//
// The instant of the payment is pi.CreatedAt (read by the payments service inside tx): the
// score's freshness is judged at it. The amount counts in pi.CollectionMonth, the month the
// payments service picked inside tx: the Europe/Paris month of pi.CreatedAt, or the next month
// whose close has not begun when the payment arrives after its month's close began (its
// collection_month is then later than its created_at's month, and it is collected with that
// month). An intent without a picked month counts in the month of pi.CreatedAt.
//
// The common case is one statement: ReserveEligible checks every condition of eligibility and
// the ceiling and reserves the amount at once. Only when it refuses (nothing written) does Accept
// read the facts and decide as follows, to report the reasons or what is available — or accept,
// when a change committed meanwhile (a mandate signed, a score recorded) made the payment
// possible.
//
// What is read and what decides:
//   - the bank account, the default account's usable mandate, the score and the suspension are
//     read inside tx in one query, to compute every reason (the contract lists them all);
//   - the decision that matters for money — not suspended, and outstanding + amount within the
//     ceiling as stored at that instant — is taken by Reserve's one conditional statement, so
//     no interleaving of payments, suspensions or ceiling changes lets an amount through that
//     the rules would refuse. A mandate cancelled or a score recorded concurrently is ordered
//     before or after this payment by the database like any two transactions; the payment is
//     then one made just before the change, which the rules allow.
//
// On acceptance pi becomes scheduled with MandateID (the vhupay id of the default account's
// newest submitted or active mandate) and CollectionMonth. Refusals: *NotEligibleError (with
// every reason) and *CeilingExceededError (with what is available); the payments service rolls
// the transaction back.
func (m *DebitMethod) Accept(ctx context.Context, tx Tx, order orders.Order, pi *payments.Intent) error {
	now := pi.CreatedAt
	month := pi.CollectionMonth
	if month == "" {
		month = clock.MonthOf(now)
	}
	mandateID, err := tx.ReserveEligible(ctx, pi.BuyerID, month, pi.Amount, m.policy.RuleAt(now))
	if err != nil {
		return fmt.Errorf("reserve %d cents of buyer %s for %s: %w", pi.Amount, pi.BuyerID, month, err)
	}
	if mandateID == "" {
		if mandateID, err = m.decide(ctx, tx, pi, month); err != nil {
			return err
		}
	}
	pi.MandateID = mandateID
	pi.CollectionMonth = month
	return pi.Schedule(pi.CreatedAt)
}

// decide is Accept's path after ReserveEligible refused: it reads the facts, refuses with every
// reason or with what is available, or reserves with Reserve's conditional statement. It returns
// the mandate of the payment when reserved.
func (m *DebitMethod) decide(ctx context.Context, tx Tx, pi *payments.Intent, month string) (string, error) {
	now := pi.CreatedAt
	f, err := tx.DebitFacts(ctx, pi.BuyerID, month)
	if err != nil {
		return "", fmt.Errorf("read the SEPA standing of buyer %s: %w", pi.BuyerID, err)
	}
	snap := Snapshot{HasBankAccount: f.HasBankAccount, HasActiveMandate: f.DefaultMandateID != "", Score: f.Score,
		Suspended: f.Profile.Suspended, Retrying: f.Retrying, Now: now}
	if err := CheckEligible(m.policy, snap); err != nil {
		return "", err
	}
	r, err := tx.Reserve(ctx, pi.BuyerID, month, pi.Amount, f.Profile.Ceiling)
	if err != nil {
		return "", fmt.Errorf("reserve %d cents of buyer %s for %s: %w", pi.Amount, pi.BuyerID, month, err)
	}
	switch {
	case r.Suspended: // suspended between the read and the reservation
		snap.Suspended = true
		return "", CheckEligible(m.policy, snap)
	case !r.Reserved:
		return "", &CeilingExceededError{Available: r.Available}
	}
	return f.DefaultMandateID, nil
}
