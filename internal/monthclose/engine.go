package monthclose

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
)

// DefaultLease is how long a run holds a close when EngineConfig.Lease is 0.
const DefaultLease = 2 * time.Minute

// EngineConfig configures an Engine.
type EngineConfig struct {
	// Steps run in this order; names must be distinct (DefaultSteps, Replace).
	Steps []Step
	// Clock is the business clock (the sandbox test clock in sandbox mode): started_at, finished_at.
	Clock clock.Clock
	// LeaseClock measures leases; it must be real time shared by every process (default clock.Real).
	LeaseClock clock.Clock
	// Lease bounds one run: the run's context ends when its lease does, and another process may
	// take the close over after it. It must exceed the job's timeout (default DefaultLease).
	Lease time.Duration
	Log   *slog.Logger
}

// Engine runs closes: their steps in order, each to completion once.
type Engine struct {
	store Store
	steps []Step
	clock clock.Clock
	real  clock.Clock
	lease time.Duration
	log   *slog.Logger
}

// NewEngine returns an engine; it fails when the steps are empty or two share a name.
func NewEngine(store Store, cfg EngineConfig) (*Engine, error) {
	if err := validateSteps(cfg.Steps); err != nil {
		return nil, err
	}
	e := &Engine{store: store, steps: cfg.Steps, clock: cfg.Clock, real: cfg.LeaseClock, lease: cfg.Lease, log: cfg.Log}
	if e.real == nil {
		e.real = clock.Real{}
	}
	if e.lease <= 0 {
		e.lease = DefaultLease
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	return e, nil
}

// StepNames returns the names of the steps in their order.
func (e *Engine) StepNames() []string {
	names := make([]string, len(e.steps))
	for i, s := range e.steps {
		names[i] = s.Name()
	}
	return names
}

// Run takes month's close to its end: it claims the close's lease, runs in order every step that
// has not completed, and marks the close completed. It returns the close as it then stands. A
// close that is completed or failed is returned as it is, with no error (a failed close runs
// again only once Service.Start has re-opened it).
//
// Errors: ErrNotFound; ErrBusy while another run holds the lease (try later); a step's error,
// wrapped with the step's name (the completed steps stay completed); ErrLeaseLost; ctx's error.
// Run may be called again after any error: it resumes after the last completed step.
func (e *Engine) Run(ctx context.Context, month string) (MonthClose, error) {
	owner := newOwner()
	now := e.real.Now()
	until := now.Add(e.lease)
	c, err := e.store.Claim(ctx, month, owner, now, until)
	if err != nil {
		return MonthClose{}, err
	}
	if c.Status != StatusRunning {
		return withCounters(c), nil
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := e.store.Release(rctx, month, owner); err != nil {
			e.log.Warn("month close: release lease", "month", month, "err", err)
		}
	}()
	// The run never outlives its lease.
	ctx, cancel := context.WithDeadline(ctx, until)
	defer cancel()

	if err := e.runSteps(ctx, c, owner); err != nil {
		if errors.Is(err, ErrTimeUp) {
			e.log.Info("month close run: time up while progressing, continuing in a new run", "month", month, "err", err)
			return MonthClose{}, err
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if rerr := e.store.RecordError(rctx, month, err.Error()); rerr != nil {
			e.log.Warn("month close: record error", "month", month, "err", rerr)
		}
		return MonthClose{}, err
	}
	if err := e.store.Finish(ctx, month, owner, e.clock.Now()); err != nil {
		return MonthClose{}, fmt.Errorf("finish close %s: %w", month, err)
	}
	e.log.Info("month close completed", "month", month)
	done, err := e.store.MonthClose(ctx, month)
	return withCounters(done), err
}

func (e *Engine) runSteps(ctx context.Context, c MonthClose, owner string) error {
	for _, step := range e.steps {
		name := step.Name()
		rec, started := c.Step(name)
		if started && rec.Completed {
			continue
		}
		if err := e.store.StartStep(ctx, c.Month, owner, name, e.clock.Now()); err != nil {
			return fmt.Errorf("step %s: %w", name, err)
		}
		p := &progress{store: e.store, month: c.Month, owner: owner, step: name, checkpoint: rec.Checkpoint}
		count, err := step.Run(ctx, c.Month, p)
		if err != nil && p.advanced && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("step %s: %w (%d of %d done)", name, ErrTimeUp, p.done, p.total)
		}
		if err != nil {
			return fmt.Errorf("step %s: %w", name, err)
		}
		if err := ctx.Err(); err != nil { // a step that ignored the end of its context
			return fmt.Errorf("step %s: %w", name, err)
		}
		if err := e.store.CompleteStep(ctx, c.Month, owner, name, count, e.clock.Now()); err != nil {
			return fmt.Errorf("step %s: %w", name, err)
		}
		e.log.Info("month close step completed", "month", c.Month, "step", name, "count", count)
	}
	return nil
}

// Fail marks month's close failed with cause, once the job queue has given up on it. A close
// that is not running is left as it is.
func (e *Engine) Fail(ctx context.Context, month string, cause error) error {
	reason := "failed"
	if cause != nil {
		reason = cause.Error()
	}
	if err := e.store.Fail(ctx, month, reason, e.clock.Now()); err != nil {
		return fmt.Errorf("fail close %s: %w", month, err)
	}
	e.log.Error("month close failed", "month", month, "err", reason)
	return nil
}

// progress is a step's Progress, fenced by its run's lease.
type progress struct {
	store              Store
	month, owner, step string
	checkpoint         string
	// reported tells whether this run has reported; first is its first done count, and advanced
	// whether a later report counted more.
	reported, advanced bool
	first, done, total int
}

func (p *progress) Checkpoint() string { return p.checkpoint }

func (p *progress) Report(ctx context.Context, done, total int) error {
	if err := p.store.ReportProgress(ctx, p.month, p.owner, p.step, done, total); err != nil {
		return err
	}
	if !p.reported {
		p.reported, p.first = true, done
	}
	p.advanced = p.advanced || done > p.first
	p.done, p.total = done, total
	return nil
}

func (p *progress) Save(ctx context.Context, checkpoint string) error {
	if err := p.store.SaveCheckpoint(ctx, p.month, p.owner, p.step, checkpoint); err != nil {
		return err
	}
	p.checkpoint = checkpoint
	return nil
}

func newOwner() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "run_" + hex.EncodeToString(b)
}
