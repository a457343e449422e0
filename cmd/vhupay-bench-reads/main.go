// Command vhupay-bench-reads measures vhupay's reads on a large PostgreSQL database
// (docs/benchmarks.md):
//
//	go run ./cmd/vhupay-bench-reads [-orders 1000000] [-buyers 10000] [-centers 500] [-ledger-lines 100000]
//	    [-statement-lines 5000] [-clients 16] [-duration 10s] [-rounds 3] [-explain=true] [-only NAME] [-cpuprofile FILE] [-memprofile FILE]
//	    [-postgres URL] [-keep] [-reuse DATABASE]
//
// It creates a fresh PostgreSQL database, builds vhupay in this process (sandbox mode, served on
// a loopback port, no background jobs) and loads with set-based SQL, straight into the tables:
// -buyers buyers with a SEPA profile, an active bank account and mandate; -centers centres;
// -orders confirmed orders (one line each) spread over the buyers and centres and over the last
// year, each paid by one scheduled sepa_debit intent; -ledger-lines balance transactions of the
// first centre; one issued statement of -statement-lines orders. Then, for each read, -clients
// workers call it for -duration over keep-alive connections (each call with the token of its
// caller: a buyer picked at random, the first centre, an admin), -rounds times with the rounds
// interleaved, and it prints the medians over the rounds of req/s, p50 and p99 of the 200
// answers, and each round's p99. With -explain it then loads auto_explain on vhupay's pool (the
// benchmark connects as a superuser), makes each read once and prints the plans PostgreSQL
// logged — EXPLAIN (ANALYZE, BUFFERS) of every statement of each read — from the server's log.
package main

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/vhupay/vhupay/internal/app"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/benchkit"
	"github.com/vhupay/vhupay/internal/config"
	"github.com/vhupay/vhupay/internal/storage"
)

func main() {
	app.SetGCDefaults(os.Getenv) // as cmd/vhupay: the server measured runs with its defaults
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "vhupay-bench-reads:", err)
		os.Exit(1)
	}
}

type options struct {
	postgres                    string
	orders, buyers, centers     int
	ledgerLines, statementLines int
	clients                     int
	duration, warmup            time.Duration
	explain, keep               bool
	only                        string
	cpuProfile, memProfile      string
	reuse                       string
	rounds                      int
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.postgres, "postgres", envOr("VHUPAY_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL URL of a database to connect to for creating the benchmark database (env VHUPAY_BENCH_POSTGRES_URL)")
	flag.IntVar(&o.orders, "orders", 1000000, "confirmed orders, each with one line and one sepa_debit intent, and a delivery note (BL) once two days old")
	flag.IntVar(&o.buyers, "buyers", 10000, "buyers the orders are spread over")
	flag.IntVar(&o.centers, "centers", 500, "centres the orders are spread over")
	flag.IntVar(&o.ledgerLines, "ledger-lines", 100000, "balance transactions of the first centre")
	flag.IntVar(&o.statementLines, "statement-lines", 5000, "orders on the statement exported")
	flag.IntVar(&o.clients, "clients", 16, "concurrent clients per read")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long each read is driven")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "how long each read is driven, unmeasured, before it is measured (its pages in PostgreSQL's buffers, the server's pools and caches filled)")
	flag.IntVar(&o.rounds, "rounds", 3, "how many times each read is measured, the rounds interleaved; the medians are printed")
	flag.BoolVar(&o.explain, "explain", true, "print PostgreSQL's plans (auto_explain, ANALYZE and BUFFERS) of each read's statements")
	flag.StringVar(&o.only, "only", "", "run only the reads whose name contains this")
	flag.BoolVar(&o.keep, "keep", false, "keep the database")
	flag.StringVar(&o.reuse, "reuse", "", "use this database, kept by an earlier run with -keep and the same sizes, instead of loading a new one (it is kept)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (server and load generator) during the timed reads to this file")
	flag.StringVar(&o.memProfile, "memprofile", "", "write a heap profile of this process after the timed reads to this file (its alloc_space sample shows what the reads allocated)")
	flag.Parse()
	o.rounds = max(o.rounds, 1)
	return o
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// loadSQL fills the tables, set-based. :buyers, :centers, :orders, :ledger_lines and
// :statement_lines are replaced by the sizes (integers). Times spread over the last year. The ids
// of orders, payment intents and ledger transactions are shaped like vhupay's (the prefix, then
// a UUIDv7 in hex: 48 bits of milliseconds, then random bits; bench_v7id), so that they sort by
// creation as in production: a page of the newest orders reads index entries written together,
// and a buyer's newest orders lie in the newest part of each index. Rows are written oldest
// first, as production writes them, so that the indexes on those ids fill their pages as
// PostgreSQL does for ascending keys (written newest first, each split would leave two
// half-empty pages). Parties' ids are the prefix and an md5 (they were all created at once).
// Every order more than two days old carries a delivery note, as a centre attaches a BL or a BR
// to each order it ships or hands over.
var loadSQL = []string{
	benchkit.V7IDFunctionSQL,
	`INSERT INTO buyers (id, name, siren, email, address_line1, postal_code, city, country, created_at)
	 SELECT 'byr_' || md5('b' || g), 'Garage ' || g, lpad(g::text, 9, '0'), 'garage' || g || '@bench.test',
	        '12 rue des Casses', '69007', 'Lyon', 'FR', now() - interval '400 days'
	 FROM generate_series(1, :buyers) g`,
	`INSERT INTO centers (id, name, siret, email, address_line1, postal_code, city, country, created_at)
	 SELECT 'ctr_' || md5('c' || g), 'Centre VHU ' || g, lpad(g::text, 14, '0'), 'centre' || g || '@bench.test',
	        '1 route des Casses', '69007', 'Lyon', 'FR', now() - interval '400 days'
	 FROM generate_series(1, :centers) g`,
	`INSERT INTO sepa_profiles (buyer_id, ceiling, probation_start, created_at, updated_at)
	 SELECT id, 1000000, now() - interval '400 days', now(), now() FROM buyers`,
	`INSERT INTO bank_accounts (id, buyer_id, provider_id, owner_name, country, iban_last4, masked_iban, fingerprint, status, is_default, created_at, updated_at)
	 SELECT 'ba_' || md5('a' || id), id, 'bench-ba-' || id, name, 'FR', '0189', 'FR76 **** **** **** **** ***0 189', md5('f' || id), 'active', true, now(), now()
	 FROM buyers`,
	`INSERT INTO mandates (id, buyer_id, bank_account_id, provider_id, status, reference, signature_url, return_url, created_at, updated_at, signed_at)
	 SELECT 'mdt_' || md5('m' || buyer_id), buyer_id, id, 'bench-mdt-' || buyer_id, 'active', 'RUM-' || buyer_id, '', 'https://shop.example/sepa', now(), now(), now()
	 FROM bank_accounts`,
	`INSERT INTO score_checks (id, buyer_id, outcome, value, requested_by, checked_at)
	 SELECT 'sc_' || md5('s' || id), id, 'scored', 15, 'system', now() FROM buyers`,
	`INSERT INTO orders (id, buyer_id, center_id, status, delivery_mode, total_excl_vat, total_vat, total, currency, created_at, updated_at)
	 SELECT bench_v7id('ord', now() - (g::float8 / :orders) * interval '365 days', 'o' || g), 'byr_' || md5('b' || (1 + g % :buyers)), 'ctr_' || md5('c' || (1 + g % :centers)), 'confirmed', 'delivery',
	        100 + (g::bigint * 7919) % 9900, 0, 100 + (g::bigint * 7919) % 9900, 'EUR',
	        now() - (g::float8 / :orders) * interval '365 days', now() - (g::float8 / :orders) * interval '365 days'
	 FROM generate_series(:orders, 1, -1) g`,
	`INSERT INTO order_lines (order_id, buyer_id, center_id, position, reference, label, quantity, unit_price_excl_vat, vat_rate, total_excl_vat, total_vat, total)
	 SELECT id, buyer_id, center_id, 0, 'P-' || substr(id, 5, 8), 'Pièce', 1, total, 0, total, 0, total FROM orders`,
	`INSERT INTO delivery_notes (order_id, center_id, buyer_id, kind, number, created_at)
	 SELECT id, center_id, buyer_id, 'BL', 'BL-' || substr(id, 5), created_at + interval '1 day' FROM orders
	 WHERE created_at < now() - interval '2 days'`,
	`INSERT INTO payment_intents (id, order_id, buyer_id, amount, currency, method, status, mandate_id, collection_month, created_at, updated_at)
	 SELECT 'pi_' || substr(o.id, 5), o.id, o.buyer_id, o.total, 'EUR', 'sepa_debit', 'scheduled', 'mdt_' || md5('m' || o.buyer_id),
	        to_char(o.created_at AT TIME ZONE 'Europe/Paris', 'YYYY-MM'), o.created_at, o.created_at
	 FROM orders o`,
	`INSERT INTO ledger_transactions (id, kind, source_id, created_at)
	 SELECT bench_v7id('ltx', now() - (g::float8 / :ledger_lines) * interval '365 days', 'l' || g), 'earning', 'pi_bench_' || g, now() - (g::float8 / :ledger_lines) * interval '365 days'
	 FROM generate_series(:ledger_lines, 1, -1) g`,
	`INSERT INTO ledger_postings (transaction_id, seq, account, amount, created_at)
	 SELECT t.id, s.seq, CASE s.seq WHEN 0 THEN 'center:' || 'ctr_' || md5('c1') WHEN 1 THEN 'platform:fees' ELSE 'external:card' END,
	        CASE s.seq WHEN 0 THEN 950 WHEN 1 THEN 50 ELSE -1000 END, t.created_at
	 FROM ledger_transactions t, generate_series(0, 2) AS s(seq) WHERE t.id LIKE 'ltx_%'`,
	`INSERT INTO invoicing_accounts (id, buyer_id, center_id, status, created_at, decided_at, updated_at)
	 VALUES ('ina_' || md5('i'), 'byr_' || md5('b1'), 'ctr_' || md5('c1'), 'approved', now(), now(), now())`,
	`INSERT INTO statements (id, invoicing_account_id, buyer_id, center_id, month, status, total_excl_vat, total_vat, total, currency, created_at, updated_at, issued_at)
	 VALUES ('stm_' || md5('s'), 'ina_' || md5('i'), 'byr_' || md5('b1'), 'ctr_' || md5('c1'), '2020-01', 'issued', 0, 0, 0, 'EUR', now(), now(), now())`,
	`INSERT INTO orders (id, buyer_id, center_id, status, delivery_mode, total_excl_vat, total_vat, total, currency, created_at, updated_at)
	 SELECT bench_v7id('ord', timestamptz '2020-01-01' + g * interval '1 minute', 'so' || g), 'byr_' || md5('b1'), 'ctr_' || md5('c1'), 'confirmed', 'delivery', 1000, 200, 1200, 'EUR',
	        timestamptz '2020-01-01' + g * interval '1 minute', timestamptz '2020-01-01' + g * interval '1 minute'
	 FROM generate_series(1, :statement_lines) g`,
	`INSERT INTO order_lines (order_id, buyer_id, center_id, position, reference, label, quantity, unit_price_excl_vat, vat_rate, total_excl_vat, total_vat, total)
	 SELECT bench_v7id('ord', timestamptz '2020-01-01' + g * interval '1 minute', 'so' || g), 'byr_' || md5('b1'), 'ctr_' || md5('c1'), 0, 'P-' || g, 'Pièce', 1, 1000, 2000, 1000, 200, 1200 FROM generate_series(1, :statement_lines) g`,
	`INSERT INTO payment_intents (id, order_id, buyer_id, amount, currency, method, status, invoicing_account_id, created_at, updated_at)
	 SELECT bench_v7id('pi', timestamptz '2020-01-01' + g * interval '1 minute', 'spi' || g), bench_v7id('ord', timestamptz '2020-01-01' + g * interval '1 minute', 'so' || g), 'byr_' || md5('b1'), 1200, 'EUR', 'vhu_invoice', 'scheduled', 'ina_' || md5('i'),
	        timestamptz '2020-01-01' + g * interval '1 minute', timestamptz '2020-01-01' + g * interval '1 minute'
	 FROM generate_series(1, :statement_lines) g`,
	`INSERT INTO statement_orders (statement_id, order_id, intent_id, created_at)
	 SELECT 'stm_' || md5('s'), bench_v7id('ord', timestamptz '2020-01-01' + g * interval '1 minute', 'so' || g), bench_v7id('pi', timestamptz '2020-01-01' + g * interval '1 minute', 'spi' || g), timestamptz '2020-01-01' + g * interval '1 minute'
	 FROM generate_series(1, :statement_lines) g`,
	`UPDATE statements SET total_excl_vat = 1000 * :statement_lines, total_vat = 200 * :statement_lines, total = 1200 * :statement_lines WHERE id = 'stm_' || md5('s')`,
	`VACUUM ANALYZE`,
}

// read is one GET measured.
type read struct {
	name string
	path func(i int) string // the i-th call's path
	tok  func(i int) string // its token
	// clients, when not 0, replaces -clients (the export alone).
	clients int
}

func run() error {
	o := parseFlags()
	ctx := context.Background()
	var scratch *benchkit.Scratch
	var err error
	if o.reuse != "" {
		scratch, err = benchkit.ExistingDatabase(ctx, o.postgres, o.reuse)
	} else {
		scratch, err = benchkit.ScratchDatabase(ctx, o.postgres, "vhupay_reads_", o.keep)
	}
	if err != nil {
		return err
	}
	defer scratch.Close()

	secret := benchkit.RandomHex(24)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	env := map[string]string{
		"VHUPAY_DATABASE_URL": scratch.URL, "VHUPAY_JWT_SECRET": secret, "VHUPAY_ADDR": ln.Addr().String(),
		"VHUPAY_PSP": "sandbox", "VHUPAY_SCORING": "sandbox", "VHUPAY_RATE_LIMIT": "off", "VHUPAY_HOOK_RATE_LIMIT": "off",
	}
	if n := os.Getenv("VHUPAY_DB_MAX_CONNS"); n != "" {
		env["VHUPAY_DB_MAX_CONNS"] = n
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	began := time.Now()
	for _, q := range loadSQL {
		if o.reuse != "" {
			break
		}
		q = strings.NewReplacer(":buyers", fmt.Sprint(o.buyers), ":centers", fmt.Sprint(o.centers), ":orders", fmt.Sprint(o.orders),
			":ledger_lines", fmt.Sprint(o.ledgerLines), ":statement_lines", fmt.Sprint(o.statementLines)).Replace(q)
		if _, err := a.DB.SQL().ExecContext(ctx, q); err != nil {
			return fmt.Errorf("load %.70s…: %w", strings.TrimSpace(q), err)
		}
	}
	if o.reuse != "" {
		fmt.Printf("reused database %s (loaded by an earlier run)\n", o.reuse)
	} else {
		fmt.Printf("loaded %d orders (with lines, delivery notes and intents) over %d buyers and %d centres, %d balance transactions of one centre, "+
			"a statement of %d orders in %s (set-based SQL)\n", o.orders, o.buyers, o.centers, o.ledgerLines, o.statementLines,
			time.Since(began).Round(time.Second))
		// The load leaves gigabytes of dirty buffers: without a checkpoint now, the checkpointer
		// writes them during the first reads measured.
		if _, err := scratch.Admin.SQL().ExecContext(ctx, "CHECKPOINT"); err != nil {
			return err
		}
	}

	reads, err := reads(ctx, a.DB, o, secret)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: o.clients * 2, MaxIdleConnsPerHost: o.clients * 2,
		IdleConnTimeout: time.Minute}, Timeout: time.Minute}
	// The load generator shares the machine's two cores with the server and PostgreSQL, so it
	// must cost little: fasthttp's client makes each call in the caller's goroutine over a
	// keep-alive connection (net/http's hands each one to a reader and a writer goroutine per
	// connection: a fifth of the process's CPU on a buyer's page of orders) and reads an answer
	// (16 KB for a page of orders) in one read.
	load := &fasthttp.HostClient{Addr: ln.Addr().String(), MaxConns: o.clients * 2, ReadBufferSize: 64 << 10,
		MaxIdleConnDuration: time.Minute, MaxConnWaitTimeout: time.Minute, ReadTimeout: time.Minute, WriteTimeout: time.Minute}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	// Each read is driven -rounds times, the rounds interleaved (every read once, then every read
	// again), and its medians printed: one round's p99 on these shared 2-core machines moves by
	// a third from one minute to the next, the same method as cmd/vhupay-bench's. The p99 of
	// every round is printed too.
	var selected []read
	for _, r := range reads {
		if o.only == "" || strings.Contains(r.name, o.only) {
			selected = append(selected, r)
		}
	}
	rounds := make([][]measured, len(selected))
	for round := range o.rounds {
		for k, r := range selected {
			clients := o.clients
			if r.clients > 0 {
				clients = r.clients
			}
			if o.warmup > 0 {
				drive(load, base, r, clients, o.warmup)
			}
			goCPU0, pgCPU0 := processCPU(os.Getpid()), backendsCPU(ctx, scratch.Admin, scratch.Name)
			res := drive(load, base, r, clients, o.duration)
			goCPU, pgCPU := processCPU(os.Getpid())-goCPU0, backendsCPU(ctx, scratch.Admin, scratch.Name)-pgCPU0
			rounds[k] = append(rounds[k], measured{result: res, goCPU: goCPU, pgCPU: pgCPU})
			if o.rounds > 1 {
				fmt.Fprintf(os.Stderr, "round %d/%d: %s: p99 %.2f ms\n", round+1, o.rounds, r.name, benchkit.MS(res.p99))
			}
		}
	}
	title := fmt.Sprintf("read (%d clients, %s", o.clients, o.duration)
	if o.rounds > 1 {
		title += fmt.Sprintf(", median of %d", o.rounds)
	}
	fmt.Printf("\n%-44s %9s %9s %9s %9s %9s %7s  %s\n", title+")", "req/s", "p50 ms", "p99 ms", "go µs/req", "pg µs/req", "errors",
		"p99 ms of each round")
	for k, r := range selected {
		label := r.name
		if r.clients > 0 {
			label = fmt.Sprintf("%s, %d client", r.name, r.clients)
		}
		m := summarize(rounds[k])
		fmt.Printf("%-44s %9.0f %9.2f %9.2f %9.0f %9.0f %7d %s  %s\n", label, m.rate, m.p50, m.p99, m.goUS, m.pgUS, m.errors, m.errorSummary,
			m.p99s)
	}
	if o.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if o.memProfile != "" {
		if err := writeHeapProfile(o.memProfile); err != nil {
			return err
		}
	}
	if o.explain {
		return explain(ctx, scratch.Admin, a.DB, scratch.Name, client, base, reads, o.only)
	}
	return nil
}

// reads are the GETs measured, with the data they need.
func reads(ctx context.Context, store *storage.DB, o options, secret string) ([]read, error) {
	db := store.SQL()
	buyerTok := make([]string, min(o.buyers, 1000))
	for i := range buyerTok {
		t, err := auth.Sign(secret, "vhupay", "vhupay-api", auth.Principal{Subject: "bench", Role: auth.RoleBuyer,
			Org: buyerID(1 + i*(o.buyers/len(buyerTok)))}, time.Now(), 24*time.Hour)
		if err != nil {
			return nil, err
		}
		buyerTok[i] = t
	}
	centerTok, err := auth.Sign(secret, "vhupay", "vhupay-api", auth.Principal{Subject: "bench", Role: auth.RoleCenter,
		Org: "ctr_" + md5hex("c1")}, time.Now(), 24*time.Hour)
	if err != nil {
		return nil, err
	}
	adminTok, err := auth.Sign(secret, "vhupay", "vhupay-api", auth.Principal{Subject: "bench", Role: auth.RoleAdmin}, time.Now(), 24*time.Hour)
	if err != nil {
		return nil, err
	}
	// A deep cursor: the page after 90 % of every order, newest first.
	var deepID string
	if err := db.QueryRowContext(ctx, `SELECT id FROM orders ORDER BY id DESC OFFSET $1 LIMIT 1`, o.orders*9/10).Scan(&deepID); err != nil {
		return nil, fmt.Errorf("deep cursor: %w", err)
	}
	deep := base64.RawURLEncoding.EncodeToString([]byte(deepID))
	// Orders of the buyers whose tokens are used, for the intents of an order.
	orderOf := make([]string, len(buyerTok))
	for i := range orderOf {
		if err := db.QueryRowContext(ctx, `SELECT id FROM orders WHERE buyer_id = $1 LIMIT 1`, buyerID(1+i*(o.buyers/len(buyerTok)))).
			Scan(&orderOf[i]); err != nil {
			return nil, err
		}
	}
	pick := func(i int) int { return i % len(buyerTok) }
	statement := "stm_" + md5hex("s")
	return []read{
		{"GET /v1/orders (buyer, first page)", func(int) string { return "/v1/orders" }, func(i int) string { return buyerTok[pick(i)] }, 0},
		{"GET /v1/orders (admin, first page)", func(int) string { return "/v1/orders" }, func(int) string { return adminTok }, 0},
		{"GET /v1/orders (admin, deep cursor)", func(int) string { return "/v1/orders?cursor=" + deep }, func(int) string { return adminTok }, 0},
		{"GET /v1/orders (centre, first page)", func(int) string { return "/v1/orders" }, func(int) string { return centerTok }, 0},
		{"GET /v1/sepa (buyer)", func(int) string { return "/v1/sepa" }, func(i int) string { return buyerTok[pick(i)] }, 0},
		{"GET /v1/payment-intents?order_id=", func(i int) string { return "/v1/payment-intents?order_id=" + orderOf[pick(i)] },
			func(i int) string { return buyerTok[pick(i)] }, 0},
		{"GET /v1/balance-transactions", func(int) string { return "/v1/balance-transactions" }, func(int) string { return centerTok }, 0},
		{"GET /v1/statements/{id}/export.csv", func(int) string { return "/v1/statements/" + statement + "/export.csv" },
			func(int) string { return centerTok }, 0},
		{"GET /v1/statements/{id}/export.csv", func(int) string { return "/v1/statements/" + statement + "/export.csv" },
			func(int) string { return centerTok }, 1},
	}, nil
}

// writeHeapProfile writes the process's heap profile (allocations since it started) to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func buyerID(n int) string { return "byr_" + md5hex(fmt.Sprintf("b%d", n)) }

// measured is one round of a read: its result and the CPU this process and PostgreSQL's
// backends spent during it.
type measured struct {
	result
	goCPU, pgCPU time.Duration
}

// summary is a read's medians over its rounds (ms for p50 and p99, µs of CPU per request), its
// errors summed, and each round's p99.
type summary struct {
	rate, p50, p99, goUS, pgUS float64
	errors                     int
	errorSummary, p99s         string
}

func summarize(rs []measured) summary {
	var rate, p50, p99, goUS, pgUS []float64
	var s summary
	var each, errs []string
	for _, m := range rs {
		n := float64(max(m.ok+m.errors, 1))
		rate, p50, p99 = append(rate, m.rate()), append(p50, benchkit.MS(m.p50)), append(p99, benchkit.MS(m.p99))
		goUS, pgUS = append(goUS, float64(m.goCPU.Microseconds())/n), append(pgUS, float64(m.pgCPU.Microseconds())/n)
		s.errors += m.errors
		each = append(each, fmt.Sprintf("%.2f", benchkit.MS(m.p99)))
		if e := m.errorSummary(); e != "" {
			errs = append(errs, e)
		}
	}
	s.rate, s.p50, s.p99 = benchkit.Median(rate), benchkit.Median(p50), benchkit.Median(p99)
	s.goUS, s.pgUS = benchkit.Median(goUS), benchkit.Median(pgUS)
	s.errorSummary, s.p99s = strings.Join(errs, " "), strings.Join(each, " ")
	return s
}

type result struct {
	ok, errors int
	byStatus   map[int]int
	elapsed    time.Duration
	p50, p99   time.Duration
}

func (r result) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

func (r result) errorSummary() string {
	var parts []string
	for s, n := range r.byStatus {
		if s != http.StatusOK {
			parts = append(parts, fmt.Sprintf("%d×%d", n, s))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

func drive(client *fasthttp.HostClient, base string, r read, clients int, d time.Duration) result {
	var mu sync.Mutex
	res := result{byStatus: map[int]int{}}
	var latencies []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for w := range clients {
		wg.Go(func() {
			var mine []time.Duration
			statuses := map[int]int{}
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for i := w; time.Now().Before(deadline); i += clients {
				req.Reset()
				req.SetRequestURI(base + r.path(i))
				req.Header.Set("Authorization", "Bearer "+r.tok(i))
				t0 := time.Now()
				err := client.Do(req, resp)
				status := 0
				if err == nil {
					status = resp.StatusCode()
				}
				statuses[status]++
				if status == http.StatusOK {
					mine = append(mine, time.Since(t0))
				}
			}
			mu.Lock()
			defer mu.Unlock()
			latencies = append(latencies, mine...)
			for s, n := range statuses {
				res.byStatus[s] += n
				if s == http.StatusOK {
					res.ok += n
				} else {
					res.errors += n
				}
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	slices.Sort(latencies)
	if n := len(latencies); n > 0 {
		res.p50 = latencies[n*50/100]
		res.p99 = latencies[min(n-1, n*99/100)]
	}
	return res
}

// explain loads auto_explain on every connection of vhupay's pool, makes each read once and
// prints the plans PostgreSQL logged for it.
func explain(ctx context.Context, admin, pool *storage.DB, dbName string, client *http.Client, base string, reads []read, only string) error {
	logFile, err := serverLog(ctx, admin)
	if err != nil {
		return err
	}
	if err := onPool(ctx, pool, "LOAD 'auto_explain'", "SET auto_explain.log_min_duration = 0", "SET auto_explain.log_analyze = on",
		"SET auto_explain.log_buffers = on", "SET auto_explain.log_timing = on"); err != nil {
		return err
	}
	defer func() { _ = onPool(ctx, pool, "SET auto_explain.log_min_duration = -1") }()
	fmt.Printf("\nPlans (auto_explain: EXPLAIN (ANALYZE, BUFFERS) of every statement of each read, from PostgreSQL's log)\n")
	var sorts []string
	for _, r := range reads {
		if (only != "" && !strings.Contains(r.name, only)) || r.clients > 0 {
			continue
		}
		var offset int64
		if err := admin.SQL().QueryRowContext(ctx, `SELECT size FROM pg_stat_file($1)`, logFile).Scan(&offset); err != nil {
			return err
		}
		req, _ := http.NewRequest(http.MethodGet, base+r.path(0), nil)
		req.Header.Set("Authorization", "Bearer "+r.tok(0))
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		time.Sleep(300 * time.Millisecond)
		var text string
		if err := admin.SQL().QueryRowContext(ctx, `SELECT pg_read_file($1, $2, (SELECT size FROM pg_stat_file($1)) - $2)`, logFile, offset).
			Scan(&text); err != nil {
			return err
		}
		fmt.Printf("\n### %s\n\n", r.name)
		for _, plan := range plans(text, dbName) {
			fmt.Println(shorten(plan))
			if sortsTable(plan) {
				sorts = append(sorts, r.name)
			}
		}
	}
	if len(sorts) > 0 {
		fmt.Printf("\nreads that scan a table whole (a sequential scan of %d rows or more): %s\n", bigScan, strings.Join(sorts, "; "))
	} else {
		fmt.Printf("\nno read scans a table whole (no sequential scan of %d rows or more): every one uses an index\n", bigScan)
	}
	return nil
}

var planStart = regexp.MustCompile(`^\S+ \S+ \S+ \[\d+\] \S+@(\S+) LOG:  duration: [\d.]+ ms  plan:`)

// plans returns the plans logged for database db in text (each a header line and its indented lines).
func plans(text, db string) []string {
	var out []string
	var cur *strings.Builder
	for _, l := range strings.Split(text, "\n") {
		if m := planStart.FindStringSubmatch(l); m != nil {
			if cur != nil {
				out = append(out, cur.String())
			}
			cur = nil
			if m[1] == db {
				cur = &strings.Builder{}
				cur.WriteString(l[strings.Index(l, "duration:"):] + "\n")
			}
			continue
		}
		if cur != nil && (strings.HasPrefix(l, "\t") || strings.HasPrefix(l, " ")) {
			cur.WriteString(l + "\n")
		} else if cur != nil && l != "" {
			out = append(out, cur.String())
			cur = nil
		}
	}
	if cur != nil {
		out = append(out, cur.String())
	}
	return out
}

// bigScan is a sequential scan that reads this many rows or more: a table read whole, not an
// index lookup (small tables are scanned whole by design).
const bigScan = 10000

var scanRows = regexp.MustCompile(`Seq Scan on (\S+) .*\(actual time=\S+ rows=(\d+) loops=(\d+)\)`)
var removedRows = regexp.MustCompile(`Rows Removed by Filter: (\d+)`)

// sortsTable reports whether a plan reads a table whole (a sequential scan of bigScan rows or
// more, kept or filtered out), for a sort or otherwise.
func sortsTable(plan string) bool {
	lines := strings.Split(plan, "\n")
	for i, l := range lines {
		m := scanRows.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		var rows, loops, removed int
		fmt.Sscan(m[2], &rows)
		fmt.Sscan(m[3], &loops)
		for _, next := range lines[i+1 : min(i+4, len(lines))] {
			if r := removedRows.FindStringSubmatch(next); r != nil {
				fmt.Sscan(r[1], &removed)
			}
		}
		if (rows+removed)*max(loops, 1) >= bigScan {
			return true
		}
	}
	return false
}

// shorten cuts the long lines of a plan (the query text of a long IN list).
func shorten(plan string) string {
	lines := strings.Split(plan, "\n")
	for i, l := range lines {
		if len(l) > 220 {
			lines[i] = l[:200] + fmt.Sprintf("… (%d characters)", len(l))
		}
	}
	return strings.Join(lines, "\n")
}

func serverLog(ctx context.Context, store *storage.DB) (string, error) {
	db := store.SQL()
	var logFile string
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(pg_current_logfile(), '')`).Scan(&logFile); err != nil {
		return "", err
	}
	if logFile != "" {
		return logFile, nil
	}
	var major int
	if err := db.QueryRowContext(ctx, `SELECT current_setting('server_version_num')::int / 10000`).Scan(&major); err != nil {
		return "", err
	}
	return fmt.Sprintf("/var/log/postgresql/postgresql-%d-main.log", major), nil
}

// onPool runs the statements on every connection the pool may open (all held at once).
func onPool(ctx context.Context, store *storage.DB, stmts ...string) error {
	db := store.SQL()
	n := db.Stats().MaxOpenConnections
	if n <= 0 || n > 100 {
		n = 100
	}
	conns := make([]io.Closer, 0, n)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for range n {
		c, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		conns = append(conns, c)
		for _, s := range stmts {
			if _, err := c.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
	}
	return nil
}

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// processCPU is the CPU time (user and system) process pid has used so far, from /proc; 0 when
// unreadable. For this process it counts the server and the load generator.
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command may hold spaces
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	var utime, stime int64
	fmt.Sscan(f[11], &utime)
	fmt.Sscan(f[12], &stime)
	return time.Duration(utime+stime) * clockTick
}

// backendsCPU is the CPU time used so far by the PostgreSQL backends connected to database db
// (PostgreSQL runs on this machine): vhupay's pool keeps its connections, so the difference
// over a run is the database's share of the run's work.
func backendsCPU(ctx context.Context, admin *storage.DB, db string) time.Duration {
	rows, err := admin.SQL().QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = $1`, db)
	if err != nil {
		return 0
	}
	defer rows.Close()
	var total time.Duration
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) == nil {
			total += processCPU(pid)
		}
	}
	return total
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
