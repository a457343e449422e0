package monthclose

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/txn"
	"github.com/vhupay/vhupay/internal/validation"
)

// Queue runs closes in the background (the job queue).
type Queue interface {
	// Job is the job that runs month's close, to enqueue in the unit of work that starts it
	// (txn.Tx.Enqueue). While a job for month is alive (waiting, running or retrying) enqueuing it
	// inserts nothing.
	Job(month string) txn.Job
	// Enqueue enqueues month's job in a transaction of its own.
	Enqueue(ctx context.Context, month string) error
}

// Service starts and reads closes; the engine runs them in the job queue.
type Service struct {
	store Store
	queue Queue
	clock clock.Clock
	log   *slog.Logger
}

// NewService returns the month close service; log may be nil (no logging).
func NewService(store Store, queue Queue, c clock.Clock, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, queue: queue, clock: c, log: log}
}

// Outcome says what Start did.
type Outcome int

// Outcomes.
const (
	// Existing: the close already existed (running or completed) and was left as it is.
	Existing Outcome = iota
	// Started: this call created the close and enqueued its job.
	Started
	// Resumed: the close had failed; this call re-opened it and enqueued a new job, which
	// resumes after its last completed step.
	Resumed
)

// Start starts month's close, or returns the one that exists. The close row and its job are
// written in one transaction, and the month's uniqueness makes concurrent callers (schedulers,
// operators, other processes) agree on one close: all but one get Existing. A failed close is
// re-opened (Resumed). For a running close, the job is enqueued again in case it was lost (a
// no-op while it is alive).
//
// Errors: a *validation.Error on field "month" for a month not written YYYY-MM;
// ErrMonthNotEnded when month has not ended at the clock's now (Europe/Paris).
func (s *Service) Start(ctx context.Context, month string) (MonthClose, Outcome, error) {
	return s.StartAs(ctx, txn.System, month)
}

// StartAs is Start by an operator: a close it starts or resumes is audited (month_close.start,
// actor who) in the unit of work that writes it.
func (s *Service) StartAs(ctx context.Context, who txn.Actor, month string) (MonthClose, Outcome, error) {
	ended, err := clock.MonthEnded(month, s.clock.Now())
	if err != nil {
		return MonthClose{}, Existing, validation.Field("month", "format", `must be a month written "YYYY-MM"`)
	}
	if !ended {
		return MonthClose{}, Existing, ErrMonthNotEnded
	}
	if err := s.inRange(ctx, month); err != nil {
		return MonthClose{}, Existing, err
	}
	now := s.clock.Now()
	fresh := MonthClose{Month: month, Status: StatusRunning, StartedAt: now}
	err = s.store.InTx(ctx, func(tx Tx) error {
		if err := tx.CreateClose(ctx, fresh); err != nil {
			return err
		}
		if err := tx.Enqueue(ctx, s.queue.Job(month)); err != nil {
			return err
		}
		return tx.Audit(ctx, txn.AuditEntry{Action: "month_close.start", Actor: who, TargetID: month, After: fresh, At: now})
	})
	switch {
	case err == nil:
		c, err := s.Get(ctx, month)
		return c, Started, err
	case !errors.Is(err, ErrExists):
		return MonthClose{}, Existing, fmt.Errorf("start close %s: %w", month, err)
	}
	c, err := s.Get(ctx, month)
	if err != nil {
		return MonthClose{}, Existing, err
	}
	switch c.Status {
	case StatusFailed:
		reopened := false
		err := s.store.InTx(ctx, func(tx Tx) error {
			ok, err := tx.ReopenClose(ctx, month)
			if reopened = ok; err != nil || !ok {
				return err
			}
			if err := tx.Enqueue(ctx, s.queue.Job(month)); err != nil {
				return err
			}
			after := c
			after.Status, after.FinishedAt, after.LastError = StatusRunning, nil, ""
			return tx.Audit(ctx, txn.AuditEntry{Action: "month_close.start", Actor: who, TargetID: month, Before: c, After: after, At: now})
		})
		if err != nil {
			return MonthClose{}, Existing, fmt.Errorf("resume close %s: %w", month, err)
		}
		c, err := s.Get(ctx, month)
		if !reopened { // another caller re-opened it first
			return c, Existing, err
		}
		return c, Resumed, err
	case StatusRunning:
		// Enqueued again in case the job was lost (a no-op while it is alive), under the close's
		// lock: a run finishing meanwhile would otherwise leave a second, idle job behind it.
		err := s.store.InTx(ctx, func(tx Tx) error {
			running, err := tx.LockRunning(ctx, month)
			if err != nil || !running {
				return err
			}
			return tx.Enqueue(ctx, s.queue.Job(month))
		})
		if err != nil {
			return MonthClose{}, Existing, fmt.Errorf("enqueue close %s: %w", month, err)
		}
	}
	return c, Existing, nil
}

// MaxMonthsBack is how far back a close may be started: the last ended month and the 12 before.
const MaxMonthsBack = 13

// inRange refuses (validation error on "month") a month more than MaxMonthsBack months before
// the current one, or before the month of the platform's first buyer or centre: such a close has
// nothing to collect and would only spend score checks. A close that exists already is in range
// (it may be read and resumed).
func (s *Service) inRange(ctx context.Context, month string) error {
	now := s.clock.Now()
	oldest := clock.MonthOf(time.Date(now.In(clock.Paris()).Year(), now.In(clock.Paris()).Month()-MaxMonthsBack, 1, 12, 0, 0, 0, clock.Paris()))
	why := ""
	if month < oldest {
		why = fmt.Sprintf("must be %s or later (at most %d months back)", oldest, MaxMonthsBack)
	} else {
		first, ok, err := s.store.FirstActivity(ctx)
		if err != nil {
			return fmt.Errorf("first activity: %w", err)
		}
		if ok && month < clock.MonthOf(first) {
			why = fmt.Sprintf("must be %s or later (the platform's first month)", clock.MonthOf(first))
		}
	}
	if why == "" {
		return nil
	}
	if _, err := s.store.MonthClose(ctx, month); err == nil {
		return nil
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	return validation.Field("month", "range", why)
}

// Get returns month's close; ErrNotFound when it has not started (or month is not a month).
func (s *Service) Get(ctx context.Context, month string) (MonthClose, error) {
	if _, _, err := clock.MonthBounds(month); err != nil {
		return MonthClose{}, ErrNotFound
	}
	c, err := s.store.MonthClose(ctx, month)
	if err != nil {
		return MonthClose{}, err
	}
	return withCounters(c), nil
}
