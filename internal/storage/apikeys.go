package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/vhupay/vhupay/internal/apikeys"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/page"
)

type apiKeyRow struct {
	ID         string `gorm:"primaryKey"`
	Name       string
	Role       string
	Org        string
	SecretHash string
	Last4      string
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

func (apiKeyRow) TableName() string { return "api_keys" }

func toAPIKey(r apiKeyRow) apikeys.Key {
	return apikeys.Key{ID: r.ID, Name: r.Name, Role: auth.Role(r.Role), Org: r.Org, Last4: r.Last4, CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt.UTC(), LastUsedAt: fromTime(r.LastUsedAt), RevokedAt: fromTime(r.RevokedAt)}
}

// APIKeys implements apikeys.Store.
type APIKeys struct {
	runner[apikeys.Tx]
}

var _ apikeys.Store = APIKeys{}

// NewAPIKeys returns the API keys store.
func NewAPIKeys(db *DB) APIKeys {
	return APIKeys{runner: runner[apikeys.Tx]{db: db, bind: func(u *unit) apikeys.Tx { return u }}}
}

var _ apikeys.Tx = (*unit)(nil)

// InsertAPIKey implements apikeys.Tx.
func (u *unit) InsertAPIKey(ctx context.Context, k apikeys.Key, hash string) error {
	return u.g.WithContext(ctx).Create(&apiKeyRow{ID: k.ID, Name: k.Name, Role: string(k.Role), Org: k.Org, SecretHash: hash,
		Last4: k.Last4, CreatedBy: k.CreatedBy, CreatedAt: utc(k.CreatedAt), LastUsedAt: optTime(k.LastUsedAt), RevokedAt: optTime(k.RevokedAt)}).Error
}

// RevokeAPIKey implements apikeys.Tx.
func (u *unit) RevokeAPIKey(ctx context.Context, id string, at time.Time) (bool, error) {
	res := u.g.WithContext(ctx).Exec(`UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, utc(at), id)
	return res.RowsAffected == 1, res.Error
}

func (s APIKeys) one(ctx context.Context, column, value string) (apikeys.Key, error) {
	var rows []apiKeyRow
	if err := s.db.gorm.WithContext(ctx).Where(column+" = ?", value).Limit(1).Find(&rows).Error; err != nil {
		return apikeys.Key{}, err
	}
	if len(rows) == 0 {
		return apikeys.Key{}, fmt.Errorf("api key: %w", apikeys.ErrNotFound)
	}
	return toAPIKey(rows[0]), nil
}

// APIKey implements apikeys.Store.
func (s APIKeys) APIKey(ctx context.Context, id string) (apikeys.Key, error) {
	return s.one(ctx, "id", id)
}

// APIKeyByHash implements apikeys.Store.
func (s APIKeys) APIKeyByHash(ctx context.Context, hash string) (apikeys.Key, error) {
	return s.one(ctx, "secret_hash", hash)
}

// APIKeys implements apikeys.Store.
func (s APIKeys) APIKeys(ctx context.Context, org string, p page.Request) (page.Page[apikeys.Key], error) {
	q := s.db.gorm.WithContext(ctx).Model(&apiKeyRow{})
	if org != "" {
		q = q.Where("org = ?", org)
	}
	var rows []apiKeyRow
	if err := keyset(q, p, "id").Find(&rows).Error; err != nil {
		return page.Page[apikeys.Key]{}, err
	}
	out := make([]apikeys.Key, len(rows))
	for i, r := range rows {
		out[i] = toAPIKey(r)
	}
	return page.Build(out, p.Limit, func(k apikeys.Key) string { return k.ID }), nil
}

// TouchAPIKey implements apikeys.Store.
func (s APIKeys) TouchAPIKey(ctx context.Context, id string, at, before time.Time) error {
	return s.db.gorm.WithContext(ctx).Exec(`UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`,
		utc(at), id, utc(before)).Error
}
