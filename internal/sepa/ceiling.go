package sepa

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
)

// Reasons recorded with every change of ceiling (API.md, ceiling-changes).
const (
	CeilingChangeInitial       = "initial"
	CeilingChangeMonthlyReview = "monthly_review"
	CeilingChangeUnpaidReset   = "unpaid_reset"
	CeilingChangeManual        = "manual"
	// CeilingChangeReinstated: a suspended buyer paid its failed collection by card.
	CeilingChangeReinstated = "reinstated"
)

// CeilingPolicy holds the ceiling rules (DOMAIN.md, "The ceiling"); DefaultCeilingPolicy gives
// DOMAIN.md's values. Amounts are cents.
type CeilingPolicy struct {
	Initial            int64 // the ceiling of a new or reinstated buyer: 25000 (250.00 EUR)
	ProbationMonths    int   // months without review after the first signed mandate: 3
	Max                int64 // max_ceiling, no review goes above it: 1000000 (10,000.00 EUR)
	GrowthPercent      int64 // target = GrowthPercent % of the largest monthly total: 150 (×1.5)
	RoundTo            int64 // the target is rounded up to a multiple of it: 5000 (50.00 EUR)
	MaxStepFactor      int64 // a review at most multiplies the ceiling by it: 2
	UnpaidWindowMonths int   // a review needs no unpaid debit in this many months: 12
	ReviewMonths       int   // how many closed months the review looks at: 3
}

// DefaultCeilingPolicy returns DOMAIN.md's rule: 250.00 EUR for 3 months, then at each month close
// min(10,000.00 EUR, 2 × current, max(current, 1.5 × the largest of the last 3 monthly totals
// rounded up to 50.00 EUR)), provided there was no unpaid debit in 12 months.
func DefaultCeilingPolicy() CeilingPolicy {
	return CeilingPolicy{
		Initial:            25000,
		ProbationMonths:    3,
		Max:                1000000,
		GrowthPercent:      150,
		RoundTo:            5000,
		MaxStepFactor:      2,
		UnpaidWindowMonths: 12,
		ReviewMonths:       3,
	}
}

// Validate returns ErrInvalidPolicy (wrapped) unless every amount and count is positive (the
// probation may be 0 months), Initial ≤ Max, GrowthPercent ≥ 100 and MaxStepFactor ≥ 1.
func (p CeilingPolicy) Validate() error {
	switch {
	case p.Initial <= 0 || p.Max <= 0 || p.RoundTo <= 0:
		return fmt.Errorf("%w: initial, max and rounding must be positive", ErrInvalidPolicy)
	case p.Initial > p.Max:
		return fmt.Errorf("%w: initial ceiling %d above max %d", ErrInvalidPolicy, p.Initial, p.Max)
	case p.GrowthPercent < 100 || p.MaxStepFactor < 1:
		return fmt.Errorf("%w: growth must be ≥ 100 %% and the step factor ≥ 1", ErrInvalidPolicy)
	case p.ProbationMonths < 0 || p.UnpaidWindowMonths < 1 || p.ReviewMonths < 1:
		return fmt.Errorf("%w: probation ≥ 0, unpaid window and review months ≥ 1", ErrInvalidPolicy)
	}
	return nil
}

// ReviewInput is what a monthly ceiling review depends on.
type ReviewInput struct {
	// Current is the ceiling before the review, in cents.
	Current int64
	// MonthlyTotals are the buyer's SEPA totals (cents) of the last policy.ReviewMonths closed
	// months, in any order; the caller selects the months. A month without SEPA payments may be
	// 0 or absent; negative totals count as 0.
	MonthlyTotals []int64
	// UnpaidInWindow: the buyer had an unpaid debit in the last policy.UnpaidWindowMonths months.
	UnpaidInWindow bool
	// HasScore, Score: the buyer's current score, if it has one that counts.
	HasScore bool
	Score    int
	// ScoreMinimum is the passing score (scoring.Minimum by default).
	ScoreMinimum int
	// InProbation: the buyer is still in probation at review time (see InProbation).
	InProbation bool
}

// Review applies the monthly review and returns the new ceiling and whether it changed.
//
// Nothing changes during probation, after an unpaid debit in the window, without a score or with
// a score under the minimum. Otherwise target = ⌈GrowthPercent % × the largest monthly total⌉
// rounded up to a multiple of RoundTo (an exact multiple stays as it is), and
// new = min(Max, MaxStepFactor × current, max(current, target)).
// A review never lowers the ceiling: a current ceiling above Max (set by an operator) stays.
// Integer arithmetic only; results that would overflow are capped at Max.
func (p CeilingPolicy) Review(in ReviewInput) (newCeiling int64, changed bool) {
	if in.InProbation || in.UnpaidInWindow || !in.HasScore || in.Score < in.ScoreMinimum {
		return in.Current, false
	}
	largest := int64(0)
	if len(in.MonthlyTotals) > 0 {
		largest = max(0, slices.Max(in.MonthlyTotals))
	}
	next := min(p.Max, max(in.Current, p.target(largest)))
	if in.Current <= math.MaxInt64/max(p.MaxStepFactor, 1) {
		// A ceiling of 0 (an operator's choice) stays 0: twice nothing is nothing.
		next = min(next, max(p.MaxStepFactor, 1)*in.Current)
	}
	if next <= in.Current {
		return in.Current, false
	}
	return next, true
}

// target returns ⌈largest × GrowthPercent / 100⌉ rounded up to a multiple of RoundTo, or Max when
// the arithmetic would overflow.
func (p CeilingPolicy) target(largest int64) int64 {
	if largest == 0 {
		return 0
	}
	if p.GrowthPercent <= 0 || largest > math.MaxInt64/p.GrowthPercent {
		return p.Max
	}
	grown := ceilDiv(largest*p.GrowthPercent, 100)
	if p.RoundTo <= 1 {
		return grown
	}
	if grown > math.MaxInt64-p.RoundTo {
		return p.Max
	}
	return ceilDiv(grown, p.RoundTo) * p.RoundTo
}

// ceilDiv is ⌈a/b⌉ for a ≥ 0, b > 0.
func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 {
		q++
	}
	return q
}

// ProbationUntil returns the end of the probation that starts at start (the first signed
// mandate, or the reinstatement after an unpaid debit): ProbationMonths calendar months later in
// Europe/Paris, at the same Paris wall-clock time, in UTC.
//
// A day that the target month lacks becomes its last day: 31 January → 30 April (28 or 29 February
// for 30 November), never a date in the month after. A wall-clock time that does not exist on
// that day (the spring DST gap) is moved forward by time.Date's rules.
func (p CeilingPolicy) ProbationUntil(start time.Time) time.Time {
	return addMonthsClamped(start.In(clock.Paris()), p.ProbationMonths).UTC()
}

// InProbation reports whether a buyer whose probation started at start is still in probation at
// now: now is before ProbationUntil(start). A zero start (no mandate ever signed) counts as in
// probation, since SEPA use has not begun.
func (p CeilingPolicy) InProbation(start, now time.Time) bool {
	return start.IsZero() || now.Before(p.ProbationUntil(start))
}

// addMonthsClamped adds n calendar months to t in t's location, clamping the day to the target
// month's last day.
func addMonthsClamped(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	hh, mm, ss := t.Clock()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, t.Location())
	last := time.Date(first.Year(), first.Month()+1, 0, 0, 0, 0, 0, t.Location()).Day()
	return time.Date(first.Year(), first.Month(), min(d, last), hh, mm, ss, t.Nanosecond(), t.Location())
}
