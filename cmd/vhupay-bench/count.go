package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/vhupay/vhupay/internal/storage"
)

// statementCount is what PostgreSQL's own log shows of a run: the statements vhupay's pool
// sent, and how many of them committed something (an explicit COMMIT, or a statement outside a
// transaction, which commits on its own).
type statementCount struct {
	payments   int
	statements int
	commits    int
	perStmt    map[string]int // statement kind (first words) → count
	pings      int
	// readsOutside are the reads run outside a transaction (each its own read-only transaction,
	// which flushes nothing).
	readsOutside int
	// writers is how many transactions wrote the rows of the run's payments: the distinct
	// xmin (the id of the transaction that wrote a row version) of their intents, events,
	// fan-out jobs, idempotency records and confirmed orders. It does not depend on how the
	// statements were sent (a statement on its own, or BEGIN … COMMIT).
	writers int
}

// writes reports whether an upper-cased statement writes (INSERT, UPDATE, DELETE, or a WITH
// that does).
func writes(up string) bool {
	for _, w := range []string{"INSERT ", "UPDATE ", "DELETE ", "MERGE "} {
		if strings.HasPrefix(up, w) || (strings.HasPrefix(up, "WITH ") && strings.Contains(up, w)) {
			return true
		}
	}
	return false
}

// countStatements turns log_statement=all on for every connection of vhupay's pool, drives
// payments from one connection for d, turns it off, and reads the server's log (pg_read_file:
// the benchmark connects as a superuser) for the lines of vhupay's database in that window.
// The process runs no background jobs (the server is not Run), so every statement of the pool
// in the window is a payment request's.
func countStatements(ctx context.Context, admin, app *storage.DB, appDB string, client *fasthttp.HostClient, base string,
	orders []benchOrder, next *atomic.Int64, d time.Duration, idemKey bool) (statementCount, error) {
	var logFile string
	if err := admin.SQL().QueryRowContext(ctx, `SELECT COALESCE(pg_current_logfile(), '')`).Scan(&logFile); err != nil {
		return statementCount{}, fmt.Errorf("pg_current_logfile: %w", err)
	}
	if logFile == "" {
		// No logging collector: the Debian package's stderr log.
		var major int
		if err := admin.SQL().QueryRowContext(ctx, `SELECT current_setting('server_version_num')::int / 10000`).Scan(&major); err != nil {
			return statementCount{}, err
		}
		logFile = fmt.Sprintf("/var/log/postgresql/postgresql-%d-main.log", major)
	}
	var offset int64
	if err := admin.SQL().QueryRowContext(ctx, `SELECT size FROM pg_stat_file($1)`, logFile).Scan(&offset); err != nil {
		return statementCount{}, fmt.Errorf("read the size of %s: %w", logFile, err)
	}
	if err := setOnPool(ctx, app, "SET log_statement = 'all'"); err != nil {
		return statementCount{}, err
	}
	var start time.Time
	if err := admin.SQL().QueryRowContext(ctx, `SELECT now()`).Scan(&start); err != nil {
		return statementCount{}, err
	}
	r := drive(client, base, orders, next, 1, d, idemKey)
	if err := setOnPool(ctx, app, "SET log_statement = 'none'"); err != nil {
		return statementCount{}, err
	}
	time.Sleep(200 * time.Millisecond) // let the server flush its log
	var text string
	if err := admin.SQL().QueryRowContext(ctx, `SELECT pg_read_file($1, $2, (SELECT size FROM pg_stat_file($1)) - $2)`,
		logFile, offset).Scan(&text); err != nil {
		return statementCount{}, fmt.Errorf("read %s: %w", logFile, err)
	}
	c := parseStatements(text, appDB)
	c.payments = r.ok
	if err := app.SQL().QueryRowContext(ctx, writersSQL, start).Scan(&c.writers); err != nil {
		return c, fmt.Errorf("count the writing transactions: %w", err)
	}
	if r.errors > 0 {
		return c, fmt.Errorf("statement count run: %d errors (%s)", r.errors, r.errorSummary())
	}
	return c, nil
}

// writersSQL counts the transactions that wrote the rows of the payments made since $1.
const writersSQL = `SELECT count(DISTINCT x) FROM (
	SELECT xmin::text AS x FROM payment_intents WHERE created_at >= $1
	UNION ALL SELECT xmin::text FROM events WHERE created_at >= $1
	UNION ALL SELECT xmin::text FROM river_job WHERE created_at >= $1
	UNION ALL SELECT xmin::text FROM event_outbox WHERE created_at >= $1
	UNION ALL SELECT xmin::text FROM idempotency_keys WHERE created_at >= $1
	UNION ALL SELECT o.xmin::text FROM orders o JOIN payment_intents i ON i.order_id = o.id WHERE i.created_at >= $1) t`

// setOnPool runs a SET on as many connections of the pool as it holds (all of them at once, so
// that each is a different one).
func setOnPool(ctx context.Context, store *storage.DB, set string) error {
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
		if _, err := c.ExecContext(ctx, set); err != nil {
			return fmt.Errorf("%s: %w", set, err)
		}
	}
	return nil
}

// logLine is a statement line of the default Debian log_line_prefix '%m [%p] %q%u@%d '.
var logLine = regexp.MustCompile(`^\S+ \S+ \S+ \[(\d+)\] \S+@(\S+) LOG:  (?:statement|execute [^:]*): (.*)$`)

func parseStatements(text, db string) statementCount {
	c := statementCount{perStmt: map[string]int{}}
	inTx := map[string]bool{} // pid → inside BEGIN … COMMIT
	// A statement of several lines is logged on several: the first with the prefix, the others
	// indented with a tab. Each statement is taken whole before it is classified.
	var pid, stmt string
	pending := false
	flush := func() {
		if !pending {
			return
		}
		pending = false
		if strings.Contains(stmt, "log_statement") {
			return
		}
		if strings.HasPrefix(stmt, "-- ping") {
			c.pings++ // the driver's check of a connection taken from the pool: a round trip, no commit
			return
		}
		c.statements++
		kind := strings.ToUpper(strings.Join(firstWords(stmt, 3), " "))
		c.perStmt[kind]++
		switch up := strings.ToUpper(strings.Join(strings.Fields(stmt), " ")); {
		case strings.HasPrefix(up, "BEGIN"):
			inTx[pid] = true
		case strings.HasPrefix(up, "COMMIT"):
			inTx[pid] = false
			c.commits++
		case strings.HasPrefix(up, "ROLLBACK"):
			inTx[pid] = false
		default:
			if !inTx[pid] {
				if writes(up) {
					c.commits++ // a write outside a transaction commits on its own
				} else {
					c.readsOutside++ // a read on its own: no commit to flush
				}
			}
		}
	}
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "\t") {
			if pending {
				stmt += "\n" + l
			}
			continue
		}
		flush()
		m := logLine.FindStringSubmatch(l)
		if m == nil || m[2] != db {
			continue
		}
		pid, stmt, pending = m[1], strings.TrimSpace(m[3]), true
	}
	flush()
	return c
}

func firstWords(s string, n int) []string {
	f := strings.Fields(s)
	return f[:min(n, len(f))]
}
