package storage

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
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
