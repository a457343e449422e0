package storage

import (
	"context"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/vhupay/vhupay/internal/payers"
)

type payerRow struct {
	BuyerID  string `gorm:"primaryKey"`
	UserID   string
	WalletID string
}

func (payerRow) TableName() string { return "payers" }

// Payers implements payers.Store.
type Payers struct{ db *gorm.DB }

var _ payers.Store = Payers{}

// NewPayers returns the payers store.
func NewPayers(db *DB) Payers { return Payers{db: db.gorm} }

// Payer implements payers.Store.
func (s Payers) Payer(ctx context.Context, buyerID string) (payers.Payer, error) {
	var row payerRow
	if err := s.db.WithContext(ctx).Where("buyer_id = ?", buyerID).Take(&row).Error; err != nil {
		if isNotFound(err) {
			return payers.Payer{}, payers.ErrNotFound
		}
		return payers.Payer{}, err
	}
	return payers.Payer{BuyerID: row.BuyerID, UserID: row.UserID, WalletID: row.WalletID}, nil
}

// SavePayer implements payers.Store: the first writer wins.
func (s Payers) SavePayer(ctx context.Context, p payers.Payer) (payers.Payer, error) {
	row := payerRow{BuyerID: p.BuyerID, UserID: p.UserID, WalletID: p.WalletID}
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return payers.Payer{}, err
	}
	return s.Payer(ctx, p.BuyerID)
}
