package sepa

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/scoring"
)

// scoreCheckPrefix prefixes the ids of score checks (internal: never shown).
const scoreCheckPrefix = "scc"

// RequestedBySystem marks score checks vhupay runs by itself (first signature, month close).
const RequestedBySystem = "system"

// CheckScore asks the partner for the buyer's score now and records the outcome, for the month
// close and the first signature. It is not rate-limited.
//
// Errors: ErrScoreUnavailable (the partner could not answer: the attempt is recorded and extends
// the grace period of the last score), ErrCompanyUnknown (recorded too), ErrNotFound for an
// unknown buyer, or ctx's error when the caller gave up (nothing recorded).
func (s *Service) CheckScore(ctx context.Context, buyerID string) (Score, error) {
	b, err := s.buyer(ctx, buyerID)
	if err != nil {
		return Score{}, err
	}
	return s.checkScore(ctx, b, RequestedBySystem)
}

// RequestScoreCheck runs a score check now for the caller's buyer (a buyer: itself; an operator
// or a service: forBuyer). A buyer may obtain one score per rolling ScoreRequestEvery (24 h): an
// earlier request that got a score makes it wait (*RateLimitedError, with how long); a request
// the partner could not answer does not count. Operators and services are not limited.
//
// Errors: *RateLimitedError (errors.Is ErrRateLimited), ErrScoreUnavailable, ErrCompanyUnknown,
// ErrNotFound.
func (s *Service) RequestScoreCheck(ctx context.Context, who auth.Principal, forBuyer string) (Score, error) {
	b, err := s.buyerOf(ctx, who, forBuyer)
	if err != nil {
		return Score{}, err
	}
	if who.Role != auth.RoleBuyer {
		return s.checkScore(ctx, b, string(who.Role))
	}
	now := s.clock.Now()
	if _, err := s.store.EnsureProfile(ctx, b.ID, s.cfg.Ceiling.Initial, now); err != nil {
		return Score{}, err
	}
	claimed, last, err := s.store.ClaimScoreRequest(ctx, b.ID, now, now.Add(-s.cfg.ScoreRequestEvery))
	if err != nil {
		return Score{}, err
	}
	if !claimed {
		wait := max(last.Add(s.cfg.ScoreRequestEvery).Sub(now), time.Second)
		return Score{}, &RateLimitedError{RetryAfter: wait}
	}
	sc, err := s.checkScore(ctx, b, string(who.Role))
	if err != nil {
		// No score obtained: give the buyer its request back.
		if rerr := s.store.ReleaseScoreRequest(context.WithoutCancel(ctx), b.ID, now, last); rerr != nil {
			return Score{}, errors.Join(err, rerr)
		}
		return Score{}, err
	}
	return sc, nil
}

// checkScore asks the partner and records the outcome.
func (s *Service) checkScore(ctx context.Context, b parties.Buyer, requestedBy string) (Score, error) {
	check, out, err := s.askScore(ctx, b, requestedBy)
	if err != nil {
		return Score{}, err
	}
	if err := s.store.AddScoreCheck(ctx, check); err != nil {
		return Score{}, err
	}
	if out != nil {
		return Score{}, out
	}
	return Score{Value: check.Value, CheckedAt: check.CheckedAt}, nil
}

// askScore asks the partner for b's score and returns the check to record and the error the
// check answers once recorded (ErrCompanyUnknown, ErrScoreUnavailable); err is ctx's error
// when the caller gave up (nothing to record).
func (s *Service) askScore(ctx context.Context, b parties.Buyer, requestedBy string) (check ScoreCheck, out, err error) {
	value, err := s.partner.Score(ctx, b.SIREN)
	if err != nil && ctx.Err() != nil {
		return ScoreCheck{}, nil, ctx.Err()
	}
	check, out = s.scoreCheck(b, requestedBy, value, err)
	return check, out, nil
}

// scoreCheck is the check to record of the partner's answer (value, err) for b, and the error
// the check answers once recorded (ErrCompanyUnknown, ErrScoreUnavailable).
func (s *Service) scoreCheck(b parties.Buyer, requestedBy string, value int, err error) (check ScoreCheck, out error) {
	check = ScoreCheck{ID: id.New(scoreCheckPrefix), BuyerID: b.ID, RequestedBy: requestedBy, CheckedAt: s.clock.Now()}
	switch {
	case err == nil && scoring.InRange(value):
		check.Outcome, check.Value = ScoreScored, value
	case errors.Is(err, scoring.ErrUnknownCompany):
		check.Outcome, out = ScoreUnknownCompany, fmt.Errorf("score %s: %w", b.ID, ErrCompanyUnknown)
	default:
		if err == nil {
			err = fmt.Errorf("score %d outside 0..%d", value, scoring.Scale)
		}
		check.Outcome, out = ScoreUnavailable, fmt.Errorf("score %s: %w (%s)", b.ID, ErrScoreUnavailable, err.Error())
	}
	return check, out
}

// manyBuyers is a Buyers that reads many buyers at once.
type manyBuyers interface {
	BuyersByID(ctx context.Context, ids []string) (map[string]parties.Buyer, error)
}

// CheckScores is CheckScore for many buyers (the month close): the partner is asked for each,
// at most workers at once, and the checks obtained are recorded together in one unit of work
// (AddScoreChecks), also when ctx ends or a buyer fails halfway, so that no answer obtained is
// lost. It returns, per buyer, the error CheckScore would have returned (nil for a score);
// err is the first error that stopped the batch (ctx's, or a store's).
func (s *Service) CheckScores(ctx context.Context, buyerIDs []string, workers int) (map[string]error, error) {
	workers = max(workers, 1)
	var (
		mu     sync.Mutex
		checks []ScoreCheck
		first  error
	)
	results := make(map[string]error, len(buyerIDs))
	// The buyers in one read when the store can (storage's Parties can).
	var known map[string]parties.Buyer
	if many, ok := s.buyers.(manyBuyers); ok {
		var err error
		if known, err = many.BuyersByID(ctx, buyerIDs); err != nil {
			return nil, err
		}
	}
	buyerOf := func(id string) (parties.Buyer, error) {
		if known == nil {
			return s.buyer(ctx, id)
		}
		if b, ok := known[id]; ok {
			return b, nil
		}
		return parties.Buyer{}, ErrNotFound
	}
	if batcher, ok := s.partner.(scoring.Batcher); ok {
		return s.checkScoresAtOnce(ctx, batcher, buyerIDs, buyerOf)
	}
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(workers, len(buyerIDs)) {
		wg.Go(func() {
			for b := range work {
				var check ScoreCheck
				var out error
				buyer, err := buyerOf(b)
				if err == nil {
					check, out, err = s.askScore(ctx, buyer, RequestedBySystem)
				}
				mu.Lock()
				switch {
				case errors.Is(err, ErrNotFound):
					results[b] = err
				case err != nil:
					if first == nil {
						first = err
					}
				default:
					checks = append(checks, check)
					results[b] = out
				}
				mu.Unlock()
			}
		})
	}
feed:
	for _, b := range buyerIDs {
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if stop {
			break
		}
		select {
		case work <- b:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if len(checks) > 0 {
		// Recorded even when ctx ended: the partner answered them.
		if err := s.store.AddScoreChecks(context.WithoutCancel(ctx), checks); err != nil {
			return nil, err
		}
	}
	if first == nil {
		first = ctx.Err()
	}
	return results, first
}

// checkScoresAtOnce is CheckScores with a partner that scores the batch in one call.
func (s *Service) checkScoresAtOnce(ctx context.Context, batcher scoring.Batcher, buyerIDs []string,
	buyerOf func(string) (parties.Buyer, error)) (map[string]error, error) {
	results := make(map[string]error, len(buyerIDs))
	var asked []parties.Buyer
	for _, b := range buyerIDs {
		buyer, err := buyerOf(b)
		switch {
		case errors.Is(err, ErrNotFound):
			results[b] = err
		case err != nil:
			return results, err
		default:
			asked = append(asked, buyer)
		}
	}
	if len(asked) == 0 {
		return results, ctx.Err()
	}
	sirens := make([]string, len(asked))
	for i, b := range asked {
		sirens[i] = b.SIREN
	}
	answers, err := batcher.ScoreMany(ctx, sirens)
	if err != nil {
		return results, err
	}
	if len(answers) != len(asked) {
		return results, fmt.Errorf("score checks: the partner answered %d of %d companies", len(answers), len(asked))
	}
	checks := make([]ScoreCheck, len(asked))
	for i, b := range asked {
		checks[i], results[b.ID] = s.scoreCheck(b, RequestedBySystem, answers[i].Value, answers[i].Err)
	}
	if err := s.store.AddScoreChecks(context.WithoutCancel(ctx), checks); err != nil {
		return nil, err
	}
	return results, ctx.Err()
}

// checkScoreAfterFirstSignature runs a score check when the buyer has no score younger than
// the freshness window (DOMAIN.md: "when a buyer signs its first mandate without a score younger
// than 31 days"). Called after the signature is stored; failures are logged, since the
// signature stands and the buyer (or the month close) can check again.
func (s *Service) checkScoreAfterFirstSignature(ctx context.Context, buyerID string) {
	state, err := s.store.ScoreState(ctx, buyerID)
	if err == nil && !s.cfg.Score.NeedsCheck(state.Latest, s.clock.Now()) {
		return
	}
	if err == nil {
		_, err = s.CheckScore(ctx, buyerID)
	}
	if err != nil {
		s.log.WarnContext(ctx, "score check after the first signed mandate failed",
			slog.String("buyer_id", buyerID), slog.String("err", err.Error()))
	}
}
