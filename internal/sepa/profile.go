package sepa

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/txn"
	"github.com/vhupay/vhupay/internal/validation"
)

// Eligibility is a buyer's SEPA standing at one instant: whether it may pay by SEPA and how much.
type Eligibility struct {
	BuyerID string
	// Month is the Europe/Paris month of the instant ("2026-11"), the one Outstanding counts.
	Month string
	// Snapshot is what Reasons was computed from.
	Snapshot Snapshot
	// Reasons lists why the buyer may not pay by SEPA (see Reasons); empty, not nil, when it may.
	Reasons []string
	// Ceiling, Outstanding and Available are cents: Available = Available(Ceiling, Outstanding).
	Ceiling, Outstanding, Available int64
	// Score is the latest successful score check, nil when none; ScoreMinimum the passing value.
	Score        *Score
	ScoreMinimum int
	// DefaultMandateID is the mandate a SEPA payment uses: the newest submitted or active
	// mandate of the default bank account; "" when none.
	DefaultMandateID string
	Suspended        bool
	// ProbationUntil ends the probation (zero before any signed mandate).
	ProbationUntil time.Time
}

// Enabled reports whether the buyer may pay by SEPA (the amount aside): no reason against it.
func (e Eligibility) Enabled() bool { return len(e.Reasons) == 0 }

// Eligibility returns the buyer's SEPA standing now (the profile's view). The SEPA payment method
// does not use it: DebitMethod reads the same facts inside the payment's transaction and lets the
// reservation's conditional statement, not a read, decide whether the amount fits. The buyer's
// profile is created on this first use.
// Errors: ErrNotFound for an unknown buyer.
func (s *Service) Eligibility(ctx context.Context, buyerID string) (Eligibility, error) {
	if _, err := s.buyer(ctx, buyerID); err != nil {
		return Eligibility{}, err
	}
	return s.eligibility(ctx, buyerID)
}

// eligibility is Eligibility of a buyer known to exist. The facts are read first: only a buyer
// without a profile yet (its first SEPA use) has one created, and its facts read again.
func (s *Service) eligibility(ctx context.Context, buyerID string) (Eligibility, error) {
	now := s.clock.Now()
	month := clock.MonthOf(now)
	f, err := s.store.Facts(ctx, buyerID, month)
	if errors.Is(err, ErrNotFound) {
		if _, err := s.store.EnsureProfile(ctx, buyerID, s.cfg.Ceiling.Initial, now); err != nil {
			return Eligibility{}, err
		}
		f, err = s.store.Facts(ctx, buyerID, month)
	}
	if err != nil {
		return Eligibility{}, err
	}
	return s.Standing(buyerID, month, f, now), nil
}

// Standing is the buyer's SEPA standing from the facts read of it at now (of month): what
// Eligibility answers, and what storage renders in the sepa.* events of a unit of work that
// changed those facts.
func (s *Service) Standing(buyerID, month string, f Facts, now time.Time) Eligibility {
	snap := Snapshot{
		HasBankAccount: f.HasBankAccount, HasActiveMandate: f.DefaultMandateID != "", Score: f.Score,
		Suspended: f.Profile.Suspended, Retrying: f.Retrying, Now: now,
	}
	e := Eligibility{
		BuyerID: buyerID, Month: month, Snapshot: snap, Reasons: Reasons(s.cfg.Score, snap),
		Ceiling: f.Profile.Ceiling, Outstanding: f.Outstanding, Available: Available(f.Profile.Ceiling, f.Outstanding),
		Score: f.Score.Latest, ScoreMinimum: s.cfg.Score.Minimum, DefaultMandateID: f.DefaultMandateID, Suspended: f.Profile.Suspended,
	}
	if !f.Profile.ProbationStart.IsZero() {
		e.ProbationUntil = s.cfg.Ceiling.ProbationUntil(f.Profile.ProbationStart)
	}
	return e
}

// Profile returns the SEPA standing of a buyer the caller may see: a buyer its own (buyerID ""
// or its own id), operators and services any. Errors: ErrNotFound.
//
// A buyer that has a SEPA profile exists (the profile references it and buyers are never
// deleted), so the buyer is read only when the facts find no profile: one statement per call
// on PostgreSQL instead of two.
func (s *Service) Profile(ctx context.Context, who auth.Principal, buyerID string) (Eligibility, error) {
	id := buyerID
	if who.Role == auth.RoleBuyer {
		if buyerID != "" && buyerID != who.Org {
			return Eligibility{}, ErrNotFound
		}
		id = who.Org
	}
	if id == "" {
		return Eligibility{}, ErrNotFound
	}
	now := s.clock.Now()
	month := clock.MonthOf(now)
	f, err := s.store.Facts(ctx, id, month)
	if errors.Is(err, ErrNotFound) {
		if _, err := s.buyer(ctx, id); err != nil {
			return Eligibility{}, err
		}
		return s.eligibility(ctx, id)
	}
	if err != nil {
		return Eligibility{}, err
	}
	return s.Standing(id, month, f, now), nil
}

// CeilingChanges lists the ceiling changes of a buyer the caller may see, newest first; the
// first one, reason "initial", is recorded when the buyer's SEPA profile is created (its first
// SEPA use: profile read, bank account, mandate, score check or operator action).
// Errors: ErrNotFound.
func (s *Service) CeilingChanges(ctx context.Context, who auth.Principal, buyerID string, p page.Request) (page.Page[CeilingChange], error) {
	b, err := s.buyerOf(ctx, who, buyerID)
	if err != nil {
		return page.Page[CeilingChange]{}, err
	}
	if _, err := s.store.EnsureProfile(ctx, b.ID, s.cfg.Ceiling.Initial, s.clock.Now()); err != nil {
		return page.Page[CeilingChange]{}, err
	}
	return s.store.CeilingChanges(ctx, b.ID, p)
}

// MaxCeilingNote bounds the note of a manual ceiling change.
const MaxCeilingNote = 500

// SetCeiling is an operator's override of a buyer's ceiling, recorded with reason "manual" and
// the note (even when the amount is the current ceiling). It returns the new standing.
// Errors: *validation.Error on "amount" (outside 0..ManualCeilingMax) or "note" (empty or too
// long); ErrNotFound.
//
// The override is audited (sepa.ceiling_override, actor who) in the same transaction.
func (s *Service) SetCeiling(ctx context.Context, who auth.Principal, buyerID string, amount int64, note string) (Eligibility, error) {
	var col validation.Collector
	if amount < 0 || amount > s.cfg.ManualCeilingMax {
		col.Add("amount", "range", fmt.Sprintf("must be from 0 to %d cents", s.cfg.ManualCeilingMax))
	}
	if note == "" || len(note) > MaxCeilingNote {
		col.Add("note", "length", fmt.Sprintf("must have 1 to %d characters", MaxCeilingNote))
	}
	if err := col.Err(); err != nil {
		return Eligibility{}, err
	}
	if err := s.ensureProfile(ctx, buyerID); err != nil {
		return Eligibility{}, err
	}
	now := s.clock.Now()
	audit := &txn.AuditEntry{Action: "sepa.ceiling_override", Actor: who.Actor(), TargetID: buyerID, At: now}
	if _, err := s.store.SetCeiling(ctx, buyerID, amount, CeilingChangeManual, note, now, audit); err != nil {
		return Eligibility{}, err
	}
	return s.Eligibility(ctx, buyerID)
}

// Reinstate lifts a buyer's suspension after an unpaid debit, once the debt is settled: the
// ceiling goes back to the initial value (a change with reason "unpaid_reset" is recorded even
// when it already had that value) and a new probation starts now. It returns the new standing.
// Errors: ErrInvalidTransition (not suspended), ErrNotFound.
//
// The reinstatement is audited (sepa.reinstatement, actor who) in the same transaction.
func (s *Service) Reinstate(ctx context.Context, who auth.Principal, buyerID string) (Eligibility, error) {
	if err := s.ensureProfile(ctx, buyerID); err != nil {
		return Eligibility{}, err
	}
	now := s.clock.Now()
	audit := &txn.AuditEntry{Action: "sepa.reinstatement", Actor: who.Actor(), TargetID: buyerID, At: now}
	if _, err := s.store.Reinstate(ctx, buyerID, s.cfg.Ceiling.Initial, now, audit); err != nil {
		return Eligibility{}, err
	}
	return s.Eligibility(ctx, buyerID)
}

// ensureProfile checks that the buyer exists and creates its profile when missing.
func (s *Service) ensureProfile(ctx context.Context, buyerID string) error {
	if _, err := s.buyer(ctx, buyerID); err != nil {
		return err
	}
	_, err := s.store.EnsureProfile(ctx, buyerID, s.cfg.Ceiling.Initial, s.clock.Now())
	return err
}
