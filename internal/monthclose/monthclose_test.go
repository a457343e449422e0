package monthclose_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/monthclose"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
	"github.com/vhupay/vhupay/internal/txn"
	"github.com/vhupay/vhupay/internal/validation"
)

func TestMain(m *testing.M) { storagetest.Main(m) }

// now is in December 2026 (Paris): November has ended, December has not.
var now = time.Date(2026, 12, 1, 0, 30, 0, 0, clock.Paris())

// queue counts enqueued jobs instead of running them.
type queue struct {
	mu   sync.Mutex
	jobs map[string]int
}

// closeJob is the job the fake queue gives; the units of work enqueue it with EnqueueTx.
type closeJob struct{ month string }

func (closeJob) Kind() string { return "month_close" }

func (q *queue) Job(month string) txn.Job { return closeJob{month: month} }

// EnqueueTx implements storage.Enqueuer: a job enqueued by a unit of work.
func (q *queue) EnqueueTx(_ context.Context, tx *sql.Tx, job txn.Job) error {
	if tx == nil {
		return errors.New("no transaction")
	}
	return q.Enqueue(context.Background(), job.(closeJob).month)
}

func (q *queue) Enqueue(_ context.Context, month string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.jobs == nil {
		q.jobs = map[string]int{}
	}
	q.jobs[month]++
	return nil
}

// recorder makes steps that record their runs.
type recorder struct {
	mu   sync.Mutex
	runs []string
}

func (r *recorder) step(name string, run func(ctx context.Context, n int, p monthclose.Progress) (int, error)) monthclose.Step {
	return monthclose.StepFunc(name, func(ctx context.Context, month string, p monthclose.Progress) (int, error) {
		r.mu.Lock()
		r.runs = append(r.runs, name)
		n := 0
		for _, x := range r.runs {
			if x == name {
				n++
			}
		}
		r.mu.Unlock()
		return run(ctx, n, p)
	})
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.runs...)
}

func counting(count int) func(context.Context, int, monthclose.Progress) (int, error) {
	return func(context.Context, int, monthclose.Progress) (int, error) { return count, nil }
}

type fixture struct {
	store   storage.MonthCloses
	clock   *clock.Manual
	queue   *queue
	service *monthclose.Service
}

func newFixture(t *testing.T, b storagetest.Backend) fixture {
	db := storagetest.Open(t, b)
	f := fixture{store: storage.NewMonthCloses(db), clock: clock.NewManual(now), queue: &queue{}}
	db.SetEnqueuer(f.queue)
	f.service = monthclose.NewService(f.store, f.queue, f.clock, nil)
	return f
}

func (f fixture) engine(t *testing.T, steps ...monthclose.Step) *monthclose.Engine {
	t.Helper()
	e, err := monthclose.NewEngine(f.store, monthclose.EngineConfig{Steps: steps, Clock: f.clock, Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestStart(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := newFixture(t, b)
		ctx := context.Background()
		c, outcome, err := f.service.Start(ctx, "2026-11")
		if err != nil || outcome != monthclose.Started {
			t.Fatalf("Start = %v, %v", outcome, err)
		}
		want := monthclose.MonthClose{Month: "2026-11", Status: monthclose.StatusRunning, StartedAt: now.UTC()}
		if diff := cmp.Diff(want, c); diff != "" {
			t.Errorf("close (-want +got):\n%s", diff)
		}
		again, outcome, err := f.service.Start(ctx, "2026-11")
		if err != nil || outcome != monthclose.Existing || !again.StartedAt.Equal(c.StartedAt) {
			t.Fatalf("second Start = %+v, %v, %v; want the same close, Existing", again, outcome, err)
		}
		if f.queue.jobs["2026-11"] != 2 { // the running close's job is enqueued again (a no-op for a live job)
			t.Errorf("jobs enqueued = %d, want 2", f.queue.jobs["2026-11"])
		}

		if _, _, err := f.service.Start(ctx, "2026-12"); !errors.Is(err, monthclose.ErrMonthNotEnded) {
			t.Errorf("Start(current month) err = %v, want ErrMonthNotEnded", err)
		}
		for _, bad := range []string{"", "2026-13", "2026-1", "november"} {
			_, _, err := f.service.Start(ctx, bad)
			var ve *validation.Error
			if !errors.As(err, &ve) || ve.Fields[0].Field != "month" {
				t.Errorf("Start(%q) err = %v, want a validation error on month", bad, err)
			}
		}
		if _, err := f.service.Get(ctx, "2026-10"); !errors.Is(err, monthclose.ErrNotFound) {
			t.Errorf("Get(never started) err = %v, want ErrNotFound", err)
		}
		if _, err := f.service.Get(ctx, "bad"); !errors.Is(err, monthclose.ErrNotFound) {
			t.Errorf("Get(bad) err = %v, want ErrNotFound", err)
		}
	})
}

func TestStartConcurrently(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := newFixture(t, b)
		const callers = 8
		outcomes := make(chan monthclose.Outcome, callers)
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				_, outcome, err := f.service.Start(context.Background(), "2026-11")
				if err != nil {
					t.Error(err)
				}
				outcomes <- outcome
			})
		}
		wg.Wait()
		close(outcomes)
		started := 0
		for o := range outcomes {
			if o == monthclose.Started {
				started++
			}
		}
		if started != 1 {
			t.Errorf("%d callers started the close, want 1", started)
		}
	})
}

func TestRunStepsInOrderOnce(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := newFixture(t, b)
		ctx := context.Background()
		r := &recorder{}
		e := f.engine(t,
			r.step(monthclose.StepRefreshScores, counting(4)), r.step(monthclose.StepCollections, counting(3)),
			r.step(monthclose.StepStatements, counting(2)), r.step(monthclose.StepCeilingReviews, counting(1)),
			r.step("extra", counting(9)))
		if _, _, err := f.service.Start(ctx, "2026-11"); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Minute)
		c, err := e.Run(ctx, "2026-11")
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != monthclose.StatusCompleted || c.FinishedAt == nil || !c.FinishedAt.Equal(now.Add(time.Minute)) {
			t.Errorf("close = %+v, want completed at %s", c, now.Add(time.Minute))
		}
		got := [4]int{c.ScoreChecks, c.Collections, c.Statements, c.CeilingReviews}
		if got != [4]int{4, 3, 2, 1} {
			t.Errorf("counters = %v, want [4 3 2 1]", got)
		}
		wantRuns := []string{"refresh_scores", "collections", "statements", "ceiling_reviews", "extra"}
		if diff := cmp.Diff(wantRuns, r.all()); diff != "" {
			t.Errorf("runs (-want +got):\n%s", diff)
		}
		// Running a completed close again does nothing.
		if c, err := e.Run(ctx, "2026-11"); err != nil || c.Status != monthclose.StatusCompleted {
			t.Fatalf("second Run = %+v, %v", c, err)
		}
		if len(r.all()) != len(wantRuns) {
			t.Errorf("a completed close ran steps again: %v", r.all())
		}
		if _, err := e.Run(ctx, "2026-10"); !errors.Is(err, monthclose.ErrNotFound) {
			t.Errorf("Run(no close) err = %v, want ErrNotFound", err)
		}
	})
}

func TestRunResumesAfterAStepFails(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := newFixture(t, b)
		ctx := context.Background()
		r := &recorder{}
		outage := errors.New("provider unavailable")
		e := f.engine(t,
			r.step(monthclose.StepRefreshScores, counting(2)),
			r.step(monthclose.StepCollections, func(ctx context.Context, n int, p monthclose.Progress) (int, error) {
				if n == 1 { // half done, then the provider goes down
					if err := p.Save(ctx, "byr_2"); err != nil {
						return 0, err
					}
					return 0, outage
				}
				if p.Checkpoint() != "byr_2" {
					t.Errorf("checkpoint = %q, want byr_2", p.Checkpoint())
				}
				return 5, nil
			}),
			r.step(monthclose.StepStatements, counting(0)), r.step(monthclose.StepCeilingReviews, counting(0)))
		if _, _, err := f.service.Start(ctx, "2026-11"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Run(ctx, "2026-11"); !errors.Is(err, outage) {
			t.Fatalf("Run err = %v, want the outage", err)
		}
		c, _ := f.service.Get(ctx, "2026-11")
		if c.Status != monthclose.StatusRunning || c.LastError == "" || c.ScoreChecks != 2 {
			t.Errorf("after the failed attempt: %+v, want running with its error and the scores counted", c)
		}
		c, err := e.Run(ctx, "2026-11")
		if err != nil || c.Status != monthclose.StatusCompleted || c.Collections != 5 || c.LastError != "" {
			t.Fatalf("resumed Run = %+v, %v", c, err)
		}
		want := []string{"refresh_scores", "collections", "collections", "statements", "ceiling_reviews"}
		if diff := cmp.Diff(want, r.all()); diff != "" {
			t.Errorf("runs (-want +got):\n%s", diff)
		}
		if s, _ := c.Step(monthclose.StepCollections); s.Runs != 2 || !s.Completed {
			t.Errorf("collections record = %+v, want 2 runs, completed", s)
		}
	})
}

func TestFailedCloseIsReopened(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := newFixture(t, b)
		ctx := context.Background()
		e := f.engine(t, monthclose.DefaultSteps()...)
		if _, _, err := f.service.Start(ctx, "2026-11"); err != nil {
			t.Fatal(err)
		}
		if err := e.Fail(ctx, "2026-11", errors.New("out of attempts")); err != nil {
			t.Fatal(err)
		}
		c, _ := f.service.Get(ctx, "2026-11")
		if c.Status != monthclose.StatusFailed || c.FinishedAt == nil || c.LastError != "out of attempts" {
			t.Fatalf("failed close = %+v", c)
		}
		if c, err := e.Run(ctx, "2026-11"); err != nil || c.Status != monthclose.StatusFailed {
			t.Fatalf("Run on a failed close = %+v, %v; want it left failed", c, err)
		}
		c, outcome, err := f.service.Start(ctx, "2026-11")
		if err != nil || outcome != monthclose.Resumed || c.Status != monthclose.StatusRunning || c.FinishedAt != nil {
			t.Fatalf("Start on a failed close = %+v, %v, %v; want it resumed", c, outcome, err)
		}
		if c, err := e.Run(ctx, "2026-11"); err != nil || c.Status != monthclose.StatusCompleted {
			t.Fatalf("Run = %+v, %v", c, err)
		}
		if err := e.Fail(ctx, "2026-11", errors.New("late")); err != nil {
			t.Fatal(err)
		}
		if c, _ := f.service.Get(ctx, "2026-11"); c.Status != monthclose.StatusCompleted {
			t.Errorf("Fail changed a completed close: %+v", c)
		}
	})
}

func TestLeaseFencesRuns(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := newFixture(t, b)
		ctx := context.Background()
		if _, _, err := f.service.Start(ctx, "2026-11"); err != nil {
			t.Fatal(err)
		}
		real := time.Now().UTC()
		if _, err := f.store.Claim(ctx, "2026-11", "run_a", real, real.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := f.store.StartStep(ctx, "2026-11", "run_a", "collections", now); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.Claim(ctx, "2026-11", "run_b", real, real.Add(time.Minute)); !errors.Is(err, monthclose.ErrBusy) {
			t.Fatalf("Claim while leased err = %v, want ErrBusy", err)
		}
		// The engine too refuses to run while another run holds the close.
		e := f.engine(t, monthclose.DefaultSteps()...)
		if _, err := e.Run(ctx, "2026-11"); !errors.Is(err, monthclose.ErrBusy) {
			t.Fatalf("Run while leased err = %v, want ErrBusy", err)
		}
		// run_a's lease expires (its process died); run_b takes over and run_a may write no more.
		later := real.Add(2 * time.Minute)
		if _, err := f.store.Claim(ctx, "2026-11", "run_b", later, later.Add(time.Minute)); err != nil {
			t.Fatalf("Claim after expiry: %v", err)
		}
		for name, write := range map[string]func() error{
			"StartStep":      func() error { return f.store.StartStep(ctx, "2026-11", "run_a", "collections", now) },
			"SaveCheckpoint": func() error { return f.store.SaveCheckpoint(ctx, "2026-11", "run_a", "collections", "x") },
			"CompleteStep":   func() error { return f.store.CompleteStep(ctx, "2026-11", "run_a", "collections", 1, now) },
			"Finish":         func() error { return f.store.Finish(ctx, "2026-11", "run_a", now) },
		} {
			if err := write(); !errors.Is(err, monthclose.ErrLeaseLost) {
				t.Errorf("%s by the old run err = %v, want ErrLeaseLost", name, err)
			}
		}
		if err := f.store.Release(ctx, "2026-11", "run_a"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.Claim(ctx, "2026-11", "run_c", later, later.Add(time.Minute)); !errors.Is(err, monthclose.ErrBusy) {
			t.Errorf("the old run's Release freed run_b's lease: err = %v", err)
		}
		if err := f.store.Release(ctx, "2026-11", "run_b"); err != nil {
			t.Fatal(err)
		}
		if c, err := e.Run(ctx, "2026-11"); err != nil || c.Status != monthclose.StatusCompleted {
			t.Fatalf("Run after release = %+v, %v", c, err)
		}
	})
}

func TestStepsMustHaveDistinctNames(t *testing.T) {
	store := storage.MonthCloses{}
	for name, steps := range map[string][]monthclose.Step{
		"none":      nil,
		"twice":     {monthclose.Noop("a"), monthclose.Noop("a")},
		"anonymous": {monthclose.Noop("")},
	} {
		if _, err := monthclose.NewEngine(store, monthclose.EngineConfig{Steps: steps}); err == nil {
			t.Errorf("%s: NewEngine accepted the steps", name)
		}
	}
	got := monthclose.Replace(monthclose.DefaultSteps(), monthclose.Noop("extra"), monthclose.Noop(monthclose.StepCollections))
	var names []string
	for _, s := range got {
		names = append(names, s.Name())
	}
	want := []string{"refresh_scores", "collections", "statements", "ceiling_reviews", "extra"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("Replace (-want +got):\n%s", diff)
	}
}

// TestProgressReported: a running close shows the progress its current step reports; a close
// that is not running shows none, and a run that lost its lease reports nothing.
func TestProgressReported(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := newFixture(t, b)
		ctx := context.Background()
		var during []monthclose.StepProgress
		look := func() {
			c, err := f.service.Get(ctx, "2026-11")
			if err != nil {
				t.Fatal(err)
			}
			if p, ok := c.Progress(); ok {
				during = append(during, p)
			}
		}
		e := f.engine(t,
			monthclose.StepFunc(monthclose.StepRefreshScores, func(ctx context.Context, _ string, p monthclose.Progress) (int, error) {
				look() // started, nothing reported yet
				return 0, nil
			}),
			monthclose.StepFunc(monthclose.StepCollections, func(ctx context.Context, _ string, p monthclose.Progress) (int, error) {
				for done := 0; done <= 10; done += 5 {
					if err := p.Report(ctx, done, 10); err != nil {
						return 0, err
					}
					look()
				}
				return 10, nil
			}))
		if _, _, err := f.service.Start(ctx, "2026-11"); err != nil {
			t.Fatal(err)
		}
		c, err := e.Run(ctx, "2026-11")
		if err != nil {
			t.Fatal(err)
		}
		want := []monthclose.StepProgress{{Step: "refresh_scores"}, {Step: "collections", Total: 10}, {Step: "collections", Done: 5, Total: 10},
			{Step: "collections", Done: 10, Total: 10}}
		if diff := cmp.Diff(want, during); diff != "" {
			t.Errorf("progress seen (-want +got):\n%s", diff)
		}
		if p, ok := c.Progress(); ok {
			t.Errorf("a completed close shows progress %+v", p)
		}
		if s, _ := c.Step(monthclose.StepCollections); s.Done != 10 || s.Total != 10 {
			t.Errorf("collections step record = %+v, want 10 of 10 kept", s)
		}
		if err := f.store.ReportProgress(ctx, "2026-11", "run_gone", monthclose.StepCollections, 1, 1); !errors.Is(err, monthclose.ErrLeaseLost) {
			t.Errorf("ReportProgress without the lease = %v, want ErrLeaseLost", err)
		}
	})
}

// TestTimeUpWhileProgressing: a run whose time runs out while its step reports progress ends
// with ErrTimeUp and records no error (the close goes on in a new run); a step that made no
// progress before its time ran out is an ordinary failed attempt.
func TestTimeUpWhileProgressing(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := newFixture(t, b)
		ctx := context.Background()
		progressing := true
		e := f.engine(t, monthclose.StepFunc(monthclose.StepCollections, func(ctx context.Context, _ string, p monthclose.Progress) (int, error) {
			if err := p.Report(ctx, 10, 100); err != nil {
				return 0, err
			}
			if progressing {
				if err := p.Report(ctx, 20, 100); err != nil {
					return 0, err
				}
			}
			<-ctx.Done()
			return 0, ctx.Err()
		}))
		if _, _, err := f.service.Start(ctx, "2026-11"); err != nil {
			t.Fatal(err)
		}
		run := func() error {
			// Long enough for the run's own writes (the lease, the step's reports) on a loaded
			// machine under the race detector: at 300 ms, CI once ran out of time in a report.
			short, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			_, err := e.Run(short, "2026-11")
			return err
		}
		if err := run(); !errors.Is(err, monthclose.ErrTimeUp) {
			t.Fatalf("Run = %v, want ErrTimeUp", err)
		}
		if c, _ := f.service.Get(ctx, "2026-11"); c.Status != monthclose.StatusRunning || c.LastError != "" {
			t.Errorf("after a run whose time was up: %+v, want running with no error", c)
		}
		progressing = false
		if err := run(); err == nil || errors.Is(err, monthclose.ErrTimeUp) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Run without progress = %v, want the deadline as an ordinary error", err)
		}
		if c, _ := f.service.Get(ctx, "2026-11"); c.LastError == "" {
			t.Errorf("a run that timed out without progress recorded no error: %+v", c)
		}
	})
}
