package storage

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/vhupay/vhupay/internal/clock"
)

// ClockOffsets implements clock.OffsetStore on the sandbox_clock table.
type ClockOffsets struct{ db *gorm.DB }

var _ clock.OffsetStore = ClockOffsets{}

// NewClockOffsets returns the test clock's store.
func NewClockOffsets(db *DB) ClockOffsets { return ClockOffsets{db: db.gorm} }

type clockRow struct {
	ID       int
	OffsetNs int64
}

func (clockRow) TableName() string { return "sandbox_clock" }

// LoadOffset implements clock.OffsetStore.
func (s ClockOffsets) LoadOffset(ctx context.Context) (time.Duration, error) {
	var rows []clockRow
	if err := s.db.WithContext(ctx).Where("id = 1").Find(&rows).Error; err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, nil
	}
	return time.Duration(rows[0].OffsetNs), nil
}

// RaiseOffset implements clock.OffsetStore with one conditional upsert, so concurrent moves never
// lower the offset.
func (s ClockOffsets) RaiseOffset(ctx context.Context, d time.Duration) (time.Duration, error) {
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "id"}},
		DoUpdates: clause.Set{{Column: clause.Column{Name: "offset_ns"},
			Value: gorm.Expr("CASE WHEN sandbox_clock.offset_ns < excluded.offset_ns THEN excluded.offset_ns ELSE sandbox_clock.offset_ns END")}},
	}).Create(&clockRow{ID: 1, OffsetNs: int64(d)}).Error
	if err != nil {
		return 0, err
	}
	return s.LoadOffset(ctx)
}
