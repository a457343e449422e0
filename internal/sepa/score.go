package sepa

import (
	"errors"
	"fmt"
	"time"

	"github.com/vhupay/vhupay/internal/scoring"
)

// Score windows (DOMAIN.md, "The financial score"). A day here is 24 hours of elapsed time, not a
// Paris calendar day: the windows are durations from the check's instant, unaffected by DST.
const (
	// ScoreFreshFor is how long a score counts after its check: "checked in the last 31 days".
	ScoreFreshFor = 31 * 24 * time.Hour
	// ScoreGraceFor is how long a score keeps counting when the latest check attempt failed
	// because the partner could not answer: "the last score stays valid up to 45 days old".
	ScoreGraceFor = 45 * 24 * time.Hour
)

// Score is the result of a successful score check.
type Score struct {
	Value     int // 0..scoring.Scale
	CheckedAt time.Time
}

// ScoreState is what is known of a buyer's score checks.
type ScoreState struct {
	// Latest is the latest successful check; nil when no check ever succeeded.
	Latest *Score
	// UnavailableAt is the time of the latest check attempt when that attempt failed because the
	// partner could not answer (scoring.ErrUnavailable); zero when the latest attempt succeeded,
	// failed for another reason (such as scoring.ErrUnknownCompany), or none was made. A failure
	// that is not after Latest.CheckedAt is not the latest attempt and is ignored.
	UnavailableAt time.Time
}

// ScorePolicy holds the score rules; DefaultScorePolicy gives DOMAIN.md's.
type ScorePolicy struct {
	Minimum  int           // lowest passing value, scoring.Minimum (10) by default
	FreshFor time.Duration // ScoreFreshFor by default
	GraceFor time.Duration // ScoreGraceFor by default; never shorter than FreshFor
}

// DefaultScorePolicy returns the minimum 10/20, 31 days of freshness and 45 days of grace.
func DefaultScorePolicy() ScorePolicy {
	return ScorePolicy{Minimum: scoring.Minimum, FreshFor: ScoreFreshFor, GraceFor: ScoreGraceFor}
}

// ErrInvalidPolicy is returned by the Validate methods of the policies.
var ErrInvalidPolicy = errors.New("sepa: invalid policy")

// Validate returns ErrInvalidPolicy (wrapped) unless 0 ≤ Minimum ≤ scoring.Scale and
// 0 < FreshFor ≤ GraceFor.
func (p ScorePolicy) Validate() error {
	switch {
	case p.Minimum < 0 || p.Minimum > scoring.Scale:
		return fmt.Errorf("%w: score minimum %d outside 0..%d", ErrInvalidPolicy, p.Minimum, scoring.Scale)
	case p.FreshFor <= 0 || p.GraceFor < p.FreshFor:
		return fmt.Errorf("%w: need 0 < fresh (%s) ≤ grace (%s)", ErrInvalidPolicy, p.FreshFor, p.GraceFor)
	}
	return nil
}

// Passes reports whether a score value reaches the minimum.
func (p ScorePolicy) Passes(value int) bool { return value >= p.Minimum }

// ValidUntil returns the instant from which the latest score no longer counts, and false when
// there is no score. Windows are half-open: a score checked at t counts at every instant in
// [t, t+window) and not at t+window. The window is GraceFor when the latest attempt failed
// because the partner could not answer (see ScoreState.UnavailableAt), FreshFor otherwise.
//
// An outage therefore never shortens a score's life: it can only lengthen it from 31 to 45 days.
func (p ScorePolicy) ValidUntil(s ScoreState) (time.Time, bool) {
	if s.Latest == nil {
		return time.Time{}, false
	}
	window := p.FreshFor
	if s.latestAttemptUnavailable() {
		window = p.GraceFor
	}
	return s.Latest.CheckedAt.Add(window), true
}

func (s ScoreState) latestAttemptUnavailable() bool {
	return s.Latest != nil && !s.UnavailableAt.IsZero() && s.UnavailableAt.After(s.Latest.CheckedAt)
}

// Reasons returns the score's part of the eligibility reasons, in the contract's order:
//   - ReasonNoScore when no check ever succeeded (the profile's "score" is null exactly then);
//   - ReasonScoreBelowMinimum when the latest score is under the minimum, whatever its age:
//     DOMAIN.md keeps SEPA disabled "until a later check passes";
//   - ReasonScoreUnavailable when a score exists but no longer counts at now (see ValidUntil):
//     older than 45 days after an outage, or older than 31 days with no failed attempt (a check
//     is due and has not been made; the cure is the same — a successful check).
//
// A stale score under the minimum gives both ReasonScoreBelowMinimum and ReasonScoreUnavailable.
// The result is nil when the score allows SEPA.
func (p ScorePolicy) Reasons(s ScoreState, now time.Time) []string {
	until, ok := p.ValidUntil(s)
	if !ok {
		return []string{ReasonNoScore}
	}
	var reasons []string
	if !p.Passes(s.Latest.Value) {
		reasons = append(reasons, ReasonScoreBelowMinimum)
	}
	if !now.Before(until) {
		reasons = append(reasons, ReasonScoreUnavailable)
	}
	return reasons
}

// ScoreRule is the score part of eligibility at one instant, in the form a store checks it in one
// statement: the latest successful score counts when its value is at least Minimum and it was
// checked after FreshAfter — or after GraceAfter when the latest attempt, made after that score,
// failed because the partner could not answer. It holds exactly when Reasons(state, now) is nil
// for the policy and instant it was made from (ScorePolicy.RuleAt).
type ScoreRule struct {
	Minimum    int
	FreshAfter time.Time
	GraceAfter time.Time
}

// RuleAt returns the policy's score rule at now: the windows are half-open, so a score checked
// exactly FreshFor before now no longer counts (checked_at > now − FreshFor).
func (p ScorePolicy) RuleAt(now time.Time) ScoreRule {
	return ScoreRule{Minimum: p.Minimum, FreshAfter: now.Add(-p.FreshFor), GraceAfter: now.Add(-p.GraceFor)}
}

// NeedsCheck reports whether a score check must be run now, as when a buyer signs its first
// mandate "without a score younger than 31 days": true when there is no score or the latest is
// FreshFor old or older. The grace period plays no part here: it tolerates an outage, it does not
// make a check unnecessary.
func (p ScorePolicy) NeedsCheck(latest *Score, now time.Time) bool {
	return latest == nil || !now.Before(latest.CheckedAt.Add(p.FreshFor))
}
