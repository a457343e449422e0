package storage

// The storage helpers every repository shares: the dialect (PostgreSQL or SQLite), the raw
// statements of the hot paths, errors, times and transactions.

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// isPostgres reports whether g talks to PostgreSQL.
func isPostgres(g *gorm.DB) bool { return g.Dialector.Name() == Postgres }

// conn returns the connection pool or the transaction under g, for the hot statements that skip
// gorm's statement building and scanning. Their errors go through translate.
func conn(g *gorm.DB) gorm.ConnPool { return g.Statement.ConnPool }

// translate maps a driver error as gorm's TranslateError does (gorm.ErrDuplicatedKey, ...).
func translate(g *gorm.DB, err error) error {
	if t, ok := g.Dialector.(gorm.ErrorTranslator); ok && err != nil {
		return t.Translate(err)
	}
	return err
}

// sqlFor returns q with its placeholders in g's dialect.
func sqlFor(g *gorm.DB, q string) string {
	if isPostgres(g) {
		return q
	}
	return strings.ReplaceAll(q, "$", "?")
}

// sqlTx returns the *sql.Tx under a gorm transaction, for work that must commit with it (a job
// enqueued by the job queue's InsertTx in the same transaction as the rows it works on).
func sqlTx(tx *gorm.DB) (*sql.Tx, error) {
	pool := tx.Statement.ConnPool
	if h, ok := pool.(hookedPool); ok {
		pool = h.tx
	}
	t, ok := pool.(*sql.Tx)
	if !ok {
		return nil, errors.New("storage: not inside a transaction")
	}
	return t, nil
}

// withSQLTx calls fn with the *sql.Tx under tx.
func withSQLTx(tx *gorm.DB, fn func(*sql.Tx) error) error {
	t, err := sqlTx(tx)
	if err != nil {
		return err
	}
	return fn(t)
}

// truncateText keeps at most n bytes of s, cut on a character boundary.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// inTx runs fn in a transaction on g (or joins g's transaction when g already is one).
func inTx(ctx context.Context, g *gorm.DB, fn func(tx *gorm.DB) error) error {
	return g.WithContext(ctx).Transaction(fn)
}

// isUnique reports a unique constraint violation.
func isUnique(err error) bool { return errors.Is(err, gorm.ErrDuplicatedKey) }

// isNotFound reports a missing row.
func isNotFound(err error) bool { return errors.Is(err, gorm.ErrRecordNotFound) }

// utc is t as stored: UTC, microseconds.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// updateReturning runs UPDATE table SET set WHERE where RETURNING id — one statement however
// many rows it changes (both databases support RETURNING) — and returns the ids of the rows it
// changed, sorted, so that the events the caller then writes per row come in a stable order.
func updateReturning(tx *gorm.DB, table string, set map[string]any, where string, args ...any) ([]string, error) {
	cols := make([]string, 0, len(set))
	for c := range set {
		cols = append(cols, c)
	}
	slices.Sort(cols)
	var q strings.Builder
	q.WriteString("UPDATE " + table + " SET ")
	vals := make([]any, 0, len(cols)+len(args))
	for i, c := range cols {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(c + " = ?")
		vals = append(vals, set[c])
	}
	q.WriteString(" WHERE " + where + " RETURNING id")
	var ids []string
	if err := tx.Raw(q.String(), append(vals, args...)...).Scan(&ids).Error; err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return ids, nil
}
