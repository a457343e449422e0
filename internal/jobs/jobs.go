// Package jobs is vhupay's background job queue, on River, and the scheduler that starts month
// closes when the clock (the sandbox test clock in sandbox mode) enters a new month.
//
// One code path on both databases: River's database/sql drivers (riverdatabasesql on PostgreSQL,
// riversqlite on SQLite) work on *sql.Tx, and jobs are enqueued inside the storage transaction
// that writes the rows they work on (EnqueueTx), so a job exists exactly when its rows do. On
// PostgreSQL River shares the storage pool; on SQLite it gets its own single-connection pool on
// the same file, as its driver wants.
//
// Jobs are polled (no LISTEN/NOTIFY through database/sql): a new job starts within
// Config.PollInterval. A job running when its process stops is handed back at once (soft stop,
// then cancellation after Config.SoftStopTimeout); a job whose process died is rescued after
// Config.RescueAfter by whichever process leads River's maintenance.
package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/vhupay/vhupay/internal/monthclose"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/txn"
)

// Defaults of Config.
const (
	DefaultPollInterval       = 2 * time.Second
	DefaultMonthCloseTimeout  = 90 * time.Second
	DefaultRescueAfter        = 2 * time.Minute
	DefaultMonthCloseAttempts = 12
	DefaultSoftStopTimeout    = 10 * time.Second
)

// Config tunes the queue. Zero fields take the defaults.
type Config struct {
	// PollInterval is how often each process looks for available jobs.
	PollInterval time.Duration
	// MonthCloseTimeout bounds one attempt of a month close; the attempt's context ends then and
	// the close resumes at the next attempt.
	MonthCloseTimeout time.Duration
	// RescueAfter is how long a job may stay running before River considers its process dead
	// and retries it. It must exceed MonthCloseTimeout.
	RescueAfter time.Duration
	// MonthCloseAttempts is how many attempts a close gets before it is marked failed (with
	// River's default backoff, 12 attempts span about 11 hours).
	MonthCloseAttempts int
	// RetryDelay is the wait before the next attempt after attempt n (1, 2, ...) failed; nil
	// means River's default (n⁴ seconds).
	RetryDelay func(attempt int) time.Duration
	// SoftStopTimeout is how long a stopping process lets running jobs finish before it cancels
	// them (they are then handed back to the queue).
	SoftStopTimeout time.Duration
	// RefundRetryDelay is how long after a refund is decided its retry job first runs, and how
	// long a refund's AdvanceJob leaves it to the request that recorded it (default a minute: the
	// refund is tried at once, the job is the safety net).
	RefundRetryDelay time.Duration
}

func (c Config) withDefaults() (Config, error) {
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.MonthCloseTimeout <= 0 {
		c.MonthCloseTimeout = DefaultMonthCloseTimeout
	}
	if c.RescueAfter <= 0 {
		c.RescueAfter = max(DefaultRescueAfter, c.MonthCloseTimeout+30*time.Second)
	}
	if c.MonthCloseAttempts <= 0 {
		c.MonthCloseAttempts = DefaultMonthCloseAttempts
	}
	if c.SoftStopTimeout <= 0 {
		c.SoftStopTimeout = DefaultSoftStopTimeout
	}
	if c.RefundRetryDelay <= 0 {
		c.RefundRetryDelay = time.Minute
	}
	if c.RescueAfter <= c.MonthCloseTimeout {
		return c, fmt.Errorf("jobs: the rescue delay (%s) must exceed the month close timeout (%s)", c.RescueAfter, c.MonthCloseTimeout)
	}
	return c, nil
}

// Lease is how long a month close run may hold its close: past its timeout, before the rescuer
// hands its job to another process.
func (c Config) Lease() time.Duration {
	c, _ = c.withDefaults()
	return c.MonthCloseTimeout + (c.RescueAfter-c.MonthCloseTimeout)/2
}

// Queue is the job queue of one process.
type Queue struct {
	client *river.Client[*sql.Tx]
	cfg    Config
	own    *sql.DB // SQLite: River's own pool, closed by Close
	engine *monthclose.Engine
	log    *slog.Logger
	outbox outboxDispatcher
}

var _ monthclose.Queue = (*Queue)(nil)

// New builds the queue (not started: see Run) with the month close worker running engine and
// the workers of w. databaseURL is the one db was opened with.
func New(db *storage.DB, databaseURL string, cfg Config, engine *monthclose.Engine, w Work, log *slog.Logger) (*Queue, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	driver, own, err := driverFor(db, databaseURL)
	if err != nil {
		return nil, err
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &monthCloseWorker{engine: engine, timeout: cfg.MonthCloseTimeout, log: log})
	rc := &river.Config{
		Logger:               slog.New(warnOnly{log.Handler().WithAttrs([]slog.Attr{slog.String("component", "river")})}),
		FetchPollInterval:    cfg.PollInterval,
		FetchCooldown:        min(100*time.Millisecond, cfg.PollInterval),
		JobTimeout:           cfg.MonthCloseTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
		MaxAttempts:          cfg.MonthCloseAttempts,
		SoftStopTimeout:      cfg.SoftStopTimeout,
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}},
		Workers:              workers,
	}
	register(workers, rc, w, cfg.RefundRetryDelay, log)
	if cfg.RetryDelay != nil {
		rc.RetryPolicy = retryPolicy{delay: cfg.RetryDelay}
	}
	client, err := river.NewClient(driver, rc)
	if err != nil {
		closeOwn(own)
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &Queue{client: client, cfg: cfg, own: own, engine: engine, log: log, outbox: outboxDispatcher{db: db, log: log}}, nil
}

// driverFor returns River's driver on db, and the pool it opened for it (SQLite only).
func driverFor(db *storage.DB, databaseURL string) (riverdriver.Driver[*sql.Tx], *sql.DB, error) {
	if db.Dialect() != storage.SQLite {
		return riverdatabasesql.New(db.SQL()), nil, nil
	}
	own, err := storage.OpenJobsDB(databaseURL)
	if err != nil {
		return nil, nil, err
	}
	return riversqlite.New(own), own, nil
}

func closeOwn(own *sql.DB) {
	if own != nil {
		_ = own.Close()
	}
}

// Migrate applies River's own migrations (its tables: river_job, river_leader, ...). Processes
// starting together on PostgreSQL take turns through an advisory lock.
func Migrate(ctx context.Context, db *storage.DB, databaseURL string, log *slog.Logger) error {
	driver, own, err := driverFor(db, databaseURL)
	if err != nil {
		return err
	}
	defer closeOwn(own)
	if db.Dialect() == storage.Postgres {
		conn, err := db.SQL().Conn(ctx)
		if err != nil {
			return fmt.Errorf("migrate job queue: %w", err)
		}
		defer conn.Close()
		const key = 7_306_300 // vhupay's job queue migrations
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
			return fmt.Errorf("migrate job queue: %w", err)
		}
		defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key) }()
	}
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: slog.New(warnOnly{log.Handler()})})
	if err != nil {
		return fmt.Errorf("migrate job queue: %w", err)
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("migrate job queue: %w", err)
	}
	for _, v := range res.Versions {
		log.Info("job queue migration applied", "version", v.Version, "name", v.Name, "duration_ms", v.Duration.Milliseconds())
	}
	return nil
}

// Run works jobs, and dispatches the event outbox (see outboxDispatcher), until ctx ends, then
// stops gracefully: it stops fetching, lets running jobs finish for Config.SoftStopTimeout, then
// cancels them (they go back to the queue) and returns once River and the dispatcher have
// stopped. It marks a close failed once River has discarded its job (the last
// attempt failed): only then, so that re-opening the close can enqueue a new job at once.
func (q *Queue) Run(ctx context.Context) error {
	failed, unsubscribe := q.client.Subscribe(river.EventKindJobFailed)
	defer unsubscribe()
	if err := q.client.Start(ctx); err != nil {
		return fmt.Errorf("start job queue: %w", err)
	}
	dctx, stopDispatch := context.WithCancel(ctx)
	dispatched := make(chan struct{})
	go func() {
		defer close(dispatched)
		q.outbox.run(dctx)
	}()
	defer func() { stopDispatch(); <-dispatched }()
	stopped := q.client.Stopped()
	for {
		select {
		case <-stopped:
			return nil
		case ev, ok := <-failed:
			if !ok { // River closes subscriptions as it stops
				failed = nil
				continue
			}
			q.jobFailed(context.WithoutCancel(ctx), ev.Job)
		}
	}
}

// jobFailed marks a month close failed when its job has been discarded.
func (q *Queue) jobFailed(ctx context.Context, job *rivertype.JobRow) {
	if job == nil || job.Kind != (MonthCloseArgs{}).Kind() || job.State != rivertype.JobStateDiscarded {
		return
	}
	var args MonthCloseArgs
	if err := json.Unmarshal(job.EncodedArgs, &args); err != nil {
		q.log.Error("month close job: bad arguments", "job_id", job.ID, "err", err)
		return
	}
	cause := errors.New("the job ran out of attempts")
	if n := len(job.Errors); n > 0 {
		cause = errors.New(job.Errors[n-1].Error)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := q.engine.Fail(ctx, args.Month, cause); err != nil {
		q.log.Error("month close: mark failed", "month", args.Month, "err", err)
	}
}

// Close releases the queue's own database pool (SQLite). Call it after Run has returned.
func (q *Queue) Close() error {
	if q.own != nil {
		return q.own.Close()
	}
	return nil
}

// MonthCloseArgs are the arguments of the job that runs a month's close.
type MonthCloseArgs struct {
	Month string `json:"month"`
}

// Kind implements river.JobArgs.
func (MonthCloseArgs) Kind() string { return "month_close" }

// uniqueWhileAlive: one job per month among the jobs still to run. A completed or discarded
// job does not block a new one (a failed close re-opened by an operator gets a new job).
var uniqueWhileAlive = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}}

func (q *Queue) monthCloseOpts() *river.InsertOpts {
	return &river.InsertOpts{MaxAttempts: q.cfg.MonthCloseAttempts, UniqueOpts: uniqueWhileAlive}
}

// monthCloseJob is MonthCloseArgs with the queue's options for it, to enqueue in a unit of work
// (its JSON is MonthCloseArgs's: the options are not part of the job's arguments).
type monthCloseJob struct {
	MonthCloseArgs
	opts river.InsertOpts
}

// InsertOpts implements river.JobArgsWithInsertOpts.
func (j monthCloseJob) InsertOpts() river.InsertOpts { return j.opts }

// Job implements monthclose.Queue.
func (q *Queue) Job(month string) txn.Job {
	return monthCloseJob{MonthCloseArgs: MonthCloseArgs{Month: month}, opts: *q.monthCloseOpts()}
}

// Enqueue implements monthclose.Queue.
func (q *Queue) Enqueue(ctx context.Context, month string) error {
	if _, err := q.client.Insert(ctx, MonthCloseArgs{Month: month}, q.monthCloseOpts()); err != nil {
		return fmt.Errorf("enqueue month close %s: %w", month, err)
	}
	return nil
}

// busyWait is how long a close's job waits when another run holds the close.
const busyWait = 5 * time.Second

// monthCloseWorker runs a close's job: the engine takes the close to its end, or fails the
// attempt (River retries it with backoff; after the last attempt Run marks the close failed).
type monthCloseWorker struct {
	river.WorkerDefaults[MonthCloseArgs]
	engine  *monthclose.Engine
	timeout time.Duration
	log     *slog.Logger
}

func (w *monthCloseWorker) Timeout(*river.Job[MonthCloseArgs]) time.Duration { return w.timeout }

func (w *monthCloseWorker) Work(ctx context.Context, job *river.Job[MonthCloseArgs]) error {
	month := job.Args.Month
	_, err := w.engine.Run(ctx, month)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, monthclose.ErrNotFound):
		return river.JobCancel(err)
	case errors.Is(err, monthclose.ErrBusy):
		return river.JobSnooze(busyWait) // does not count as an attempt
	case errors.Is(err, monthclose.ErrTimeUp):
		return river.JobSnooze(time.Second) // a long step at the provider's pace: not an attempt either
	case errors.Is(ctx.Err(), context.Canceled):
		return err // this process stops: River hands the job back without spending the attempt
	}
	w.log.Warn("month close attempt failed", "month", month, "attempt", job.Attempt, "max_attempts", job.MaxAttempts, "err", err)
	return err
}

// retryPolicy waits delay(n) after the n-th failed attempt.
type retryPolicy struct {
	delay func(attempt int) time.Duration
}

func (p retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().UTC().Add(p.delay(len(job.Errors) + 1))
}

// warnOnly passes on records at warning level and above (River is chatty at info).
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h warnOnly) WithAttrs(attrs []slog.Attr) slog.Handler {
	return warnOnly{h.Handler.WithAttrs(attrs)}
}

func (h warnOnly) WithGroup(name string) slog.Handler { return warnOnly{h.Handler.WithGroup(name)} }

// Job is what the queue knows of one job of a month's close, for operators.
type Job struct {
	ID int64
	// State is River's: available, running, retryable (waiting for its next attempt at
	// ScheduledAt), completed, discarded (out of attempts), cancelled, ...
	State       string
	Attempt     int
	MaxAttempts int
	ScheduledAt time.Time
	// LastError is the error of its latest failed attempt ("" when none).
	LastError string
}

// MonthCloseJobs lists the jobs of month's close, oldest first (completed and discarded jobs are
// kept for a day, then cleaned up).
func (q *Queue) MonthCloseJobs(ctx context.Context, month string) ([]Job, error) {
	var out []Job
	params := river.NewJobListParams().Kinds(MonthCloseArgs{}.Kind()).First(1000)
	for {
		res, err := q.client.JobList(ctx, params)
		if err != nil {
			return nil, fmt.Errorf("list month close jobs: %w", err)
		}
		for _, j := range res.Jobs {
			var args MonthCloseArgs
			if err := json.Unmarshal(j.EncodedArgs, &args); err != nil || args.Month != month {
				continue
			}
			job := Job{ID: j.ID, State: string(j.State), Attempt: j.Attempt, MaxAttempts: j.MaxAttempts, ScheduledAt: j.ScheduledAt.UTC()}
			if n := len(j.Errors); n > 0 {
				job.LastError = j.Errors[n-1].Error
			}
			out = append(out, job)
		}
		if len(res.Jobs) < 1000 {
			return out, nil
		}
		params = params.After(res.LastCursor)
	}
}

// txEnqueuer inserts any job inside a storage transaction (storage.Enqueuer), for units of work.
type txEnqueuer struct{ q *Queue }

// EnqueueTx implements storage.Enqueuer. A job type may set its own options (River's
// JobArgsWithInsertOpts).
func (e txEnqueuer) EnqueueTx(ctx context.Context, tx *sql.Tx, job txn.Job) error {
	if _, err := e.q.client.InsertTx(ctx, tx, job, optsFor(job.Kind())); err != nil {
		return fmt.Errorf("enqueue %s: %w", job.Kind(), err)
	}
	return nil
}

// EnqueueManyTx implements storage.ManyEnqueuer: the jobs in one insert.
func (e txEnqueuer) EnqueueManyTx(ctx context.Context, tx *sql.Tx, jobs []txn.Job) error {
	params := make([]river.InsertManyParams, len(jobs))
	for i, job := range jobs {
		params[i] = river.InsertManyParams{Args: job, InsertOpts: optsFor(job.Kind())}
	}
	if _, err := e.q.client.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("enqueue %d jobs: %w", len(jobs), err)
	}
	return nil
}

// TxEnqueuer is what units of work enqueue their jobs with (see storage.DB.SetEnqueuer).
func (q *Queue) TxEnqueuer() storage.Enqueuer { return txEnqueuer{q: q} }
