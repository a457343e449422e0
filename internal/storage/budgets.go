package storage

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/vhupay/vhupay/internal/psp/pacing"
)

// ProviderBudgets implements pacing.Store on the provider_budgets table: each operation is one
// upsert, atomic on both databases whichever process runs it.
type ProviderBudgets struct{ db *gorm.DB }

var _ pacing.Store = ProviderBudgets{}

// NewProviderBudgets returns the providers' call budgets.
func NewProviderBudgets(db *DB) ProviderBudgets { return ProviderBudgets{db: db.gorm} }

// Reserve implements pacing.Store.
func (s ProviderBudgets) Reserve(ctx context.Context, name string, now time.Time, interval, burst time.Duration) (time.Time, error) {
	floor, step := now.UnixMicro()-burst.Microseconds(), interval.Microseconds()
	var next int64
	err := s.db.WithContext(ctx).Raw(`INSERT INTO provider_budgets (name, next_slot_us) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET next_slot_us =
			CASE WHEN provider_budgets.next_slot_us < ? THEN ? ELSE provider_budgets.next_slot_us END + ?
		RETURNING next_slot_us`, name, floor+step, floor, floor, step).Scan(&next).Error
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMicro(next - step).UTC(), nil
}

// Hold implements pacing.Store.
func (s ProviderBudgets) Hold(ctx context.Context, name string, until time.Time) error {
	return s.db.WithContext(ctx).Exec(`INSERT INTO provider_budgets (name, next_slot_us) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET next_slot_us =
			CASE WHEN provider_budgets.next_slot_us < excluded.next_slot_us THEN excluded.next_slot_us ELSE provider_budgets.next_slot_us END`,
		name, until.UnixMicro()).Error
}
