package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/monthclose"
	"github.com/vhupay/vhupay/internal/validation"
)

// DefaultSchedulerInterval is how often the scheduler reads the clock.
const DefaultSchedulerInterval = 2 * time.Second

// Closes starts and reads month closes (monthclose.Service).
type Closes interface {
	Get(ctx context.Context, month string) (monthclose.MonthClose, error)
	Start(ctx context.Context, month string) (monthclose.MonthClose, monthclose.Outcome, error)
}

// Scheduler starts the close of the previous month once the clock is in a new month (Europe/
// Paris). It follows the injected clock, not River's periodic jobs (which run on real time), so
// that moving the sandbox test clock past midnight on the 1st starts the close within an
// interval. It only ever starts the month just before the clock's month; older months are closed
// by an operator (API or CLI). Every process runs one: the month's uniqueness makes them agree.
type Scheduler struct {
	clock    clock.Clock
	closes   Closes
	interval time.Duration
	log      *slog.Logger
}

// NewScheduler returns a scheduler reading c every interval (DefaultSchedulerInterval when 0),
// logging to log (nothing when nil).
func NewScheduler(c clock.Clock, closes Closes, interval time.Duration, log *slog.Logger) *Scheduler {
	if interval <= 0 {
		interval = DefaultSchedulerInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{clock: c, closes: closes, interval: interval, log: log}
}

// Run ticks until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("month close scheduler failed", "err", err)
			}
		}
	}
}

// Tick starts the previous month's close when it has none.
func (s *Scheduler) Tick(ctx context.Context) error {
	month, err := clock.PreviousMonth(clock.MonthOf(s.clock.Now()))
	if err != nil {
		return err
	}
	_, err = s.closes.Get(ctx, month)
	if !errors.Is(err, monthclose.ErrNotFound) {
		return err // nil: it exists
	}
	_, outcome, err := s.closes.Start(ctx, month)
	var invalid *validation.Error
	if errors.As(err, &invalid) {
		// The month is before the platform's first buyer or centre: nothing to close.
		s.log.Debug("month close not started", "month", month, "reason", err.Error())
		return nil
	}
	if err != nil {
		return err
	}
	if outcome == monthclose.Started {
		s.log.Info("month close started by the scheduler", "month", month)
	}
	return nil
}
