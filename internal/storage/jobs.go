package storage

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// OpenJobsDB opens the job queue's own pool on an embedded SQLite database named by a vhupay URL
// (sqlite://<path>): the same file and DSN as Open, one connection (River's SQLite driver works
// on a single connection). On PostgreSQL the job queue shares the DB's pool (DB.SQL) instead.
func OpenJobsDB(url string) (*sql.DB, error) {
	path, ok := strings.CutPrefix(url, "sqlite://")
	if !ok {
		return nil, errors.New("open job queue database: not a sqlite:// URL")
	}
	pool, err := sql.Open("sqlite", SQLiteDSN(path))
	if err != nil {
		return nil, fmt.Errorf("open job queue database: %w", err)
	}
	pool.SetMaxOpenConns(1)
	return pool, nil
}

// sqlTx returns the *sql.Tx under a gorm transaction, for work that must commit with it (a job
// enqueued by the job queue's InsertTx in the same transaction as the rows it works on).
func sqlTx(tx *gorm.DB) (*sql.Tx, error) {
	t, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return nil, errors.New("storage: not inside a transaction")
	}
	return t, nil
}
