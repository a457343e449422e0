package storage

import (
	"context"
	"database/sql"

	"gorm.io/gorm"
)

// Option changes how Open sets a database up.
type Option func(*DB)

// DefaultMaxConns is the size of a process's PostgreSQL pool unless WithMaxConns sets it
// (VHUPAY_DB_MAX_CONNS). The pool caps how many statements the process runs at once: past a few
// active connections per core of the database server, more only add contention (on a 2-core
// server the SEPA payment made 1,218 payments a second with 64 clients on a pool of 40, and
// 1,489 on a pool of 16; see docs/benchmarks.md). Requests beyond it wait for a connection.
const DefaultMaxConns = 16

// WithMaxConns sets the size of the PostgreSQL pool (n ≥ 1; SQLite's is fixed).
func WithMaxConns(n int) Option {
	return func(db *DB) {
		if n >= 1 {
			db.maxConns = n
		}
	}
}

// DefaultReadConcurrency is how many reads of complete orders a process runs on PostgreSQL at
// once unless WithReadConcurrency sets it (VHUPAY_DB_READ_CONCURRENCY); see readGate.
const DefaultReadConcurrency = 4

// WithReadConcurrency sets how many reads of complete orders the process runs on PostgreSQL at
// once (n ≥ 1; see readGate).
func WithReadConcurrency(n int) Option {
	return func(db *DB) {
		if n >= 1 {
			db.readConcurrency = n
		}
	}
}

// StatementHook is called inside every unit of work before each of its statements (with the
// statement's SQL), before a job is enqueued ("ENQUEUE <kind>"), before the unit commits
// ("COMMIT") and after it committed ("COMMITTED"). It exists for fault-injection tests: a hook
// that panics there is a process that dies at that point (a panic before the commit rolls the
// unit back, as the database does with a dead connection; one after it leaves the unit
// committed and the request unanswered). An error it returns fails the statement. Production
// sets none: units then run on the transaction itself, with no wrapper.
type StatementHook func(ctx context.Context, statement string) error

// WithStatementHook sets h (see StatementHook).
func WithStatementHook(h StatementHook) Option { return func(db *DB) { db.hook = h } }

// hookedPool is a unit's transaction with the statement hook called before each statement.
type hookedPool struct {
	tx   gorm.ConnPool
	hook StatementHook
}

func (p hookedPool) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	if err := p.hook(ctx, query); err != nil {
		return nil, err
	}
	return p.tx.PrepareContext(ctx, query)
}

func (p hookedPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := p.hook(ctx, query); err != nil {
		return nil, err
	}
	return p.tx.ExecContext(ctx, query, args...)
}

func (p hookedPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := p.hook(ctx, query); err != nil {
		return nil, err
	}
	return p.tx.QueryContext(ctx, query, args...)
}

func (p hookedPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if err := p.hook(ctx, query); err != nil {
		// A *sql.Row carries no error of our making: a context cancelled with err makes the
		// row's Scan fail.
		failed, cancel := context.WithCancelCause(ctx)
		cancel(err)
		return p.tx.QueryRowContext(failed, query, args...)
	}
	return p.tx.QueryRowContext(ctx, query, args...)
}

// hooked returns g with its statements going through the hook, or g itself without one.
func (db *DB) hooked(ctx context.Context, g *gorm.DB) *gorm.DB {
	if db.hook == nil {
		return g
	}
	h := g.Session(&gorm.Session{Context: ctx})
	h.Statement.ConnPool = hookedPool{tx: g.Statement.ConnPool, hook: db.hook}
	return h
}

// callHook calls the hook, when there is one, at a named point of a unit.
func (db *DB) callHook(ctx context.Context, point string) error {
	if db.hook == nil {
		return nil
	}
	return db.hook(ctx, point)
}
