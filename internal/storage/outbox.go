package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vhupay/vhupay/internal/txn"
)

// The event outbox (migration 00830): a unit of work that emits events writes one row naming
// them (flushOutbox), in its own transaction, instead of their fan-out jobs; the job queue's
// dispatcher claims the rows in order and enqueues those jobs in the transaction that deletes
// them (DispatchOutbox). A crash before that commit keeps the rows, one after it has the jobs:
// never neither. A row dispatched twice (it cannot be, but a job may run twice) only repeats a
// fan-out, which is idempotent.

// flushOutbox writes the outbox row of the unit's events, when it emitted any and events fan
// out (SetEventJob).
func (u *unit) flushOutbox(ctx context.Context) error {
	ids, at := u.eventIDs, u.eventAt
	u.eventIDs = nil
	if len(ids) == 0 || u.db.eventJob == nil {
		return nil
	}
	b, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	if err := u.g.WithContext(ctx).Exec(`INSERT INTO event_outbox (event_ids, created_at) VALUES (?, ?)`, string(b), utc(at)).Error; err != nil {
		return err
	}
	u.outbox = true
	return nil
}

// noteEvents records events emitted by the unit (their outbox row is written before it commits).
func (u *unit) noteEvents(at time.Time, ids ...string) {
	u.eventIDs = append(u.eventIDs, ids...)
	if at.After(u.eventAt) {
		u.eventAt = at
	}
}

// OutboxWritten is signalled (without blocking: one signal may stand for several) when a unit
// of this process commits an outbox row, so that the dispatcher runs at once.
func (db *DB) OutboxWritten() <-chan struct{} { return db.outboxWake }

func (db *DB) outboxCommitted() {
	select {
	case db.outboxWake <- struct{}{}:
	default:
	}
}

// outboxJobsPerInsert bounds the jobs of one insert of a dispatch.
const outboxJobsPerInsert = 100

// DispatchOutbox claims up to limit of the oldest rows of the event outbox and, in the same
// transaction, enqueues their events' fan-out jobs (SetEventJob's, eventJobBatch events each, in
// one insert where the job queue can: see SetEnqueuer); the rows are deleted as it commits. It
// returns how many rows it claimed (0 at once without SetEventJob). On PostgreSQL, dispatchers of several processes claim
// different rows (SKIP LOCKED); SQLite has a single writer. The statement hook sees its
// statements, then "ENQUEUE …", "COMMIT" and "COMMITTED", as a unit's.
func (db *DB) DispatchOutbox(ctx context.Context, limit int) (int, error) {
	if db.eventJob == nil {
		return 0, nil // units write no outbox rows
	}
	if db.enqueuer == nil {
		return 0, fmt.Errorf("dispatch the event outbox: no job queue is set")
	}
	if limit <= 0 {
		limit = 1
	}
	claim := `DELETE FROM event_outbox WHERE id IN (SELECT id FROM event_outbox ORDER BY id LIMIT ?) RETURNING event_ids`
	if db.dialect == Postgres {
		claim = `DELETE FROM event_outbox WHERE id IN (SELECT id FROM event_outbox ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED) RETURNING event_ids`
	}
	// A read first: an idle dispatcher opens no write transaction (SQLite's single writer).
	var first []int64
	if err := db.gorm.WithContext(ctx).Raw(`SELECT id FROM event_outbox ORDER BY id LIMIT 1`).Scan(&first).Error; err != nil {
		return 0, fmt.Errorf("read the event outbox: %w", err)
	}
	if len(first) == 0 {
		return 0, nil
	}
	claimed := 0
	err := db.inUnit(ctx, func(u *unit) error {
		var rows []string
		if err := u.g.WithContext(ctx).Raw(claim, limit).Scan(&rows).Error; err != nil {
			return fmt.Errorf("claim the event outbox: %w", err)
		}
		claimed = len(rows)
		var ids []string
		for _, r := range rows {
			var some []string
			if err := json.Unmarshal([]byte(r), &some); err != nil {
				return fmt.Errorf("claim the event outbox: a row's events %q: %w", r, err)
			}
			ids = append(ids, some...)
		}
		// At most outboxJobsPerInsert jobs per insert: a claim of large units (a month close's
		// batches) stays within SQLite's parameters per statement.
		return chunk(db.eventJobs(ids), outboxJobsPerInsert, func(jobs []txn.Job) error { return u.EnqueueAll(ctx, jobs) })
	})
	if err != nil {
		return 0, err
	}
	return claimed, nil
}

// OutboxSize is how many rows wait in the event outbox (tests, operators).
func (db *DB) OutboxSize(ctx context.Context) (int64, error) {
	var n int64
	err := db.gorm.WithContext(ctx).Raw(`SELECT COUNT(*) FROM event_outbox`).Scan(&n).Error
	return n, err
}
