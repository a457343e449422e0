package collections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/sepa"
)

// RefreshScores is the month close's "refresh_scores" step: it checks the score of every SEPA
// buyer (a mandate was signed once), Workers at a time, one partner call per buyer. It returns the
// number of SEPA buyers whose score was checked during this close.
//
// The first run saves its start time as the step's checkpoint; a run that resumes skips the
// buyers with a score check since then (whatever asked for it), so no buyer is asked twice. A
// partner that cannot answer for a buyer is recorded (it extends the grace of the buyer's last
// score, DOMAIN.md) and is not an error of the step; nor is an unknown company.
func (s *Service) RefreshScores(ctx context.Context, month string, progress Progress) (int, error) {
	since, err := time.Parse(time.RFC3339Nano, progress.Checkpoint())
	if err != nil {
		since = s.clock.Now()
		if err := progress.Save(ctx, since.Format(time.RFC3339Nano)); err != nil {
			return 0, err
		}
	}
	after := ""
	for {
		buyers, err := s.store.SEPABuyers(ctx, since, after, s.cfg.Batch)
		if err != nil {
			return 0, err
		}
		if len(buyers) == 0 {
			break
		}
		if err := s.checkScores(ctx, buyers); err != nil {
			return 0, err
		}
		after = buyers[len(buyers)-1]
	}
	return s.store.CountScored(ctx, since)
}

// checkScores checks a batch of buyers' scores (sepa's CheckScores: Workers partner calls at a
// time, the outcomes recorded in one unit of work). A buyer without a score is logged.
func (s *Service) checkScores(ctx context.Context, buyers []string) error {
	results, err := s.sepa.CheckScores(ctx, buyers, s.cfg.Workers)
	for _, b := range buyers {
		if e := results[b]; e != nil {
			s.log.WarnContext(ctx, "month close score check without a score", slog.String("buyer_id", b), slog.String("err", e.Error()))
		}
	}
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("score checks: %w", err)
	}
	return err
}

// maxReviewAttempts bounds how often one buyer's review is decided again after its ceiling moved.
const maxReviewAttempts = 3

// ReviewCeilings is the month close's "ceiling_reviews" step: it reviews the ceiling of every
// SEPA buyer with DOMAIN.md's rule (sepa.CeilingPolicy.Review): the monthly totals of the last
// ReviewMonths closed months (month and the ones before) come from the collections, the unpaid
// debits of the last UnpaidWindowMonths from the unpaid debits; the probation, the score and the
// suspension are read by sepa.Service.CeilingReviewInput. A raise is recorded as a
// monthly_review ceiling change. It returns the number of buyers reviewed for month.
//
// Each buyer's review writes its marker (buyer, month) in the transaction that raises the
// ceiling, so a resumed step never reviews a buyer twice; a ceiling changed by an operator
// between the read and the write makes the review decide again.
func (s *Service) ReviewCeilings(ctx context.Context, month string, _ Progress) (int, error) {
	policy := s.sepa.CeilingPolicy()
	months, err := lastMonths(month, policy.ReviewMonths)
	if err != nil {
		return 0, err
	}
	unpaidSince := s.clock.Now().In(clock.Paris()).AddDate(0, -policy.UnpaidWindowMonths, 0).UTC()
	after := ""
	for {
		buyers, err := s.store.BuyersToReview(ctx, month, after, s.cfg.Batch)
		if err != nil {
			return 0, err
		}
		if len(buyers) == 0 {
			break
		}
		histories, err := s.store.Histories(ctx, buyers, months, unpaidSince)
		if err != nil {
			return 0, err
		}
		if err := s.reviewBatch(ctx, buyers, month, months, histories); err != nil {
			return 0, err
		}
		after = buyers[len(buyers)-1]
	}
	return s.store.CountReviews(ctx, month)
}

// reviewBatch reviews a batch of buyers: their inputs are read set-based
// (CeilingReviewInputs), the reviews that leave the ceiling as it is (most) are recorded together
// in one statement, and each raise is recorded on its own (with its ceiling change and its
// sepa.ceiling_changed event, conditionally on the ceiling read), Workers at a time, decided
// again when the ceiling moved meanwhile.
func (s *Service) reviewBatch(ctx context.Context, buyers []string, month string, months []string, histories map[string]History) error {
	totalsOf := func(b string) ([]int64, bool) {
		h := histories[b]
		totals := make([]int64, len(months))
		for i, m := range months {
			totals[i] = h.Totals[m]
		}
		return totals, h.Unpaid
	}
	inputs, err := s.sepa.CeilingReviewInputs(ctx, buyers, totalsOf)
	if err != nil {
		return fmt.Errorf("ceiling reviews: %w", err)
	}
	policy := s.sepa.CeilingPolicy()
	at := s.clock.Now()
	var same []Review
	var others []string // raised, or without a profile: one at a time
	first := map[string]*sepa.ReviewInput{}
	for _, b := range buyers {
		in, ok := inputs[b]
		if !ok {
			others = append(others, b)
			continue
		}
		if next, _ := policy.Review(in); next != in.Current {
			others = append(others, b)
			first[b] = &in
			continue
		}
		same = append(same, Review{BuyerID: b, Month: month, From: in.Current, To: in.Current, Note: "monthly review of " + month, At: at})
	}
	if len(same) > 0 {
		if _, err := s.store.RecordReviews(ctx, same); err != nil {
			return fmt.Errorf("ceiling reviews: %w", err)
		}
	}
	return forEach(ctx, s.cfg.Workers, others, func(ctx context.Context, b string) error {
		totals, unpaid := totalsOf(b)
		return s.reviewCeiling(ctx, b, month, totals, unpaid, first[b])
	})
}

// reviewCeiling reviews one buyer, from in when given (read by the batch), else from a read of
// its own; a ceiling moved meanwhile makes it read and decide again.
func (s *Service) reviewCeiling(ctx context.Context, buyerID, month string, totals []int64, unpaid bool, in0 *sepa.ReviewInput) error {
	policy := s.sepa.CeilingPolicy()
	for range maxReviewAttempts {
		var in sepa.ReviewInput
		var err error
		if in0 != nil {
			in, in0 = *in0, nil
		} else if in, err = s.sepa.CeilingReviewInput(ctx, buyerID, totals, unpaid); err != nil {
			return fmt.Errorf("ceiling review of %s: %w", buyerID, err)
		}
		next, _ := policy.Review(in)
		_, err = s.store.RecordReview(ctx, Review{BuyerID: buyerID, Month: month, From: in.Current, To: next,
			Note: "monthly review of " + month, At: s.clock.Now()})
		if errors.Is(err, ErrCeilingMoved) {
			continue
		}
		if err != nil {
			return fmt.Errorf("ceiling review of %s: %w", buyerID, err)
		}
		if next != in.Current {
			s.log.InfoContext(ctx, "SEPA ceiling raised by the monthly review", slog.String("buyer_id", buyerID),
				slog.String("month", month), slog.Int64("from", in.Current), slog.Int64("to", next))
		}
		return nil
	}
	return fmt.Errorf("ceiling review of %s: %w %d times", buyerID, ErrCeilingMoved, maxReviewAttempts)
}

// lastMonths returns month and the n−1 months before it, newest first.
func lastMonths(month string, n int) ([]string, error) {
	out := []string{month}
	for len(out) < n {
		prev, err := clock.PreviousMonth(out[len(out)-1])
		if err != nil {
			return nil, err
		}
		out = append(out, prev)
	}
	if _, _, err := clock.MonthBounds(month); err != nil {
		return nil, err
	}
	return out, nil
}
