package httpapi_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vhupay/vhupay/internal/app"
	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/config"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/jobs"
	"github.com/vhupay/vhupay/internal/monthclose"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// probe builds month close steps that count their runs per month, shared by every app of a test.
type probe struct {
	mu   sync.Mutex
	runs map[string]int // "month/step" → runs
}

// behaviour is what a probe step does on its n-th run (1, 2, ...) for a month.
type behaviour func(ctx context.Context, n int) (int, error)

func (p *probe) step(name string, do behaviour) monthclose.Step {
	return monthclose.StepFunc(name, func(ctx context.Context, month string, _ monthclose.Progress) (int, error) {
		p.mu.Lock()
		if p.runs == nil {
			p.runs = map[string]int{}
		}
		p.runs[month+"/"+name]++
		n := p.runs[month+"/"+name]
		p.mu.Unlock()
		time.Sleep(20 * time.Millisecond) // widen the windows for races
		return do(ctx, n)
	})
}

// steps replaces the four steps; do[name] overrides a step's behaviour (default: count 1).
func (p *probe) steps(do map[string]behaviour) []monthclose.Step {
	var out []monthclose.Step
	for _, name := range []string{monthclose.StepRefreshScores, monthclose.StepCollections, monthclose.StepStatements, monthclose.StepCeilingReviews} {
		b, ok := do[name]
		if !ok {
			b = func(context.Context, int) (int, error) { return 1, nil }
		}
		out = append(out, p.step(name, b))
	}
	return out
}

func (p *probe) runsOf(month string) map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for _, name := range []string{monthclose.StepRefreshScores, monthclose.StepCollections, monthclose.StepStatements, monthclose.StepCeilingReviews} {
		out[name] = p.runs[month+"/"+name]
	}
	return out
}

func runs(scores, collections, statements, ceilings int) map[string]int {
	return map[string]int{monthclose.StepRefreshScores: scores, monthclose.StepCollections: collections,
		monthclose.StepStatements: statements, monthclose.StepCeilingReviews: ceilings}
}

// fastJobs makes the job queue and the scheduler quick for tests.
func fastJobs(steps []monthclose.Step, tune ...func(*jobs.Config)) apptest.Option {
	return apptest.WithOptions(func(o *app.Options) {
		o.MonthCloseSteps = steps
		o.SchedulerInterval = 300 * time.Millisecond
		o.Jobs = jobs.Config{
			PollInterval:    100 * time.Millisecond,
			RetryDelay:      func(int) time.Duration { return 200 * time.Millisecond },
			SoftStopTimeout: 300 * time.Millisecond,
		}
		for _, fn := range tune {
			fn(&o.Jobs)
		}
	})
}

func startClose(t *testing.T, s *apptest.Server, month string) *apptest.Response {
	t.Helper()
	return s.Do(t, apptest.Request{Method: "POST", Path: "/v1/admin/month-closes", Token: s.Token(t, auth.RoleAdmin, ""), Body: map[string]any{"month": month}})
}

func getClose(t *testing.T, s *apptest.Server, month string) *apptest.Response {
	t.Helper()
	return s.Do(t, apptest.Request{Method: "GET", Path: "/v1/admin/month-closes/" + month, Token: s.Token(t, auth.RoleAdmin, "")})
}

// waitClose polls month's close until it has status want.
func waitClose(t *testing.T, s *apptest.Server, month string, want string) httpapi.MonthClose {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var c httpapi.MonthClose
	for {
		resp := getClose(t, s, month)
		if resp.Status == 200 {
			resp.JSON(t, &c)
			if c.Status == want {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("month close %s: status %d %s after 30s, want %s", month, resp.Status, resp.Body, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitJobs waits until every job of month's close has completed (River records it just after
// the close's own completion) and returns them.
func waitJobs(t *testing.T, s *apptest.Server, month string) []jobs.Job {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := s.App.Jobs.MonthCloseJobs(context.Background(), month)
		if err != nil {
			t.Fatal(err)
		}
		done := len(list) > 0
		for _, j := range list {
			done = done && j.State == "completed"
		}
		if done {
			return list
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs of %s = %+v, want all completed", month, list)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func moveClock(t *testing.T, s *apptest.Server, to time.Time) {
	t.Helper()
	s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/clock", Token: s.Token(t, auth.RoleAdmin, ""),
		Body: map[string]any{"now": to.Format(time.RFC3339)}}).Expect(t, 200)
}

// monthsAgo is the month n months before the current one (Europe/Paris, real time): a month
// that has ended and that a close may still be started for (at most 13 months back).
func monthsAgo(n int) string {
	now := time.Now().In(clock.Paris())
	return clock.MonthOf(time.Date(now.Year(), now.Month()-time.Month(n), 1, 12, 0, 0, 0, clock.Paris()))
}

// nextMonthStart is the first instant of the month after the clock's, in Paris.
func nextMonthStart(t *testing.T, s *apptest.Server) (month string, start time.Time) {
	t.Helper()
	month = clock.MonthOf(s.App.Clock.Now())
	_, end, err := clock.MonthBounds(month)
	if err != nil {
		t.Fatal(err)
	}
	return month, end
}

func TestMonthCloseAPI(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		p := &probe{}
		counts := map[string]behaviour{
			monthclose.StepRefreshScores:  func(context.Context, int) (int, error) { return 4, nil },
			monthclose.StepCollections:    func(context.Context, int) (int, error) { return 3, nil },
			monthclose.StepStatements:     func(context.Context, int) (int, error) { return 2, nil },
			monthclose.StepCeilingReviews: func(context.Context, int) (int, error) { return 1, nil },
		}
		s := apptest.Start(t, b, fastJobs(p.steps(counts)))

		getClose(t, s, monthsAgo(2)).ExpectProblem(t, 404, "not_found")
		var first httpapi.MonthClose
		resp := startClose(t, s, monthsAgo(2)).Expect(t, 202)
		resp.JSON(t, &first)
		if first.Month != monthsAgo(2) || first.Status != "running" || first.FinishedAt != nil || first.StartedAt.IsZero() {
			t.Errorf("started close = %+v", first)
		}
		if loc := resp.Header.Get("Location"); loc != "/v1/admin/month-closes/"+monthsAgo(2) {
			t.Errorf("Location = %q", loc)
		}
		var second httpapi.MonthClose
		startClose(t, s, monthsAgo(2)).Expect(t, 200).JSON(t, &second)
		if second.Month != first.Month || !second.StartedAt.Equal(first.StartedAt) {
			t.Errorf("second answer = %+v, want the same close as %+v", second, first)
		}

		done := waitClose(t, s, monthsAgo(2), "completed")
		if done.FinishedAt == nil || done.FinishedAt.Before(done.StartedAt) {
			t.Errorf("finished_at = %v", done.FinishedAt)
		}
		got := [4]int{done.ScoreChecks, done.Collections, done.Statements, done.CeilingReviews}
		if got != [4]int{4, 3, 2, 1} {
			t.Errorf("score_checks, collections, statements, ceiling_reviews = %v, want [4 3 2 1]", got)
		}
		var third httpapi.MonthClose
		startClose(t, s, monthsAgo(2)).Expect(t, 200).JSON(t, &third)
		// Audited once: the start, not the answers about the existing close.
		if e := expectAudit(t, s, "month_close.start", monthsAgo(2), "admin", 1); string(e.Before) != "null" || !strings.Contains(string(e.After), `"status":"running"`) {
			t.Errorf("month close start entry: before %s after %s", e.Before, e.After)
		}
		if diff := cmp.Diff(done, third); diff != "" {
			t.Errorf("a completed close answered (-get +post):\n%s", diff)
		}
		if diff := cmp.Diff(runs(1, 1, 1, 1), p.runsOf(monthsAgo(2))); diff != "" {
			t.Errorf("step runs (-want +got):\n%s", diff)
		}

		current := clock.MonthOf(s.App.Clock.Now())
		startClose(t, s, current).ExpectProblem(t, 409, "month_not_ended")
		startClose(t, s, "2099-01").ExpectProblem(t, 409, "month_not_ended")
		getClose(t, s, current).ExpectProblem(t, 404, "not_found")
		for _, bad := range []string{"2025-13", "2025-1", "January", ""} {
			pr := startClose(t, s, bad).ExpectProblem(t, 422, "validation_failed")
			if len(pr.Errors) != 1 || pr.Errors[0].Field != "month" {
				t.Errorf("month %q: errors = %+v, want one on month", bad, pr.Errors)
			}
		}
		getClose(t, s, "not-a-month").ExpectProblem(t, 404, "not_found")
		for _, role := range []auth.Role{auth.RoleBuyer, auth.RoleCenter, auth.RoleService} {
			s.Do(t, apptest.Request{Method: "POST", Path: "/v1/admin/month-closes", Token: s.Token(t, role, "org_x"),
				Body: map[string]any{"month": monthsAgo(3)}}).ExpectProblem(t, 403, "forbidden")
			s.Do(t, apptest.Request{Method: "GET", Path: "/v1/admin/month-closes/" + monthsAgo(2), Token: s.Token(t, role, "org_x")}).
				ExpectProblem(t, 403, "forbidden")
		}
	})
}

func TestMonthCloseScheduledByTheClock(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		p := &probe{}
		s := apptest.Start(t, b, fastJobs(p.steps(nil)))
		month, next := nextMonthStart(t, s)
		time.Sleep(time.Second) // a few scheduler ticks in the current month: nothing to close yet
		getClose(t, s, month).ExpectProblem(t, 404, "not_found")

		moveClock(t, s, next.Add(30*time.Second)) // 00:00:30 on the 1st, Paris
		c := waitClose(t, s, month, "completed")
		if c.StartedAt.Before(next) {
			t.Errorf("started_at = %s, want after %s (the test clock)", c.StartedAt, next)
		}
		if diff := cmp.Diff(runs(1, 1, 1, 1), p.runsOf(month)); diff != "" {
			t.Errorf("step runs (-want +got):\n%s", diff)
		}
	})
}

func TestMonthCloseExactlyOnceAcrossProcesses(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		url := storagetest.URL(t, b)
		p := &probe{}
		var servers []*apptest.Server
		for range 3 {
			servers = append(servers, apptest.Start(t, b, apptest.WithDatabaseURL(url), fastJobs(p.steps(nil))))
		}
		month, next := nextMonthStart(t, servers[0])
		moveClock(t, servers[0], next.Add(time.Second))
		for _, s := range servers { // every process follows the test clock within ~1 s
			for s.App.Clock.Now().Before(next) {
				time.Sleep(50 * time.Millisecond)
			}
		}

		// Meanwhile, operators ask every process to close the month, several times at once.
		var accepted atomic.Int32
		var wg sync.WaitGroup
		for _, s := range servers {
			for range 3 {
				wg.Go(func() {
					resp := startClose(t, s, month)
					switch resp.Status {
					case 202:
						accepted.Add(1)
					case 200:
					default:
						t.Errorf("POST: status %d %s", resp.Status, resp.Body)
					}
				})
			}
		}
		wg.Wait()
		if n := accepted.Load(); n > 1 {
			t.Errorf("%d calls answered 202 (started), want at most 1", n)
		}
		c := waitClose(t, servers[2], month, "completed")
		if diff := cmp.Diff(runs(1, 1, 1, 1), p.runsOf(month)); diff != "" {
			t.Errorf("step runs (-want +got):\n%s", diff)
		}
		var one httpapi.MonthClose
		getClose(t, servers[1], month).Expect(t, 200).JSON(t, &one)
		if diff := cmp.Diff(c, one); diff != "" {
			t.Errorf("processes disagree on the close (-2 +1):\n%s", diff)
		}
		var count int
		if err := servers[0].App.DB.SQL().QueryRow("SELECT count(*) FROM month_closes WHERE month = '" + month + "'").Scan(&count); err != nil || count != 1 {
			t.Errorf("month_closes rows = %d (%v), want 1", count, err)
		}
		jobsOf := waitJobs(t, servers[0], month)
		if len(jobsOf) != 1 {
			t.Errorf("jobs = %+v, want one", jobsOf)
		}
	})
}

func TestMonthCloseRetriesAfterAnOutage(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		p := &probe{}
		s := apptest.Start(t, b, fastJobs(p.steps(map[string]behaviour{
			monthclose.StepCollections: func(_ context.Context, n int) (int, error) {
				if n == 1 {
					return 0, errors.New("payment provider unavailable")
				}
				return 7, nil
			},
		})))
		startClose(t, s, monthsAgo(4)).Expect(t, 202)
		c := waitClose(t, s, monthsAgo(4), "completed")
		if c.Collections != 7 {
			t.Errorf("collections = %d, want 7", c.Collections)
		}
		if diff := cmp.Diff(runs(1, 2, 1, 1), p.runsOf(monthsAgo(4))); diff != "" {
			t.Errorf("step runs (-want +got): the completed step must not run again\n%s", diff)
		}
		jobsOf := waitJobs(t, s, monthsAgo(4))
		if len(jobsOf) != 1 || jobsOf[0].Attempt != 2 {
			t.Errorf("jobs = %+v, want one job, completed at attempt 2", jobsOf)
		}
	})
}

func TestMonthCloseFailsThenResumes(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		p := &probe{}
		var down atomic.Bool
		down.Store(true)
		s := apptest.Start(t, b, fastJobs(p.steps(map[string]behaviour{
			monthclose.StepStatements: func(context.Context, int) (int, error) {
				if down.Load() {
					return 0, errors.New("storage of statements unavailable")
				}
				return 3, nil
			},
		}), func(c *jobs.Config) { c.MonthCloseAttempts = 2 }))
		startClose(t, s, monthsAgo(5)).Expect(t, 202)
		failed := waitClose(t, s, monthsAgo(5), "failed")
		if failed.FinishedAt == nil || failed.ScoreChecks != 1 || failed.Collections != 1 {
			t.Errorf("failed close = %+v, want finished with the completed steps counted", failed)
		}
		mc, err := s.App.MonthCloses.Get(context.Background(), monthsAgo(5))
		if err != nil || mc.LastError == "" {
			t.Errorf("last error = %q (%v), want the step's error", mc.LastError, err)
		}

		down.Store(false)
		var resumed httpapi.MonthClose
		resp := startClose(t, s, monthsAgo(5)).Expect(t, 200) // the close exists: 200, as the contract says
		resp.JSON(t, &resumed)
		if loc := resp.Header.Get("Location"); loc != "" {
			t.Errorf("Location = %q on a resumed close, want none", loc)
		}
		if resumed.Status != "running" || resumed.FinishedAt != nil {
			t.Errorf("resumed close = %+v", resumed)
		}
		c := waitClose(t, s, monthsAgo(5), "completed")
		if c.Statements != 3 {
			t.Errorf("statements = %d, want 3", c.Statements)
		}
		if diff := cmp.Diff(runs(1, 1, 3, 1), p.runsOf(monthsAgo(5))); diff != "" {
			t.Errorf("step runs (-want +got):\n%s", diff)
		}
	})
}

func TestMonthCloseResumesInAnotherProcess(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		url := storagetest.URL(t, b)
		p := &probe{}
		entered := make(chan struct{})
		steps := p.steps(map[string]behaviour{
			monthclose.StepCollections: func(ctx context.Context, n int) (int, error) {
				if n == 1 { // the process stops in the middle of this run
					close(entered)
					<-ctx.Done()
					return 0, ctx.Err()
				}
				return 2, nil
			},
		})
		first := apptest.Start(t, b, apptest.WithDatabaseURL(url), fastJobs(steps))
		startClose(t, first, monthsAgo(6)).Expect(t, 202)
		select {
		case <-entered:
		case <-time.After(30 * time.Second):
			t.Fatal("the collections step never started")
		}
		first.Stop()

		second := apptest.Start(t, b, apptest.WithDatabaseURL(url), fastJobs(steps))
		c := waitClose(t, second, monthsAgo(6), "completed")
		if c.Collections != 2 {
			t.Errorf("collections = %d, want 2", c.Collections)
		}
		if diff := cmp.Diff(runs(1, 2, 1, 1), p.runsOf(monthsAgo(6))); diff != "" {
			t.Errorf("step runs (-want +got):\n%s", diff)
		}
	})
}

func TestMonthCloseRescuedAfterAProcessDied(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		url := storagetest.URL(t, b)
		ctx := context.Background()
		month := monthsAgo(7)

		// A process starts the close, works refresh_scores and dies in the middle of collections:
		// its job stays running in River and its lease on the close stays until it expires.
		cfg, err := config.Load(func(k string) string {
			return map[string]string{"VHUPAY_DATABASE_URL": url, "VHUPAY_JWT_SECRET": apptest.Secret}[k]
		})
		if err != nil {
			t.Fatal(err)
		}
		dead, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler), app.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := dead.MonthCloses.Start(ctx, month); err != nil {
			t.Fatal(err)
		}
		store := storage.NewMonthCloses(dead.DB)
		past := time.Now().Add(-time.Hour)
		if _, err := store.Claim(ctx, month, "run_dead", past, past.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		for _, write := range []func() error{
			func() error { return store.StartStep(ctx, month, "run_dead", monthclose.StepRefreshScores, past) },
			func() error { return store.CompleteStep(ctx, month, "run_dead", monthclose.StepRefreshScores, 5, past) },
			func() error { return store.StartStep(ctx, month, "run_dead", monthclose.StepCollections, past) },
		} {
			if err := write(); err != nil {
				t.Fatal(err)
			}
		}
		running := `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now() - interval '1 hour' WHERE kind = 'month_close'`
		if b == storagetest.SQLite {
			running = `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 hour') WHERE kind = 'month_close'`
		}
		if _, err := dead.DB.SQL().ExecContext(ctx, running); err != nil {
			t.Fatal(err)
		}
		_ = dead.Close()

		// Another process starts: River's rescuer hands the stuck job back and the close resumes.
		p := &probe{}
		s := apptest.Start(t, b, apptest.WithDatabaseURL(url), fastJobs(p.steps(nil), func(c *jobs.Config) {
			c.MonthCloseTimeout, c.RescueAfter = 2*time.Second, 3*time.Second
		}))
		c := waitClose(t, s, month, "completed")
		if c.ScoreChecks != 5 {
			t.Errorf("score_checks = %d, want 5 (the dead process's completed step)", c.ScoreChecks)
		}
		if diff := cmp.Diff(runs(0, 1, 1, 1), p.runsOf(month)); diff != "" {
			t.Errorf("step runs (-want +got):\n%s", diff)
		}
		mc, err := s.App.MonthCloses.Get(ctx, month)
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := mc.Step(monthclose.StepCollections); st.Runs != 2 || !st.Completed {
			t.Errorf("collections = %+v, want completed at its second run", st)
		}
	})
}

// TestMonthCloseProgress: while the close runs, GET shows the progress its current step reports
// ({step, done, total}); once completed, progress is null.
func TestMonthCloseProgress(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		month := monthsAgo(2) // not the previous month, which the scheduler closes on its own
		reported, release := make(chan struct{}), make(chan struct{})
		collect := monthclose.StepFunc(monthclose.StepCollections, func(ctx context.Context, m string, p monthclose.Progress) (int, error) {
			if m != month { // the scheduler's close of the previous month
				return 0, nil
			}
			if err := p.Report(ctx, 3, 8); err != nil {
				return 0, err
			}
			close(reported)
			select {
			case <-release:
			case <-ctx.Done():
				return 0, ctx.Err()
			}
			return 8, p.Report(ctx, 8, 8)
		})
		s := apptest.Start(t, b, fastJobs([]monthclose.Step{collect}))
		startClose(t, s, month).Expect(t, 202)
		select {
		case <-reported:
		case <-time.After(30 * time.Second):
			t.Fatal("the collections step did not start")
		}
		var c httpapi.MonthClose
		getClose(t, s, month).Expect(t, 200).JSON(t, &c)
		want := &httpapi.MonthCloseProgress{Step: "collections", Done: 3, Total: 8}
		if c.Status != "running" || !cmp.Equal(c.Progress, want) {
			t.Errorf("running close: status %s, progress %+v; want running, %+v", c.Status, c.Progress, want)
		}
		close(release)
		done := waitClose(t, s, month, "completed")
		if done.Progress != nil || done.Collections != 8 {
			t.Errorf("completed close: progress %+v, collections %d; want null, 8", done.Progress, done.Collections)
		}
		raw := getClose(t, s, month).Expect(t, 200).Body
		if !strings.Contains(string(raw), `"progress":null`) {
			t.Errorf("completed close's body %s has no \"progress\":null", raw)
		}
	})
}
