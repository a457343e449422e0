package storage

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

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

// Insert implements idempotency.Store.
func (s Idempotency) Insert(ctx context.Context, rec idempotency.Record) (idempotency.Record, bool, error) {
	row := idempotencyRow{Scope: rec.Scope, Key: rec.Key, RequestHash: rec.RequestHash, State: "running",
		CreatedAt: utc(rec.CreatedAt), LockedUntil: utc(rec.LockedUntil), ExpiresAt: utc(rec.ExpiresAt)}
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if res.Error != nil {
		return idempotency.Record{}, false, res.Error
	}
	if res.RowsAffected == 1 {
		return rec, true, nil
	}
	var existing idempotencyRow
	if err := s.db.WithContext(ctx).Where("scope = ? AND key = ?", rec.Scope, rec.Key).Take(&existing).Error; err != nil {
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

// Complete implements idempotency.Store.
func (s Idempotency) Complete(ctx context.Context, scope, key string, r idempotency.Response) error {
	return s.db.WithContext(ctx).Model(&idempotencyRow{}).Where("scope = ? AND key = ?", scope, key).
		Updates(map[string]any{"state": "done", "status": r.Status, "content_type": r.ContentType,
			"location": r.Location, "body": r.Body}).Error
}

// Delete implements idempotency.Store.
func (s Idempotency) Delete(ctx context.Context, scope, key string) error {
	return s.db.WithContext(ctx).Where("scope = ? AND key = ?", scope, key).Delete(&idempotencyRow{}).Error
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
