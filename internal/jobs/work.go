package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/refunds"
	"github.com/vhupay/vhupay/internal/webhooks"
)

// Queues besides River's default one (month closes and periodic work): webhook deliveries and
// provider notifications each have their own workers, so that slow receivers never hold up
// provider notifications or a month close, and they are polled often (a job inserted in a
// transaction is found at the next poll).
const (
	QueueWebhooks      = "webhooks"
	QueueNotifications = "notifications"
	fastPoll           = 200 * time.Millisecond
	// webhookWorkers bounds the webhook jobs a process runs at once: fan-outs (database work)
	// and delivery attempts (mostly waiting for receivers, up to DefaultTimeout each). A fetch
	// takes at most this many jobs, so it also bounds the queue's throughput: 10 gave ≈ 130
	// deliveries/s on 2 cores (cmd/vhupay-bench-webhooks).
	webhookWorkers = 50
)

// Work is the background work the queue runs besides month closes. Nil fields are not run.
type Work struct {
	// Notifications applies kept provider notifications (payments.NotificationJob).
	Notifications interface {
		ApplyKept(ctx context.Context, id string) error
	}
	// Webhooks fans events out to endpoints and delivers them (webhooks.FanoutJob, DeliverJob).
	Webhooks interface {
		Fanout(ctx context.Context, eventIDs ...string) error
		Attempt(ctx context.Context, deliveryID string) (time.Duration, error)
	}
	// Refunds retries refunds of pay-ins no order keeps (payments.RefundJob).
	Refunds interface {
		RetryRefund(ctx context.Context, intentID string) error
	}
	// RefundSteps carries pending refunds to their end (refunds.AdvanceJob).
	RefundSteps interface {
		Advance(ctx context.Context, refundID string) error
		NextStep(ctx context.Context, refundID string, minWait, maxWait time.Duration) (time.Duration, bool, error)
	}
	// Periodic is the work run every so often, once across processes (by the process that leads
	// River's maintenance), e.g. expiring intents, purging events.
	Periodic []Periodic
}

// Periodic is work run every Every, once across processes.
type Periodic struct {
	Name  string
	Every time.Duration
	Run   func(ctx context.Context) error
}

// PeriodicArgs are the arguments of a periodic job.
type PeriodicArgs struct {
	Name string `json:"name"`
}

// Kind implements river.JobArgs.
func (PeriodicArgs) Kind() string { return "periodic" }

// insertOpts are the options of each kind of job (River's defaults for the others).
var insertOpts = map[string]*river.InsertOpts{
	webhooks.FanoutJob{}.Kind():       {Queue: QueueWebhooks, MaxAttempts: 25},
	webhooks.DeliverJob{}.Kind():      {Queue: QueueWebhooks, MaxAttempts: 1000}, // a failed attempt snoozes; only storage errors count
	payments.NotificationJob{}.Kind(): {Queue: QueueNotifications, MaxAttempts: 25},
	payments.RefundJob{}.Kind():       {MaxAttempts: 25, UniqueOpts: uniqueWhileAlive},
	refunds.AdvanceJob{}.Kind():       {MaxAttempts: 25, UniqueOpts: uniqueWhileAlive},
	PeriodicArgs{}.Kind():             {MaxAttempts: 3, UniqueOpts: uniqueWhileAlive},
}

func optsFor(kind string) *river.InsertOpts {
	if o := insertOpts[kind]; o != nil {
		c := *o
		return &c
	}
	return nil
}

// register adds w's workers and periodic jobs to River's configuration.
func register(workers *river.Workers, rc *river.Config, w Work, refundFirstWait time.Duration, log *slog.Logger) {
	rc.Queues[QueueWebhooks] = river.QueueConfig{MaxWorkers: webhookWorkers, FetchPollInterval: fastPoll, FetchCooldown: 50 * time.Millisecond}
	rc.Queues[QueueNotifications] = river.QueueConfig{MaxWorkers: 8, FetchPollInterval: fastPoll, FetchCooldown: 50 * time.Millisecond}
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[payments.NotificationJob]) error {
		if w.Notifications == nil {
			return river.JobCancel(fmt.Errorf("no notification handler"))
		}
		err := w.Notifications.ApplyKept(ctx, job.Args.ID)
		if err != nil {
			log.Warn("provider notification not applied yet", "attempt", job.Attempt, "err", err)
		}
		return err
	}))
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[webhooks.FanoutJob]) error {
		if w.Webhooks == nil {
			return nil
		}
		return w.Webhooks.Fanout(ctx, job.Args.Events()...) // idempotent: deliveries are unique per endpoint and event
	}))
	river.AddWorker(workers, &deliveryWorker{w: w})
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[payments.RefundJob]) error {
		if w.Refunds == nil {
			return river.JobCancel(fmt.Errorf("no refund handler"))
		}
		err := w.Refunds.RetryRefund(ctx, job.Args.IntentID)
		if err != nil {
			log.Warn("refund not made yet", "intent_id", job.Args.IntentID, "attempt", job.Attempt, "err", err)
		}
		return err
	}))
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[refunds.AdvanceJob]) error {
		if w.RefundSteps == nil {
			return river.JobCancel(fmt.Errorf("no refund handler"))
		}
		if job.Attempt == 1 && time.Since(job.CreatedAt) < refundFirstWait {
			// The request that recorded the refund makes its steps first.
			return river.JobSnooze(refundFirstWait)
		}
		if err := w.RefundSteps.Advance(ctx, job.Args.RefundID); err != nil {
			log.Warn("refund not advanced yet", "refund_id", job.Args.RefundID, "attempt", job.Attempt, "err", err)
			return err
		}
		wait, done, err := w.RefundSteps.NextStep(ctx, job.Args.RefundID, 10*time.Second, time.Hour)
		if err != nil || done {
			return err
		}
		return river.JobSnooze(wait)
	}))
	byName := map[string]Periodic{}
	for _, p := range w.Periodic {
		byName[p.Name] = p
		name := p.Name
		rc.PeriodicJobs = append(rc.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(p.Every),
			func() (river.JobArgs, *river.InsertOpts) {
				return PeriodicArgs{Name: name}, optsFor(PeriodicArgs{}.Kind())
			},
			&river.PeriodicJobOpts{ID: name}))
	}
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[PeriodicArgs]) error {
		p, ok := byName[job.Args.Name]
		if !ok {
			return river.JobCancel(fmt.Errorf("unknown periodic job %q", job.Args.Name))
		}
		if err := p.Run(ctx); err != nil {
			log.Error(p.Name+" failed", "err", err)
			return err
		}
		return nil
	}))
}

// deliveryWorker makes a webhook delivery's attempts: after a failed one, the job sleeps until
// the next (River's snooze: it does not count as a failed job).
type deliveryWorker struct {
	river.WorkerDefaults[webhooks.DeliverJob]
	w Work
}

func (d *deliveryWorker) Timeout(*river.Job[webhooks.DeliverJob]) time.Duration {
	return webhooks.DefaultTimeout + 5*time.Second // within the lease an attempt holds (timeout + 10 s)
}

func (d *deliveryWorker) Work(ctx context.Context, job *river.Job[webhooks.DeliverJob]) error {
	if d.w.Webhooks == nil {
		return nil
	}
	next, err := d.w.Webhooks.Attempt(ctx, job.Args.DeliveryID)
	if err != nil {
		return err
	}
	if next > 0 {
		return river.JobSnooze(next)
	}
	return nil
}

// ScheduleRefund implements payments.RefundQueue: the job first runs Config.RefundRetryDelay
// later (the refund is tried at once by the caller; the job only finds it recorded, unless it
// failed).
func (q *Queue) ScheduleRefund(ctx context.Context, intentID string) error {
	opts := optsFor(payments.RefundJob{}.Kind())
	opts.ScheduledAt = time.Now().Add(q.cfg.RefundRetryDelay)
	if _, err := q.client.Insert(ctx, payments.RefundJob{IntentID: intentID}, opts); err != nil {
		return fmt.Errorf("schedule refund of %s: %w", intentID, err)
	}
	return nil
}
