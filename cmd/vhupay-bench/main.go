// Command vhupay-bench measures vhupay's SEPA payment endpoint against the database's own limit
// for the same write path (docs/benchmarks.md):
//
//	go run ./cmd/vhupay-bench [-postgres URL] [-bench-dir cmd/vhupay-bench/reference] [-duration 20s] [-conns 16,64] [-rounds 2]
//
// It creates a fresh PostgreSQL database, starts vhupay in this process on a loopback port
// (sandbox mode, logs discarded), loads 10,000 buyers that may pay by SEPA and a pool of
// payment_pending orders, then drives POST /v1/payment-intents (method sepa_debit, each request
// on a fresh order with its buyer's token and a unique Idempotency-Key) at each connection count
// for the given duration, over keep-alive connections. In the same run it loads the reference
// schema of -bench-dir into another fresh database and runs pgbench on reference-payment.sql
// (-M prepared -n -c 32 -j 2 -T duration), and prints req/s, p50, p99 and errors per run, the
// pgbench TPS and the ratio. Both databases are dropped at the end unless -keep.
//
// The loader writes the buyers, bank accounts, mandates, scores, SEPA profiles and orders with
// set-based SQL straight into vhupay's tables: it bypasses the API for the setup only (through
// the API it would take minutes); what is measured goes through the API.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vhupay/vhupay/internal/app"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/benchkit"
	"github.com/vhupay/vhupay/internal/config"
	"github.com/vhupay/vhupay/internal/storage"
)

func main() {
	app.SetGCDefaults(os.Getenv) // as cmd/vhupay: the server measured runs with its defaults
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "vhupay-bench:", err)
		os.Exit(1)
	}
}

type options struct {
	jobs       bool
	postgres   string
	benchDir   string
	duration   time.Duration
	warmup     time.Duration
	conns      []int
	rounds     int
	buyers     int
	orders     int
	pgbench    bool
	cpuProfile string
	keep       bool
	noIdemKey  bool
	count      time.Duration
}

func parseFlags() (options, error) {
	var o options
	var conns string
	flag.StringVar(&o.postgres, "postgres", envOr("VHUPAY_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL URL of a database to connect to for creating the benchmark databases (env VHUPAY_BENCH_POSTGRES_URL)")
	flag.StringVar(&o.benchDir, "bench-dir", filepath.Join("cmd", "vhupay-bench", "reference"), "directory of reference-schema.sql, reference-reset.sql and reference-payment.sql")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "length of each measured run")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "unmeasured load before each HTTP run")
	flag.StringVar(&conns, "conns", "16,64", "HTTP connection counts, one run each")
	flag.IntVar(&o.rounds, "rounds", 1, "how many times to repeat the HTTP runs and pgbench, interleaved")
	flag.IntVar(&o.buyers, "buyers", 10000, "buyers to load")
	flag.IntVar(&o.orders, "orders", 0, "payment_pending orders to load (default: enough for every run at 6,000 req/s)")
	flag.BoolVar(&o.pgbench, "pgbench", true, "run the pgbench reference")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (server and load generator) during the last HTTP run")
	flag.BoolVar(&o.keep, "keep", false, "keep the databases")
	flag.BoolVar(&o.noIdemKey, "no-idempotency-key", false, "diagnosis only: send no Idempotency-Key (the contract's clients send one)")
	flag.BoolVar(&o.jobs, "jobs", false, "run the job queue (the event outbox's dispatcher and the webhook workers) during the HTTP runs, as a server does (the statement count runs without it)")
	flag.DurationVar(&o.count, "count", 3*time.Second, "before the runs, count the statements and commits per payment from PostgreSQL's log over a run of one connection this long (0: skip)")
	flag.Parse()
	for _, c := range strings.Split(conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return o, fmt.Errorf("-conns %q: want positive integers", conns)
		}
		o.conns = append(o.conns, n)
	}
	if o.orders == 0 {
		perRun := int((o.duration + o.warmup).Seconds() * 6000)
		o.orders = perRun * len(o.conns) * o.rounds
	}
	return o, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func run() error {
	o, err := parseFlags()
	if err != nil {
		return err
	}
	ctx := context.Background()
	admin, err := storage.Open(ctx, o.postgres)
	if err != nil {
		return err
	}
	defer admin.Close()

	suffix := benchkit.RandomHex(4)
	appDB, refDB := "vhupay_bench_"+suffix, "vhupay_ref_"+suffix
	if _, err := admin.SQL().ExecContext(ctx, "CREATE DATABASE "+appDB); err != nil {
		return err
	}
	if !o.keep {
		defer dropDatabase(admin, appDB)
	}
	appURL := benchkit.WithDatabase(o.postgres, appDB)

	fmt.Printf("machine: %s/%s, %d CPUs (%s), %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), benchkit.CPUModel(), runtime.Version())
	var pgVersion string
	_ = admin.SQL().QueryRowContext(ctx, "SHOW server_version").Scan(&pgVersion)
	fmt.Printf("PostgreSQL %s; vhupay database %s\n", pgVersion, appDB)

	secret := benchkit.RandomHex(24)
	srv, a, err := startServer(ctx, appURL, secret)
	if err != nil {
		return err
	}
	defer func() { _ = srv.Close(); _ = a.Close() }()

	began := time.Now()
	orders, err := load(ctx, a.DB, o.buyers, o.orders, secret)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	fmt.Printf("loaded %d buyers (bank account, active mandate, score 15/20, SEPA profile) and %d payment_pending orders in %s (set-based SQL, not the API)\n",
		o.buyers, len(orders), time.Since(began).Round(time.Millisecond))

	if o.pgbench {
		if err := preparePGBench(ctx, admin, o, refDB); err != nil {
			return fmt.Errorf("pgbench setup: %w", err)
		}
		if !o.keep {
			defer dropDatabase(admin, refDB)
		}
	}

	client := newClient(srv.Addr, slices.Max(o.conns))
	next := &atomic.Int64{}
	if o.count > 0 {
		c, err := countStatements(ctx, admin, a.DB, appDB, client, "http://"+srv.Addr, orders, next, o.count, !o.noIdemKey)
		if err != nil {
			return err
		}
		if c.payments == 0 {
			return errors.New("statement count: no payment accepted")
		}
		fmt.Printf("PostgreSQL's log (log_statement=all, 1 connection, %s): %d payments, %.2f statements, %.2f commits that write and %.2f reads outside a transaction per payment (%.2f pool pings); %.2f transactions wrote each payment's rows (distinct xmin)\n",
			o.count, c.payments, float64(c.statements)/float64(c.payments), float64(c.commits)/float64(c.payments),
			float64(c.readsOutside)/float64(c.payments), float64(c.pings)/float64(c.payments), float64(c.writers)/float64(c.payments))
		kinds := make([]string, 0, len(c.perStmt))
		for k := range c.perStmt {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		for _, k := range kinds {
			fmt.Printf("  %6.2f  %s\n", float64(c.perStmt[k])/float64(c.payments), k)
		}
	}
	if o.jobs {
		jobsCtx, stopJobs := context.WithCancel(ctx)
		jobsDone := make(chan struct{})
		go func() {
			defer close(jobsDone)
			if err := a.Jobs.Run(jobsCtx); err != nil {
				fmt.Fprintln(os.Stderr, "job queue:", err)
			}
		}()
		defer func() { stopJobs(); <-jobsDone }()
		fmt.Println("the job queue runs during the HTTP runs (-jobs)")
	}
	type figure struct {
		conns int
		r     result
	}
	var httpRuns []figure
	var tps []float64
	for round := 1; round <= o.rounds; round++ {
		for i, c := range o.conns {
			if err := settle(ctx, a.DB); err != nil {
				return err
			}
			if o.warmup > 0 {
				drive(client, "http://"+srv.Addr, orders, next, c, o.warmup, !o.noIdemKey)
			}
			last := round == o.rounds && i == len(o.conns)-1
			var stopProfile func()
			if last && o.cpuProfile != "" {
				if stopProfile, err = startProfile(o.cpuProfile); err != nil {
					return err
				}
			}
			r := drive(client, "http://"+srv.Addr, orders, next, c, o.duration, !o.noIdemKey)
			if stopProfile != nil {
				stopProfile()
			}
			if r.exhausted {
				return fmt.Errorf("the %d orders loaded ran out: raise -orders", len(orders))
			}
			fmt.Printf("round %d  HTTP  %3d conns  %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d (%s)\n",
				round, c, r.rate(), benchkit.MS(r.p50), benchkit.MS(r.p99), r.errors, r.errorSummary())
			httpRuns = append(httpRuns, figure{c, r})
		}
		if o.pgbench {
			t, err := runPGBench(ctx, o, refDB)
			if err != nil {
				return err
			}
			fmt.Printf("round %d  pgbench 32 clients  %8.0f TPS\n", round, t)
			tps = append(tps, t)
		}
	}
	if len(tps) > 0 {
		ref := benchkit.Median(tps)
		fmt.Printf("\npgbench reference (median of %d): %.0f TPS\n", len(tps), ref)
		for _, c := range o.conns {
			var rates []float64
			for _, f := range httpRuns {
				if f.conns == c {
					rates = append(rates, f.r.rate())
				}
			}
			m := benchkit.Median(rates)
			fmt.Printf("vhupay at %3d conns (median of %d): %.0f req/s, ratio %.2f (goal ≥ 0.50)\n", c, len(rates), m, m/ref)
		}
	}
	return nil
}

// startServer builds vhupay on dbURL (migrating it) and serves it on a loopback port.
func startServer(ctx context.Context, dbURL, secret string) (*http.Server, *app.App, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	env := map[string]string{
		"VHUPAY_DATABASE_URL": dbURL, "VHUPAY_JWT_SECRET": secret, "VHUPAY_ADDR": ln.Addr().String(),
		"VHUPAY_PSP": "sandbox", "VHUPAY_SCORING": "sandbox", "VHUPAY_RATE_LIMIT": "off", "VHUPAY_HOOK_RATE_LIMIT": "off",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		return nil, nil, err
	}
	a, err := app.New(ctx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), app.Options{})
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Addr: ln.Addr().String(), Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { _ = srv.Serve(ln) }()
	return srv, a, nil
}

// settle is reference-reset.sql's CHECKPOINT and VACUUM ANALYZE, on vhupay's hot tables.
func settle(ctx context.Context, db *storage.DB) error {
	for _, q := range []string{"VACUUM ANALYZE sepa_outstanding", "VACUUM ANALYZE payment_intents", "VACUUM ANALYZE orders",
		"VACUUM ANALYZE idempotency_keys", "CHECKPOINT"} {
		if _, err := db.SQL().ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

func preparePGBench(ctx context.Context, admin *storage.DB, o options, refDB string) error {
	for _, f := range []string{"reference-schema.sql", "reference-reset.sql", "reference-payment.sql"} {
		if _, err := os.Stat(filepath.Join(o.benchDir, f)); err != nil {
			return fmt.Errorf("%w (set -bench-dir)", err)
		}
	}
	if _, err := exec.LookPath("pgbench"); err != nil {
		return errors.New("pgbench not found (install postgresql-client, or pass -pgbench=false)")
	}
	if _, err := admin.SQL().ExecContext(ctx, "CREATE DATABASE "+refDB); err != nil {
		return err
	}
	return psql(ctx, o, refDB, "reference-schema.sql")
}

func runPGBench(ctx context.Context, o options, refDB string) (float64, error) {
	if err := psql(ctx, o, refDB, "reference-reset.sql"); err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(ctx, "pgbench", "-M", "prepared", "-n", "-c", "32", "-j", "2", "-T", strconv.Itoa(int(o.duration.Seconds())),
		"-f", filepath.Join(o.benchDir, "reference-payment.sql"), "-d", benchkit.WithDatabase(o.postgres, refDB))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench: %w\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "tps = "); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				return strconv.ParseFloat(f[0], 64)
			}
		}
	}
	return 0, fmt.Errorf("no tps in pgbench output:\n%s", out)
}

func psql(ctx context.Context, o options, db, file string) error {
	out, err := exec.CommandContext(ctx, "psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", benchkit.WithDatabase(o.postgres, db),
		"-f", filepath.Join(o.benchDir, file)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("psql -f %s: %w\n%s", file, err, out)
	}
	return nil
}

func dropDatabase(admin *storage.DB, name string) {
	if _, err := admin.SQL().Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
		fmt.Fprintln(os.Stderr, "drop", name+":", err)
	}
}

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

// tokens signs one buyer token per buyer, valid for a day.
func tokens(secret string, buyerIDs []string) (map[string]string, error) {
	out := make(map[string]string, len(buyerIDs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	chunk := (len(buyerIDs) + runtime.NumCPU() - 1) / runtime.NumCPU()
	for start := 0; start < len(buyerIDs); start += chunk {
		ids := buyerIDs[start:min(start+chunk, len(buyerIDs))]
		wg.Go(func() {
			for _, id := range ids {
				tok, err := auth.Sign(secret, "vhupay", "vhupay-api", auth.Principal{Subject: "bench-" + id, Role: auth.RoleBuyer, Org: id}, time.Now(), 24*time.Hour)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				out[id] = tok
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out, firstErr
}
