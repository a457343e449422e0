package monthclose

import (
	"context"
	"errors"
	"time"

	"github.com/vhupay/vhupay/internal/txn"
)

// Errors.
var (
	ErrNotFound      = errors.New("no close exists for this month")
	ErrExists        = errors.New("the close of this month exists")
	ErrMonthNotEnded = errors.New("this month has not ended yet")
	// ErrBusy is returned by Engine.Run while another run holds the close's lease.
	ErrBusy = errors.New("another run of this close is in progress")
	// ErrLeaseLost is returned when a run's lease was taken over: the run must stop writing.
	ErrLeaseLost = errors.New("the run lost its lease on the close")
	// ErrTimeUp is returned by Engine.Run when the run's time (the job's timeout, the lease) ran
	// out while its step was moving on (it reported more items done than when it started): a
	// long step at the provider's pace, not a failure. The close goes on at once in a new run.
	ErrTimeUp = errors.New("the run's time is up while its step was progressing")
)

// Status is where a close stands.
type Status string

// Statuses.
const (
	StatusRunning   Status = "running"
	StatusCompleted Status = "completed"
	StatusFailed    Status = "failed"
)

// The steps of a close, in the order they run. Their counts are the close's counters.
const (
	StepRefreshScores  = "refresh_scores"
	StepCollections    = "collections"
	StepStatements     = "statements"
	StepCeilingReviews = "ceiling_reviews"
)

// MonthClose is the close of one month.
type MonthClose struct {
	Month  string
	Status Status
	// Counters: each is the count of the step of that name (0 until it completes).
	Collections, Statements, CeilingReviews, ScoreChecks int
	StartedAt                                            time.Time
	FinishedAt                                           *time.Time
	// LastError is the error of the latest failed attempt ("" when none), for operators.
	LastError string
	// Steps are the steps that have started, in the order they started.
	Steps []StepRun
}

// StepProgress is how far a running close's current step is: Done of Total items (0 of 0 until
// the step reports).
type StepProgress struct {
	Step        string
	Done, Total int
}

// Progress is the progress of the step a running close is in, and false when the close is not
// running or between steps.
func (c MonthClose) Progress() (StepProgress, bool) {
	if c.Status != StatusRunning {
		return StepProgress{}, false
	}
	for _, s := range c.Steps {
		if !s.Completed {
			return StepProgress{Step: s.Name, Done: s.Done, Total: s.Total}, true
		}
	}
	return StepProgress{}, false
}

// StepRun is a step's record within one close.
type StepRun struct {
	Name string
	// Completed is true once the step has finished; it never runs again for this month.
	Completed bool
	Count     int
	// Runs is how many times the step has been started for this month.
	Runs       int
	Checkpoint string
	// Done and Total are the step's latest progress report (see Progress.Report).
	Done, Total int
	StartedAt   time.Time
	FinishedAt  *time.Time
}

// Step returns the record of the named step, and false when it has not started.
func (c MonthClose) Step(name string) (StepRun, bool) {
	for _, s := range c.Steps {
		if s.Name == name {
			return s, true
		}
	}
	return StepRun{}, false
}

// withCounters fills the counters from the completed steps.
func withCounters(c MonthClose) MonthClose {
	count := func(name string) int {
		if s, ok := c.Step(name); ok && s.Completed {
			return s.Count
		}
		return 0
	}
	c.ScoreChecks = count(StepRefreshScores)
	c.Collections = count(StepCollections)
	c.Statements = count(StepStatements)
	c.CeilingReviews = count(StepCeilingReviews)
	return c
}

// Tx is the unit of work that starts a close: the close's row and its job (txn.Tx.Enqueue)
// commit together. Storage opens it (Store.InTx).
type Tx interface {
	txn.Tx
	// CreateClose inserts c; ErrExists when month's close exists (the unit must then be rolled
	// back).
	CreateClose(ctx context.Context, c MonthClose) error
	// ReopenClose turns a failed close back to running. It reports false, having written
	// nothing, when the close is not failed; ErrNotFound.
	ReopenClose(ctx context.Context, month string) (bool, error)
	// LockRunning reports whether month's close is running, and keeps it from finishing (a share
	// lock on PostgreSQL; SQLite's write transactions are serialised) until the unit ends.
	LockRunning(ctx context.Context, month string) (bool, error)
}

// Store keeps closes and their steps. Writes of a run are fenced: they succeed only while owner
// holds the close's lease and the close is running, else they return ErrLeaseLost.
type Store interface {
	// InTx runs fn in one unit of work (the close's creation or re-opening with its job).
	txn.Runner[Tx]
	// MonthClose returns a close with its steps; ErrNotFound.
	MonthClose(ctx context.Context, month string) (MonthClose, error)
	// FirstActivity returns when the platform's first buyer or centre was created; ok is false
	// while there is none.
	FirstActivity(ctx context.Context) (first time.Time, ok bool, err error)

	// Claim gives owner the lease on a running close until until (now and until are real
	// time). It returns the close; a close that is not running is returned without a lease.
	// ErrNotFound; ErrBusy while another owner's lease runs.
	Claim(ctx context.Context, month, owner string, now, until time.Time) (MonthClose, error)
	// Release drops owner's lease (no error when owner no longer holds it).
	Release(ctx context.Context, month, owner string) error
	// StartStep records that step starts (again) at at: its runs grow by one.
	StartStep(ctx context.Context, month, owner, step string, at time.Time) error
	// SaveCheckpoint stores a step's checkpoint.
	SaveCheckpoint(ctx context.Context, month, owner, step, checkpoint string) error
	// ReportProgress stores a step's progress (done of total items).
	ReportProgress(ctx context.Context, month, owner, step string, done, total int) error
	// CompleteStep records a step's completion with its count.
	CompleteStep(ctx context.Context, month, owner, step string, count int, at time.Time) error
	// Finish marks the close completed at at.
	Finish(ctx context.Context, month, owner string, at time.Time) error
	// RecordError keeps the error of a failed attempt for operators (not fenced).
	RecordError(ctx context.Context, month, reason string) error
	// Fail marks a running close failed at at with reason (not fenced: the job queue calls it
	// once its last attempt has failed). It does nothing when the close is not running.
	Fail(ctx context.Context, month, reason string, at time.Time) error

	StrandedStore
}
