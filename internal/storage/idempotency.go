package storage

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/vhupay/vhupay/internal/idempotency"
)

type idempotencyRow struct {
	Scope       string `gorm:"primaryKey"`
	Key         string `gorm:"primaryKey"`
	RequestHash string
	State       string
	Status      int
	ContentType string
	Location    string
	Body        []byte
	CreatedAt   time.Time
	LockedUntil time.Time
	ExpiresAt   time.Time
}

func (idempotencyRow) TableName() string { return "idempotency_keys" }

// Idempotency implements idempotency.Store.
type Idempotency struct{ db *gorm.DB }

var _ idempotency.Store = Idempotency{}

// NewIdempotency returns the idempotency key store.
func NewIdempotency(db *DB) Idempotency { return Idempotency{db: db.gorm} }

// The statements of every POST with a key, written out (no statement building): the marker's
// insert and the answer's update. Placeholders are PostgreSQL's; SQLite reads them as ?NNN.
const (
	insertIdempotencySQL = `INSERT INTO idempotency_keys (scope, key, request_hash, state, created_at, locked_until, expires_at)
	VALUES ($1, $2, $3, 'running', $4, $5, $6) ON CONFLICT DO NOTHING`
	// keepIdempotencySQL writes a completed record in a unit of work; a record of the key that
	// expired is replaced, any other is kept (no row written).
	keepIdempotencySQL = `INSERT INTO idempotency_keys (scope, key, request_hash, state, status, content_type, location, body, created_at, locked_until, expires_at)
	VALUES ($1, $2, $3, 'done', $4, $5, $6, $7, $8, $9, $10) ` + keepIdempotencyConflictSQL
	// keepIdempotencyConflictSQL is keepIdempotencySQL's conflict clause (also the one-trip
	// payment's): a record of the key that expired is replaced, any other is kept.
	keepIdempotencyConflictSQL = `ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, state = 'done', status = excluded.status,
		content_type = excluded.content_type, location = excluded.location, body = excluded.body,
		created_at = excluded.created_at, locked_until = excluded.locked_until, expires_at = excluded.expires_at
	WHERE idempotency_keys.expires_at < excluded.created_at`
	completeIdempotencySQL = `UPDATE idempotency_keys SET state = 'done', status = $1, content_type = $2, location = $3, body = $4
	WHERE scope = $5 AND key = $6 AND state = 'running' AND locked_until = $7`
)

// Insert implements idempotency.Store: one statement when the key is new.
func (s Idempotency) Insert(ctx context.Context, rec idempotency.Record) (idempotency.Record, bool, error) {
	res, err := conn(s.db).ExecContext(ctx, sqlFor(s.db, insertIdempotencySQL), rec.Scope, rec.Key, rec.RequestHash,
		utc(rec.CreatedAt), utc(rec.LockedUntil), utc(rec.ExpiresAt))
	if err != nil {
		return idempotency.Record{}, false, translate(s.db, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return idempotency.Record{}, false, err
	}
	if n == 1 {
		return rec, true, nil
	}
	var existing idempotencyRow
	if err := s.db.WithContext(ctx).Where("scope = ? AND key = ?", rec.Scope, rec.Key).Take(&existing).Error; err != nil {
		if isNotFound(err) {
			// Abandoned between our insert and this read: a zero record reads as expired, and
			// the caller tries again.
			return idempotency.Record{}, false, nil
		}
		return idempotency.Record{}, false, err
	}
	return idempotency.Record{
		Scope: existing.Scope, Key: existing.Key, RequestHash: existing.RequestHash, Done: existing.State == "done",
		Response:  idempotency.Response{Status: existing.Status, ContentType: existing.ContentType, Location: existing.Location, Body: existing.Body},
		CreatedAt: existing.CreatedAt, LockedUntil: existing.LockedUntil, ExpiresAt: existing.ExpiresAt,
	}, false, nil
}

// Relock implements idempotency.Store.
func (s Idempotency) Relock(ctx context.Context, scope, key string, now, until time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&idempotencyRow{}).
		Where("scope = ? AND key = ? AND state = 'running' AND locked_until <= ?", scope, key, utc(now)).
		Update("locked_until", utc(until))
	return res.RowsAffected == 1, res.Error
}

// Renew implements idempotency.Store.
func (s Idempotency) Renew(ctx context.Context, scope, key string, lockedUntil, until time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&idempotencyRow{}).
		Where("scope = ? AND key = ? AND state = 'running' AND locked_until = ?", scope, key, utc(lockedUntil)).
		Update("locked_until", utc(until))
	return res.RowsAffected == 1, res.Error
}

// Complete implements idempotency.Store.
func (s Idempotency) Complete(ctx context.Context, scope, key string, lockedUntil time.Time, r idempotency.Response) error {
	_, err := conn(s.db).ExecContext(ctx, sqlFor(s.db, completeIdempotencySQL), r.Status, r.ContentType, r.Location, r.Body, scope, key, utc(lockedUntil))
	return translate(s.db, err)
}

// Delete implements idempotency.Store.
func (s Idempotency) Delete(ctx context.Context, scope, key string, lockedUntil time.Time) error {
	return s.db.WithContext(ctx).Where("scope = ? AND key = ? AND state = 'running' AND locked_until = ?", scope, key, utc(lockedUntil)).
		Delete(&idempotencyRow{}).Error
}

// DeleteExpired implements idempotency.Store.
func (s Idempotency) DeleteExpired(ctx context.Context, scope, key string, now time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Where("scope = ? AND key = ? AND expires_at < ?", scope, key, utc(now)).Delete(&idempotencyRow{})
	return res.RowsAffected == 1, res.Error
}

// Purge implements idempotency.Store.
func (s Idempotency) Purge(ctx context.Context, now time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Where("expires_at < ?", utc(now)).Delete(&idempotencyRow{})
	return res.RowsAffected, res.Error
}

// KeepAnswer implements payments.Tx: one statement.
func (t paymentsUnit) KeepAnswer(ctx context.Context, rec idempotency.Record) (bool, error) {
	r := rec.Response
	res, err := conn(t.g).ExecContext(ctx, sqlFor(t.g, keepIdempotencySQL), rec.Scope, rec.Key, rec.RequestHash,
		r.Status, r.ContentType, r.Location, r.Body, utc(rec.CreatedAt), utc(rec.LockedUntil), utc(rec.ExpiresAt))
	if err != nil {
		return false, translate(t.g, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
