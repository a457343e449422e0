// Command vhupay-bench-close measures a month close of many SEPA payments (docs/benchmarks.md):
//
//	go run ./cmd/vhupay-bench-close [-postgres URL] [-payments 200000] [-buyers 20000] [-cpuprofile FILE] [-keep]
//
// It creates a fresh PostgreSQL database, builds vhupay in this process (app.New: sandbox
// provider, sandbox scoring, logs discarded), loads with set-based SQL the buyers (each with a
// SEPA profile, a default bank account, an active mandate and a payer, and their counterparts in
// the sandbox provider's tables) and the payments: -payments confirmed orders paid by SEPA in
// the previous month, spread over the buyers. It then runs that month's close as an operator
// would (app.CloseMonth: the job queue, the engine and the four real steps) and prints the wall
// time of the close and of each step, the peak resident memory of the process (VmHWM, reset
// after the load) and the peak Go heap (sampled every 20 ms), and checks the result: one
// submitted collection per buyer for the sum of its payments.
//
// One size per run, so that the peaks are the size's own.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vhupay/vhupay/internal/app"
	"github.com/vhupay/vhupay/internal/benchkit"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/config"
	"github.com/vhupay/vhupay/internal/jobs"
	"github.com/vhupay/vhupay/internal/monthclose"
	"github.com/vhupay/vhupay/internal/storage"
)

func main() {
	app.SetGCDefaults(os.Getenv) // as cmd/vhupay: the server measured runs with its defaults
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "vhupay-bench-close:", err)
		os.Exit(1)
	}
}

type options struct {
	postgres   string
	payments   int
	buyers     int
	cpuProfile string
	keep       bool
	template   string
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.postgres, "postgres", envOr("VHUPAY_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL URL of a database to connect to for creating the benchmark database (env VHUPAY_BENCH_POSTGRES_URL)")
	flag.IntVar(&o.payments, "payments", 200000, "SEPA payments in the month closed")
	flag.IntVar(&o.buyers, "buyers", 20000, "buyers the payments are spread over")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the close to this file")
	flag.BoolVar(&o.keep, "keep", false, "keep the database")
	flag.StringVar(&o.template, "template", "", "load into this database once and keep it; each run then closes a copy of it "+
		"(CREATE DATABASE … TEMPLATE; the load is skipped when it exists: same -payments and -buyers)")
	flag.Parse()
	return o
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func run() error {
	o := parseFlags()
	if o.buyers < 1 || o.payments < o.buyers {
		return fmt.Errorf("want at least one buyer and one payment per buyer (-buyers %d, -payments %d)", o.buyers, o.payments)
	}
	ctx := context.Background()
	var scratch *benchkit.Scratch
	var err error
	if o.template != "" {
		scratch, err = fromTemplate(ctx, o)
	} else {
		scratch, err = benchkit.ScratchDatabase(ctx, o.postgres, "vhupay_close_", o.keep)
	}
	if err != nil {
		return err
	}
	defer scratch.Close()

	steps := &stepTimes{}
	a, err := newApp(ctx, scratch.URL, steps)
	if err != nil {
		return err
	}
	defer a.Close()

	month, err := clock.PreviousMonth(clock.MonthOf(a.Clock.Now()))
	if err != nil {
		return err
	}
	if o.template == "" {
		began := time.Now()
		if err := load(ctx, a.DB, o.buyers, o.payments, month); err != nil {
			return fmt.Errorf("load: %w", err)
		}
		fmt.Printf("loaded %d buyers and %d SEPA payments of %s in %s (set-based SQL), peak RSS %s\n",
			o.buyers, o.payments, month, time.Since(began).Round(time.Millisecond), mib(peakRSS()))
	}

	runtime.GC()
	resetPeakRSS()
	heap := startHeapSampler()
	var stopProfile func()
	if o.cpuProfile != "" {
		if stopProfile, err = startProfile(o.cpuProfile); err != nil {
			return err
		}
	}
	began := time.Now()
	steps.start(began)
	c, _, err := a.CloseMonth(ctx, month, func(monthclose.MonthClose, monthclose.Outcome) {})
	observed := time.Since(began)
	if stopProfile != nil {
		stopProfile()
	}
	heapMax, totalMax := heap.stop()
	if err != nil {
		return fmt.Errorf("close: %w", err)
	}
	if c.Status != monthclose.StatusCompleted {
		return fmt.Errorf("the close of %s is %s: %s", month, c.Status, c.LastError)
	}
	fmt.Printf("\nclose of %s: %s from its start to its last step's end, %s until the operator's command saw it completed\n"+
		"(%d score checks, %d collections, %d statements, %d ceiling reviews)\n",
		month, steps.total().Round(time.Millisecond), observed.Round(time.Millisecond), c.ScoreChecks, c.Collections, c.Statements, c.CeilingReviews)
	fmt.Printf("cost per payment: %.1f µs (%d payments, %d buyers)\n",
		float64(steps.total().Microseconds())/float64(o.payments), o.payments, o.buyers)
	for _, s := range steps.list() {
		fmt.Printf("  %-16s %9s\n", s.name, s.took.Round(time.Millisecond))
		if s.name == monthclose.StepCollections {
			if err := splitCollections(ctx, a.DB, month); err != nil {
				return err
			}
		}
	}
	fmt.Printf("peak RSS during the close (VmHWM): %s; peak Go heap (live + unswept objects): %s; peak Go runtime memory: %s\n",
		mib(peakRSS()), mib(heapMax), mib(totalMax))
	return check(ctx, a.DB, month, o.buyers)
}

// newApp builds vhupay on dbURL (migrating it) in sandbox mode, with one attempt of the close
// allowed to last as long as the benchmark needs and a logger that records when each step
// completes.
func newApp(ctx context.Context, dbURL string, steps *stepTimes) (*app.App, error) {
	env := map[string]string{
		"VHUPAY_DATABASE_URL": dbURL, "VHUPAY_JWT_SECRET": benchkit.RandomHex(24), "VHUPAY_ADDR": "127.0.0.1:0",
		"VHUPAY_PSP": "sandbox", "VHUPAY_SCORING": "sandbox", "VHUPAY_RATE_LIMIT": "off", "VHUPAY_HOOK_RATE_LIMIT": "off",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		return nil, err
	}
	log := slog.New(stepLogger{Handler: slog.NewJSONHandler(io.Discard, nil), steps: steps})
	// One attempt may last as long as the benchmark needs; the job is fetched within 100 ms
	// (the default 2 s poll would count in the figures).
	return app.New(ctx, cfg, log, app.Options{Jobs: jobs.Config{PollInterval: 100 * time.Millisecond,
		MonthCloseTimeout: 30 * time.Minute, RescueAfter: 31 * time.Minute}})
}

// stepTimes records when each step of the close completed (from the engine's log line).
type stepTimes struct {
	mu          sync.Mutex
	first, last time.Time
	steps       []stepTime
}

type stepTime struct {
	name string
	took time.Duration
}

func (s *stepTimes) start(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.first, s.last, s.steps = t, t, nil
}

// total is the time from the start to the last step's completion.
func (s *stepTimes) total() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last.Sub(s.first)
}

func (s *stepTimes) completed(name string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	took := at.Sub(s.last)
	s.steps = append(s.steps, stepTime{name: name, took: took})
	s.last = at
	// Printed as it happens too, so that a close stopped halfway still shows its first steps.
	fmt.Printf("  step %-16s completed in %9s (%s since the start; load average %s)\n", name, took.Round(time.Millisecond),
		at.Sub(s.first).Round(time.Millisecond), loadAverage())
}

// loadAverage is /proc/loadavg's first three fields ("?" when unreadable).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func (s *stepTimes) list() []stepTime {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]stepTime(nil), s.steps...)
}

// stepLogger passes records on to its handler and notes "month close step completed".
type stepLogger struct {
	slog.Handler
	steps *stepTimes
}

func (h stepLogger) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "month close step completed" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "step" {
				h.steps.completed(a.Value.String(), time.Now())
				return false
			}
			return true
		})
	}
	return h.Handler.Handle(ctx, r)
}

func (h stepLogger) WithAttrs(attrs []slog.Attr) slog.Handler {
	return stepLogger{Handler: h.Handler.WithAttrs(attrs), steps: h.steps}
}

func (h stepLogger) WithGroup(name string) slog.Handler {
	return stepLogger{Handler: h.Handler.WithGroup(name), steps: h.steps}
}

// splitCollections prints the collections step's three parts, from the collections' times: the
// set-based creation (until the pre-notification's time), the pre-notifications (until the
// first submission) and the submissions.
func splitCollections(ctx context.Context, db *storage.DB, month string) error {
	var created, prenotified, first, last time.Time
	var n int
	err := db.SQL().QueryRowContext(ctx, `SELECT MIN(created_at), MIN(prenotified_at), MIN(submitted_at), MAX(submitted_at), COUNT(*)
		FROM sepa_collections WHERE month = $1`, month).Scan(&created, &prenotified, &first, &last, &n)
	if err != nil {
		return err
	}
	fmt.Printf("    creation       %9s (set-based, until the pre-notification)\n", prenotified.Sub(created).Round(time.Millisecond))
	fmt.Printf("    prenotices     %9s (a batch of 1,000 per unit, until the first submission)\n", first.Sub(prenotified).Round(time.Millisecond))
	fmt.Printf("    submissions    %9s (%d, %.2f ms each, a batch of 1,000 per provider call and per unit)\n", last.Sub(first).Round(time.Millisecond), n,
		float64(last.Sub(first).Microseconds())/1000/float64(max(n-1, 1)))
	return nil
}

// check verifies the close: one submitted collection per buyer, their amounts summing to the
// payments'.
func check(ctx context.Context, db *storage.DB, month string, buyers int) error {
	var cols, submitted int
	var collected, paid int64
	err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*), COUNT(*) FILTER (WHERE status = 'submitted'), COALESCE(SUM(amount), 0)
		FROM sepa_collections WHERE month = $1`, month).Scan(&cols, &submitted, &collected)
	if err != nil {
		return err
	}
	if err := db.SQL().QueryRowContext(ctx, `SELECT SUM(amount) FROM payment_intents WHERE collection_month = $1`, month).Scan(&paid); err != nil {
		return err
	}
	var unlinked int
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM payment_intents i WHERE i.collection_month = $1
		AND NOT EXISTS (SELECT 1 FROM sepa_collection_intents l JOIN sepa_collections c ON c.id = l.collection_id
			WHERE l.intent_id = i.id AND c.month = $1 AND c.buyer_id = i.buyer_id)`, month).Scan(&unlinked); err != nil {
		return err
	}
	if unlinked != 0 {
		return fmt.Errorf("check: %d payments of %s are not linked to their buyer's collection", unlinked, month)
	}
	if cols != buyers || submitted != buyers || collected != paid {
		return fmt.Errorf("check: %d collections, %d submitted, %d cents collected; want %d submitted for %d cents", cols, submitted, collected, buyers, paid)
	}
	fmt.Printf("checked: %d collections submitted, %d cents = the month's SEPA payments\n", cols, collected)
	return nil
}

// loadStatements fill vhupay's and the sandbox provider's tables (:buyers, :payments, the
// month's :start and :end, the :month, each written with its type cast). Buyer g has bank account,
// mandate, payer, provider user, wallet, bank account and mandate derived from g, all with
// identifiers shaped as id.New's (bench_enrolled_id(prefix, g), over benchkit.V7IDFunctionSQL)
// made one millisecond after buyer g-1's: in production a buyer's identifier and those of the rows written when it is enrolled
// sort by enrolment, and the rows lie in that order (random identifiers made each batch of the
// close read its buyers' rows from all over every table); payment p
// belongs to buyer 1 + p % buyers, amounts 1.00 to 99.99 EUR, times spread over the month.
func loadStatements(buyers, payments int, month string, start, end time.Time) []statement {
	values := map[string]any{":buyers": buyers, ":payments": payments, ":start": start, ":end": end, ":month": month}
	var out []statement
	for _, q := range []string{
		benchkit.V7IDFunctionSQL,
		`CREATE FUNCTION bench_enrolled_id(prefix text, g int) RETURNS text LANGUAGE sql STABLE AS
	 'SELECT bench_v7id(prefix, timestamptz ''2024-01-01 00:00:00+00'' + g * interval ''1 millisecond'', prefix || g::text)'`,
		`INSERT INTO buyers (id, name, siren, email, address_line1, postal_code, city, country, created_at)
	 SELECT bench_enrolled_id('byr', g), 'Garage ' || g, lpad(g::text, 9, '0'), 'garage' || g || '@bench.test',
	        '12 rue des Casses', '69007', 'Lyon', 'FR', :start::timestamptz - interval '1 year'
	 FROM generate_series(1, :buyers::int) g`,
		`INSERT INTO centers (id, name, siret, email, address_line1, postal_code, city, country, created_at)
	 VALUES ('ctr_' || md5('bench'), 'Centre VHU du banc', '81234567600017', 'centre@bench.test', '1 route des Casses', '69007', 'Lyon', 'FR', now())`,
		`INSERT INTO sepa_profiles (buyer_id, ceiling, probation_start, created_at, updated_at)
	 SELECT bench_enrolled_id('byr', g), 100000000, :start::timestamptz - interval '1 year', now(), now() FROM generate_series(1, :buyers::int) g`,
		`INSERT INTO sandbox_users (id, name, email, company_number, kind, tag, created_at)
	 SELECT bench_enrolled_id('usr', g), 'Garage ' || g, 'garage' || g || '@bench.test', lpad(g::text, 9, '0'), 'business', bench_enrolled_id('byr', g), now()
	 FROM generate_series(1, :buyers::int) g`,
		`INSERT INTO sandbox_wallets (id, owner_id, description, tag, created_at)
	 SELECT bench_enrolled_id('wlt', g), bench_enrolled_id('usr', g), 'vhupay buyer', '', now() FROM generate_series(1, :buyers::int) g`,
		`INSERT INTO sandbox_bank_accounts (id, user_id, owner_name, masked_iban, country, last4, outcome, active, created_at)
	 SELECT bench_enrolled_id('sba', g), bench_enrolled_id('usr', g), 'Garage ' || g, 'FR76 **** **** **** **** ***0 189', 'FR', '0189', 'succeed', true, now()
	 FROM generate_series(1, :buyers::int) g`,
		`INSERT INTO sandbox_mandates (id, user_id, bank_account_id, status, return_url, culture, bank_reference, scheme, created_at, updated_at)
	 SELECT bench_enrolled_id('smd', g), bench_enrolled_id('usr', g), bench_enrolled_id('sba', g), 'active', 'https://shop.example/sepa', 'FR', 'RUM' || g, 'SEPA', now(), now()
	 FROM generate_series(1, :buyers::int) g`,
		`INSERT INTO payers (buyer_id, user_id, wallet_id)
	 SELECT bench_enrolled_id('byr', g), bench_enrolled_id('usr', g), bench_enrolled_id('wlt', g) FROM generate_series(1, :buyers::int) g`,
		`INSERT INTO bank_accounts (id, buyer_id, provider_id, owner_name, country, iban_last4, masked_iban, fingerprint, status, is_default, created_at, updated_at)
	 SELECT bench_enrolled_id('ba', g), bench_enrolled_id('byr', g), bench_enrolled_id('sba', g), 'Garage ' || g, 'FR', '0189', 'FR76 **** **** **** **** ***0 189',
	        md5('f' || g), 'active', true, now(), now()
	 FROM generate_series(1, :buyers::int) g`,
		`INSERT INTO mandates (id, buyer_id, bank_account_id, provider_id, status, reference, signature_url, return_url, created_at, updated_at, signed_at)
	 SELECT bench_enrolled_id('mdt', g), bench_enrolled_id('byr', g), bench_enrolled_id('ba', g), bench_enrolled_id('smd', g), 'active', 'RUM' || g, '',
	        'https://shop.example/sepa', now(), now(), now()
	 FROM generate_series(1, :buyers::int) g`,
		`INSERT INTO orders (id, buyer_id, center_id, status, delivery_mode, total_excl_vat, total_vat, total, currency, created_at, updated_at)
	 SELECT 'ord_' || md5('o' || p), bench_enrolled_id('byr', (1 + p % :buyers::int)), 'ctr_' || md5('bench'), 'confirmed', 'delivery',
	        100 + (p::bigint * 7919) % 9900, 0, 100 + (p::bigint * 7919) % 9900, 'EUR',
	        :start::timestamptz + (p % 1000) * (:end::timestamptz - :start::timestamptz) / 1001, :start::timestamptz + (p % 1000) * (:end::timestamptz - :start::timestamptz) / 1001
	 FROM generate_series(1, :payments::int) p`,
		`INSERT INTO payment_intents (id, order_id, buyer_id, amount, currency, method, status, mandate_id, collection_month, created_at, updated_at)
	 SELECT 'pi_' || md5('i' || substr(o.id, 5)), o.id, o.buyer_id, o.total, 'EUR', 'sepa_debit', 'scheduled', bench_enrolled_id('mdt', substr(b.name, 8)::int),
	        :month::text, o.created_at, o.created_at
	 FROM orders o JOIN buyers b ON b.id = o.buyer_id`,
		`VACUUM ANALYZE`,
	} {
		// :name becomes $n, numbered in the order of first use.
		var args []any
		for _, name := range []string{":buyers", ":payments", ":start", ":end", ":month"} {
			if strings.Contains(q, name+"::") {
				args = append(args, values[name])
				q = strings.ReplaceAll(q, name+"::", "$"+strconv.Itoa(len(args))+"::")
			}
		}
		out = append(out, statement{q: q, args: args})
	}
	return out
}

type statement struct {
	q    string
	args []any
}

func load(ctx context.Context, db *storage.DB, buyers, payments int, month string) error {
	start, end, err := clock.MonthBounds(month)
	if err != nil {
		return err
	}
	for _, s := range loadStatements(buyers, payments, month, start, end) {
		if _, err := db.SQL().ExecContext(ctx, s.q, s.args...); err != nil {
			return fmt.Errorf("%.70s…: %w", strings.Join(strings.Fields(s.q), " "), err)
		}
	}
	return nil
}

// heapSampler records the largest Go heap and runtime memory seen.
type heapSampler struct {
	heap, total atomic.Uint64
	done        chan struct{}
	wg          sync.WaitGroup
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{done: make(chan struct{})}
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/total:bytes"}}
	read := func() {
		metrics.Read(samples)
		if v := samples[0].Value.Uint64(); v > h.heap.Load() {
			h.heap.Store(v)
		}
		if v := samples[1].Value.Uint64(); v > h.total.Load() {
			h.total.Store(v)
		}
	}
	read()
	h.wg.Go(func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-h.done:
				read()
				return
			case <-t.C:
				read()
			}
		}
	})
	return h
}

func (h *heapSampler) stop() (heap, total uint64) {
	close(h.done)
	h.wg.Wait()
	return h.heap.Load(), h.total.Load()
}

// peakRSS is the process's peak resident set size (VmHWM), in bytes.
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseUint(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// resetPeakRSS resets VmHWM to the current RSS (Linux: "5" to /proc/self/clear_refs).
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// fromTemplate returns a copy of the database o.template, loading it first when it does not exist
// (the app migrates it and the load fills it; its connections are closed before the copy).
func fromTemplate(ctx context.Context, o options) (*benchkit.Scratch, error) {
	admin, err := storage.Open(ctx, o.postgres)
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	var exists bool
	if err := admin.SQL().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, o.template).Scan(&exists); err != nil {
		return nil, err
	}
	if !exists {
		if _, err := admin.SQL().ExecContext(ctx, "CREATE DATABASE "+o.template); err != nil {
			return nil, err
		}
		a, err := newApp(ctx, benchkit.WithDatabase(o.postgres, o.template), &stepTimes{})
		if err != nil {
			return nil, err
		}
		month, err := clock.PreviousMonth(clock.MonthOf(a.Clock.Now()))
		if err == nil {
			began := time.Now()
			if err = load(ctx, a.DB, o.buyers, o.payments, month); err == nil {
				fmt.Printf("loaded %d buyers and %d SEPA payments of %s into %s in %s (set-based SQL)\n",
					o.buyers, o.payments, month, o.template, time.Since(began).Round(time.Millisecond))
			}
		}
		a.Close()
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
	}
	scratch, err := benchkit.ScratchDatabase(ctx, o.postgres, "vhupay_close_", o.keep)
	if err != nil {
		return nil, err
	}
	began := time.Now()
	if _, err := scratch.Admin.SQL().ExecContext(ctx, "DROP DATABASE "+scratch.Name); err != nil {
		scratch.Close()
		return nil, err
	}
	if _, err := scratch.Admin.SQL().ExecContext(ctx, "CREATE DATABASE "+scratch.Name+" TEMPLATE "+o.template+" STRATEGY file_copy"); err != nil {
		scratch.Close()
		return nil, err
	}
	fmt.Printf("copied %s into %s in %s\n", o.template, scratch.Name, time.Since(began).Round(time.Millisecond))
	return scratch, nil
}
