package monthclose

import (
	"context"
	"errors"
	"fmt"
)

// Step is one stage of a month close. The app registers the steps in order (refresh_scores,
// collections, statements, ceiling_reviews); a capability plugs its work in by giving the engine a
// Step of that name, usually StepFunc(name, fn).
//
// The contract a step must keep:
//
//   - Idempotent. The engine never runs a step again once it has completed for the month, but a
//     run interrupted halfway (an error, the job's timeout, a stop, a crash) is run again from the
//     beginning of the step. Running it again must not repeat any effect: derive every write from
//     (month, data) and protect it with a unique constraint or a conditional update (one
//     collection per buyer and month, one statement per account and month, ...), and call
//     providers with idempotency keys derived from the month and the item. Use Progress to skip
//     items already done, not to make the step correct.
//   - Count is the step's result for the whole month (collections of the month, statements of the
//     month, ...), not what this run did, so that a re-run reports the same number.
//   - Honour ctx: return soon after it ends (job timeout, process stop) with ctx's error. Nothing
//     is lost: the next attempt re-runs the step.
//   - Return an error when the step cannot finish now (a provider outage): the attempt fails, the
//     job queue retries it later with backoff and the close stays running. Per-item problems the
//     business handles itself (a buyer whose score is unavailable) are not errors of the step.
//   - No network call inside a database transaction; keep transactions short.
//
// At most one run of a month's steps is in progress at a time (the engine holds a lease), but
// runs of different months may overlap.
type Step interface {
	// Name is the step's stable name, recorded in the database ("collections").
	Name() string
	// Run does the step's work for month ("2026-11") and returns the month's count.
	Run(ctx context.Context, month string, progress Progress) (count int, err error)
}

// Progress is a step's durable checkpoint within one month's close.
type Progress interface {
	// Checkpoint is what the step saved during an earlier, interrupted run ("" the first time),
	// for example the id of the last buyer it finished.
	Checkpoint() string
	// Save durably records checkpoint for a later run. ErrLeaseLost when this run was taken
	// over: the step must stop and return the error.
	Save(ctx context.Context, checkpoint string) error
	// Report records, for operators, how far the step is: done of total items of the month
	// (done counts the items finished by earlier runs too). Call it every batch, not every item.
	// ErrLeaseLost as for Save.
	Report(ctx context.Context, done, total int) error
}

// StepFunc adapts a function to a Step named name.
func StepFunc(name string, run func(ctx context.Context, month string, progress Progress) (int, error)) Step {
	return funcStep{name: name, run: run}
}

type funcStep struct {
	name string
	run  func(ctx context.Context, month string, progress Progress) (int, error)
}

func (s funcStep) Name() string { return s.name }

func (s funcStep) Run(ctx context.Context, month string, progress Progress) (int, error) {
	return s.run(ctx, month, progress)
}

// Noop is a placeholder step that does nothing and counts 0, until a capability plugs in the real
// step of that name.
func Noop(name string) Step {
	return StepFunc(name, func(context.Context, string, Progress) (int, error) { return 0, nil })
}

// DefaultSteps are the steps of a close in their order, as no-op placeholders.
func DefaultSteps() []Step {
	return []Step{Noop(StepRefreshScores), Noop(StepCollections), Noop(StepStatements), Noop(StepCeilingReviews)}
}

// Replace returns steps where each step of replacements takes the place of the step of the same
// name; a replacement whose name is not in steps is added at the end, in the order given.
func Replace(steps []Step, replacements ...Step) []Step {
	out := append([]Step(nil), steps...)
next:
	for _, r := range replacements {
		for i, s := range out {
			if s.Name() == r.Name() {
				out[i] = r
				continue next
			}
		}
		out = append(out, r)
	}
	return out
}

// validateSteps checks that steps have distinct, non-empty names.
func validateSteps(steps []Step) error {
	if len(steps) == 0 {
		return errors.New("month close: no steps")
	}
	seen := map[string]bool{}
	for _, s := range steps {
		switch {
		case s == nil || s.Name() == "":
			return errors.New("month close: a step has no name")
		case seen[s.Name()]:
			return fmt.Errorf("month close: step %q registered twice", s.Name())
		}
		seen[s.Name()] = true
	}
	return nil
}
