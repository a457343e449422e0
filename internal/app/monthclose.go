package app

import (
	"context"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/config"
	"github.com/vhupay/vhupay/internal/jobs"
	"github.com/vhupay/vhupay/internal/monthclose"
	"github.com/vhupay/vhupay/internal/storage"
)

// monthCloseSteps are the month close's steps in their order. A capability plugs its step in by
// replacing the placeholder of its name here (monthclose.StepFunc(name, fn) or a Step type).
func (a *App) monthCloseSteps() []monthclose.Step {
	return []monthclose.Step{
		monthclose.StepFunc(monthclose.StepRefreshScores, func(ctx context.Context, month string, p monthclose.Progress) (int, error) {
			return a.Collections.RefreshScores(ctx, month, p) // every SEPA buyer's score
		}),
		monthclose.StepFunc(monthclose.StepCollections, func(ctx context.Context, month string, p monthclose.Progress) (int, error) {
			return a.Collections.CollectMonth(ctx, month, p) // one collection per buyer with SEPA payments
		}),
		monthclose.StepFunc(monthclose.StepStatements, a.issueStatements), // invoicing: issue the month's statements
		monthclose.StepFunc(monthclose.StepCeilingReviews, func(ctx context.Context, month string, p monthclose.Progress) (int, error) {
			return a.Collections.ReviewCeilings(ctx, month, p) // DOMAIN.md's ceiling review
		}),
	}
}

// issueStatements is the statements step: invoicing.Service.IssueMonth is set-based and
// idempotent and counts the month's issued statements, so it needs no checkpoint.
func (a *App) issueStatements(ctx context.Context, month string, _ monthclose.Progress) (int, error) {
	return a.Invoicing.IssueMonth(ctx, month)
}

// buildMonthClose wires the month close: its engine, the job queue that runs it, the service the
// API and the CLI call, and the scheduler.
func (a *App) buildMonthClose(cfg config.Config, opts Options) error {
	jc := opts.Jobs
	if jc.MonthCloseTimeout == 0 {
		jc.MonthCloseTimeout = cfg.MonthCloseTimeout
	}
	if jc.RescueAfter == 0 {
		jc.RescueAfter = cfg.JobRescueAfter
	}
	store := storage.NewMonthCloses(a.DB)
	engine, err := monthclose.NewEngine(store, monthclose.EngineConfig{
		Steps: pacedSteps(monthclose.Replace(a.monthCloseSteps(), opts.MonthCloseSteps...)),
		Clock: a.Clock, LeaseClock: clock.Real{}, Lease: jc.Lease(), Log: a.Log,
	})
	if err != nil {
		return err
	}
	work := jobs.Work{Notifications: a.Notifications, Webhooks: a.Webhooks, Refunds: a.Payments, RefundSteps: a.Refunds, Periodic: a.periodicWork()}
	if a.Jobs, err = jobs.New(a.DB, cfg.DatabaseURL, jc, engine, work, a.Log); err != nil {
		return err
	}
	a.DB.SetEnqueuer(a.Jobs.TxEnqueuer())
	a.MonthCloses = monthclose.NewService(store, a.Jobs, a.Clock, a.Log)
	a.scheduler = jobs.NewScheduler(a.Clock, a.MonthCloses, opts.SchedulerInterval, a.Log)
	return nil
}

// CloseMonth starts or resumes month's close and works the job queue in this process until the
// close has completed or failed, or ctx ends (the close then goes on in any other process on the
// database). report gets the close as Start left it, then every change of it. The close's job may be worked by this
// process or by another one: the guarantees are the same (see package monthclose).
//
// Errors: those of monthclose.Service.Start (a bad month, monthclose.ErrMonthNotEnded); the job
// queue failing to start; ctx's error.
func (a *App) CloseMonth(ctx context.Context, month string, report func(monthclose.MonthClose, monthclose.Outcome)) (monthclose.MonthClose, monthclose.Outcome, error) {
	c, outcome, err := a.MonthCloses.Start(ctx, month)
	if err != nil {
		return c, outcome, err
	}
	report(c, outcome)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Jobs.Run(runCtx) }()
	defer func() { stop(); <-done }()

	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for c.Status == monthclose.StatusRunning {
		select {
		case <-ctx.Done():
			return c, outcome, ctx.Err()
		case err := <-done:
			done <- err // for the deferred wait
			if err == nil {
				err = ctx.Err()
			}
			return c, outcome, err
		case <-tick.C:
		}
		next, err := a.MonthCloses.Get(ctx, month)
		if err != nil {
			return c, outcome, err
		}
		if changed(c, next) {
			report(next, outcome)
		}
		c = next
	}
	return c, outcome, nil
}

func changed(a, b monthclose.MonthClose) bool {
	if a.Status != b.Status || a.LastError != b.LastError || len(a.Steps) != len(b.Steps) {
		return true
	}
	for i := range a.Steps {
		if a.Steps[i].Completed != b.Steps[i].Completed || a.Steps[i].Runs != b.Steps[i].Runs ||
			a.Steps[i].Done != b.Steps[i].Done || a.Steps[i].Total != b.Steps[i].Total {
			return true
		}
	}
	return false
}
