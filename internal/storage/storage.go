// Package storage is the only package that knows SQL and gorm. It opens the embedded SQLite
// database or PostgreSQL, applies the migrations, and implements the storage interfaces that the
// business packages declare, mapping rows to domain types and driver errors to domain errors.
//
// Time columns are written in UTC at microsecond precision on both databases (SQLite stores them
// as fixed-format text, which sorts like the instants it holds).
package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	neturl "net/url"
	"strings"
	"time"

	"github.com/libtnb/sqlite"
	"github.com/pressly/goose/v3"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/vhupay/vhupay/internal/txn"
	"github.com/vhupay/vhupay/migrations"
)

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// DB is an open database.
type DB struct {
	gorm     *gorm.DB
	sql      *sql.DB
	dialect  string
	render   txn.Renderer                     // see SetRenderer
	enqueuer Enqueuer                         // see SetEnqueuer
	eventJob func(eventIDs ...string) txn.Job // see SetEventJob
	gates    *MonthGates                      // see NewMonthGates
	earnings bool                             // see NewEarnings
	standing SEPAStanding                     // see SetSEPAStanding
	initial  int64                            // the SEPA ceiling of a reinstated buyer (SetSEPAStanding)
	hook     StatementHook                    // see WithStatementHook
	maxConns int                              // see WithMaxConns
	// readConcurrency and reads: see WithReadConcurrency and readGate.
	readConcurrency int
	reads           readGate
	// outboxWake is signalled when a unit commits an event outbox row (see OutboxWritten).
	outboxWake chan struct{}
}

// Open connects to a database named by a vhupay URL: sqlite://<path> or postgres://... .
// It does not migrate; call Migrate.
func Open(ctx context.Context, url string, opts ...Option) (*DB, error) {
	var dialector gorm.Dialector
	var dialect string
	switch {
	case strings.HasPrefix(url, "sqlite://"):
		dialect = SQLite
		dialector = sqlite.Open(SQLiteDSN(strings.TrimPrefix(url, "sqlite://")))
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		dialect = Postgres
		dsn, err := withoutJIT(url)
		if err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
		dialector = postgres.New(postgres.Config{DSN: dsn})
	default:
		return nil, fmt.Errorf("open database: unsupported URL scheme")
	}
	g, err := gorm.Open(dialector, &gorm.Config{
		Logger:                 logger.New(discard{}, logger.Config{LogLevel: logger.Silent}),
		TranslateError:         true,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
	})
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	db := &DB{gorm: g, sql: sqlDB, dialect: dialect, outboxWake: make(chan struct{}, 1), maxConns: DefaultMaxConns,
		readConcurrency: DefaultReadConcurrency}
	for _, o := range opts {
		o(db)
	}
	db.reads = make(readGate, db.readConcurrency)
	if dialect == SQLite {
		sqlDB.SetMaxOpenConns(8)
	} else {
		sqlDB.SetMaxOpenConns(db.maxConns)
		sqlDB.SetMaxIdleConns(db.maxConns)
	}
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.Ping(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	return db, nil
}

// withoutJIT adds jit=off (a run-time parameter of the connections) to a PostgreSQL URL that
// does not set jit. PostgreSQL compiles with LLVM any statement whose estimated cost passes
// jit_above_cost; the month close's set-based reads of 1,000 buyers are estimated far above it
// (their scalar subqueries) and spent 0.7–1.5 s compiling per batch, for a few milliseconds of
// execution: most of refresh_scores at 100,000 buyers. No statement of vhupay gains from it.
func withoutJIT(raw string) (string, error) {
	u, err := neturl.Parse(raw)
	if err != nil {
		return "", errors.New("the PostgreSQL URL cannot be parsed")
	}
	q := u.Query()
	if q.Has("jit") {
		return raw, nil
	}
	q.Set("jit", "off")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// SQLiteDSN is the modernc DSN for a database file: WAL, a busy timeout, immediate write
// transactions (so read-then-write transactions never fail with SQLITE_BUSY), foreign keys and a
// sortable time format.
func SQLiteDSN(path string) string {
	return "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)&_txlock=immediate&_time_format=sqlite"
}

type discard struct{}

func (discard) Printf(string, ...any) {}

// Dialect returns SQLite or Postgres.
func (db *DB) Dialect() string { return db.dialect }

// SQL returns the underlying database handle (for the job queue).
func (db *DB) SQL() *sql.DB { return db.sql }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := db.sql.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s database: %w", db.dialect, err)
	}
	return nil
}

// Close closes the connections.
func (db *DB) Close() error { return db.sql.Close() }

func (db *DB) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations.FS, db.dialect)
	if err != nil {
		return nil, err
	}
	d := goose.DialectPostgres
	if db.dialect == SQLite {
		d = goose.DialectSQLite3
	}
	return goose.NewProvider(d, db.sql, sub, goose.WithAllowOutofOrder(true))
}

// Migrate applies every pending migration.
func (db *DB) Migrate(ctx context.Context, log *slog.Logger) error {
	p, err := db.provider()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, r := range results {
		log.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration_ms", r.Duration.Milliseconds())
	}
	return nil
}

// MigrationStatus writes one line per migration: its version, file and whether it is applied.
func (db *DB) MigrationStatus(ctx context.Context, w io.Writer) error {
	p, err := db.provider()
	if err != nil {
		return fmt.Errorf("migration status: %w", err)
	}
	statuses, err := p.Status(ctx)
	if err != nil {
		return fmt.Errorf("migration status: %w", err)
	}
	for _, s := range statuses {
		applied := "pending"
		if s.State == goose.StateApplied {
			applied = "applied " + s.AppliedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%05d  %-40s %s\n", s.Source.Version, s.Source.Path, applied)
	}
	return nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := utc(*t)
	return &v
}

// Describe names a database URL without its credentials, for logs and banners.
func Describe(url string) string {
	if strings.HasPrefix(url, "sqlite://") {
		return "embedded SQLite " + strings.TrimPrefix(url, "sqlite://")
	}
	if i := strings.LastIndex(url, "@"); i >= 0 {
		return "PostgreSQL " + url[i+1:]
	}
	return "PostgreSQL"
}
