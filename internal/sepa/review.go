package sepa

import (
	"context"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
)

// CeilingPolicy returns the service's ceiling policy (the month close's ceiling review applies it).
func (s *Service) CeilingPolicy() CeilingPolicy { return s.cfg.Ceiling }

// CeilingReviewInput reads, now, what a buyer's monthly ceiling review depends on besides its
// history: the current ceiling, the probation, the latest score
// when it counts (fresh, or within the outage grace), and the suspension (counted as an unpaid
// debit in the window). monthlyTotals and unpaidInWindow are the caller's (the month close reads
// them from the collections). Apply the result with CeilingPolicy().Review; the caller records
// a raise itself, conditionally on Current. The buyer's profile is created when missing.
// Errors: ErrNotFound.
func (s *Service) CeilingReviewInput(ctx context.Context, buyerID string, monthlyTotals []int64, unpaidInWindow bool) (ReviewInput, error) {
	if err := s.ensureProfile(ctx, buyerID); err != nil {
		return ReviewInput{}, err
	}
	now := s.clock.Now()
	f, err := s.store.Facts(ctx, buyerID, clock.MonthOf(now))
	if err != nil {
		return ReviewInput{}, err
	}
	return s.reviewInput(f, monthlyTotals, unpaidInWindow, now), nil
}

// CeilingReviewInputs is CeilingReviewInput for many buyers at once, read set-based: history
// gives each buyer's monthly totals and unpaid debit. The buyers without a profile are absent
// from the answer (CeilingReviewInput creates their profile: review them with it).
func (s *Service) CeilingReviewInputs(ctx context.Context, buyerIDs []string,
	history func(buyerID string) (monthlyTotals []int64, unpaidInWindow bool)) (map[string]ReviewInput, error) {
	now := s.clock.Now()
	facts, err := s.store.FactsMany(ctx, buyerIDs, clock.MonthOf(now))
	if err != nil {
		return nil, err
	}
	out := make(map[string]ReviewInput, len(facts))
	for b, f := range facts {
		totals, unpaid := history(b)
		out[b] = s.reviewInput(f, totals, unpaid, now)
	}
	return out, nil
}

// reviewInput is the rule of CeilingReviewInput, applied to facts read at now.
func (s *Service) reviewInput(f Facts, monthlyTotals []int64, unpaidInWindow bool, now time.Time) ReviewInput {
	in := ReviewInput{
		Current: f.Profile.Ceiling, MonthlyTotals: monthlyTotals, UnpaidInWindow: unpaidInWindow || f.Profile.Suspended,
		ScoreMinimum: s.cfg.Score.Minimum, InProbation: s.cfg.Ceiling.InProbation(f.Profile.ProbationStart, now),
	}
	if f.Score.Latest != nil && len(s.cfg.Score.Reasons(f.Score, now)) == 0 {
		in.HasScore, in.Score = true, f.Score.Latest.Value
	}
	return in
}
