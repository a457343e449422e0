// Package scoring is the port to the financial score partner: a company's score out of 20 for its
// SIREN. Implementations: the Infolegale client (scoring/infolegale) and the sandbox partner.
package scoring

import (
	"context"
	"errors"
)

// The score scale and the lowest passing value (DOMAIN.md, "The financial score").
const (
	Scale   = 20
	Minimum = 10
)

// Errors a Partner returns (wrapped), so that callers can tell an outage from an answer.
var (
	// ErrUnavailable: the partner could not answer — a transport failure, a timeout, an HTTP
	// error status, an answer that cannot be read or a value outside 0..Scale. A failure of this
	// kind starts the grace period on the last score.
	ErrUnavailable = errors.New("scoring: partner unavailable")
	// ErrUnknownCompany: the partner answered that it knows no company with this SIREN.
	ErrUnknownCompany = errors.New("scoring: unknown company")
	// ErrInvalidScore: a score outside 0..Scale (a sandbox answer set by an operator).
	ErrInvalidScore = errors.New("the score must be from 0 to 20")
)

// Partner scores companies.
type Partner interface {
	// Score returns the score of the company with this SIREN, within 0..Scale. It returns
	// ErrUnavailable or ErrUnknownCompany (wrapped), or the context's error when ctx ended
	// before the partner answered for a reason of the caller's (cancellation, the caller's
	// deadline) rather than the partner's.
	Score(ctx context.Context, siren string) (value int, err error)
}

// Result is one company's answer in a batch: its score, or the error Score would return.
type Result struct {
	Value int
	Err   error
}

// Batcher is a Partner that can score many companies in one call (the sandbox, from one read
// of its answers); the month close's score checks use it when the partner has it.
type Batcher interface {
	// ScoreMany returns one Result per SIREN of sirens, in their order, each as Score would
	// answer it; err is the context's error when ctx ended first (then nothing was answered).
	ScoreMany(ctx context.Context, sirens []string) (results []Result, err error)
}

// InRange reports whether value is a score on the scale: 0 ≤ value ≤ Scale.
func InRange(value int) bool { return value >= 0 && value <= Scale }

// Func adapts a function to Partner, for tests and simple wiring.
type Func func(ctx context.Context, siren string) (int, error)

// Score calls f.
func (f Func) Score(ctx context.Context, siren string) (int, error) { return f(ctx, siren) }

var _ Partner = Func(nil)
