package sepa

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	value, err := s.partner.Score(ctx, b.SIREN)
	if err != nil && ctx.Err() != nil {
		return Score{}, ctx.Err()
	}
	check := ScoreCheck{ID: id.New(scoreCheckPrefix), BuyerID: b.ID, RequestedBy: requestedBy, CheckedAt: s.clock.Now()}
	var out error
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
	if err := s.store.AddScoreCheck(ctx, check); err != nil {
		return Score{}, err
	}
	if out != nil {
		return Score{}, out
	}
	return Score{Value: value, CheckedAt: check.CheckedAt}, nil
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
