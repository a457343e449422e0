// Package sandbox is the simulated score partner of sandbox mode (SANDBOX.md): it answers 14/20
// for every SIREN unless an operator set another answer for it. Answers live in the database, so
// that every vhupay process on it answers alike.
package sandbox

import (
	"context"
	"fmt"

	"github.com/vhupay/vhupay/internal/scoring"
)

// DefaultScore is the answer for a SIREN nobody set.
const DefaultScore = 14

// Answer is what the partner answers for a SIREN: a score, or unavailable (scoring.ErrUnavailable).
type Answer struct {
	Value       int
	Unavailable bool
}

// ErrInvalidAnswer: a value outside 0..scoring.Scale.
var ErrInvalidAnswer = scoring.ErrInvalidScore

// Store keeps the answers set by operators.
type Store interface {
	// SandboxScore returns the answer set for siren, and false when none was set.
	SandboxScore(ctx context.Context, siren string) (Answer, bool, error)
	// SandboxScoresOf returns the answers set for those of sirens that have one.
	SandboxScoresOf(ctx context.Context, sirens []string) (map[string]Answer, error)
	// SetSandboxScore sets (or replaces) the answer for siren.
	SetSandboxScore(ctx context.Context, siren string, a Answer) error
}

// Partner is the sandbox score partner.
type Partner struct{ store Store }

var (
	_ scoring.Partner = (*Partner)(nil)
	_ scoring.Batcher = (*Partner)(nil)
)

// New returns the sandbox partner.
func New(store Store) *Partner { return &Partner{store: store} }

// Score implements scoring.Partner: the answer set for siren, else DefaultScore. An answer set
// unavailable, or a store that fails, gives scoring.ErrUnavailable.
func (p *Partner) Score(ctx context.Context, siren string) (int, error) {
	a, found, err := p.store.SandboxScore(ctx, siren)
	if err != nil && ctx.Err() != nil {
		return 0, ctx.Err()
	}
	r := answer(a, found, err)
	return r.Value, r.Err
}

// ScoreMany implements scoring.Batcher with one read of the answers set: each SIREN gets what
// Score would answer (a store that fails makes every answer scoring.ErrUnavailable).
func (p *Partner) ScoreMany(ctx context.Context, sirens []string) ([]scoring.Result, error) {
	set, err := p.store.SandboxScoresOf(ctx, sirens)
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	out := make([]scoring.Result, len(sirens))
	for i, siren := range sirens {
		a, found := set[siren]
		out[i] = answer(a, found, err)
	}
	return out, nil
}

// answer is the partner's answer from the answer a set for a SIREN (found), or from the store's
// failure err.
func answer(a Answer, found bool, err error) scoring.Result {
	switch {
	case err != nil:
		return scoring.Result{Err: fmt.Errorf("%w: %s", scoring.ErrUnavailable, err.Error())}
	case !found:
		return scoring.Result{Value: DefaultScore}
	case a.Unavailable:
		return scoring.Result{Err: fmt.Errorf("%w: made unavailable for this SIREN", scoring.ErrUnavailable)}
	}
	return scoring.Result{Value: a.Value}
}

// Set sets what the partner answers for siren from now on and returns it.
// Errors: ErrInvalidAnswer.
func (p *Partner) Set(ctx context.Context, siren string, a Answer) (Answer, error) {
	if a.Unavailable {
		a.Value = 0
	} else if !scoring.InRange(a.Value) {
		return Answer{}, ErrInvalidAnswer
	}
	if err := p.store.SetSandboxScore(ctx, siren, a); err != nil {
		return Answer{}, err
	}
	return a, nil
}
