package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/vhupay/vhupay/internal/balances"
	"github.com/vhupay/vhupay/internal/collections"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/sepa"
)

// RecoverableCollection implements payments.IntentStore.
func (s Payments) RecoverableCollection(ctx context.Context, collectionID string) (payments.RecoverableCollection, error) {
	var rows []collectionRow
	if err := s.db.WithContext(ctx).Where("id = ?", collectionID).Limit(1).Find(&rows).Error; err != nil {
		return payments.RecoverableCollection{}, err
	}
	if len(rows) == 0 {
		return payments.RecoverableCollection{}, payments.ErrNotFound
	}
	r := rows[0]
	return payments.RecoverableCollection{BuyerID: r.BuyerID, Amount: r.Amount, Failed: r.Status == string(collections.StatusFailed)}, nil
}

// HoldFailedCollection implements payments.Tx: a conditional touch of the failed collection's row
// (PostgreSQL then keeps its recovery waiting for this unit; SQLite runs one writer at a time).
func (t paymentsUnit) HoldFailedCollection(ctx context.Context, collectionID, buyerID string, at time.Time) error {
	res := t.g.WithContext(ctx).Model(&collectionRow{}).Where("id = ? AND buyer_id = ? AND status = ?", collectionID, buyerID, collections.StatusFailed).
		UpdateColumn("updated_at", utc(at))
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("collection %s: %w", collectionID, payments.ErrCollectionNotPayable)
	}
	return nil
}

// RecoverCollection implements payments.Tx.
func (t paymentsUnit) RecoverCollection(ctx context.Context, collectionID, intentID string, at time.Time) (bool, error) {
	u := t.unit
	tx := u.g.WithContext(ctx)
	var row collectionRow
	if err := tx.Where("id = ?", collectionID).Take(&row).Error; err != nil {
		if isNotFound(err) {
			return false, nil
		}
		return false, err
	}
	applied := false
	err := u.withSEPAEvents(ctx, row.BuyerID, at, func() error {
		res := tx.Model(&collectionRow{}).Where("id = ? AND status IN ?", collectionID, collections.Sources(collections.StatusRecovered)).
			UpdateColumns(map[string]any{"status": string(collections.StatusRecovered), "recovered_by": intentID, "updated_at": utc(at)})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		applied = true
		if err := postAll(ctx, u, balances.SEPARecovered(collectionID, intentID, row.BuyerID, row.Amount, at)); err != nil {
			return err
		}
		if err := u.reinstateAfterRecovery(ctx, row, at); err != nil {
			return err
		}
		return u.emitCollection(ctx, "sepa_collection.recovered", collectionID, at)
	})
	return applied, err
}

// reinstateAfterRecovery lifts the buyer's suspension once its failed collection is paid, unless
// another of its collections is still failed: the initial ceiling, a new probation from at, a
// ceiling change with reason reinstated (even when the ceiling had that value).
func (u *unit) reinstateAfterRecovery(ctx context.Context, c collectionRow, at time.Time) error {
	tx := u.g.WithContext(ctx)
	var unpaid int64
	if err := tx.Model(&collectionRow{}).Where("buyer_id = ? AND status = ?", c.BuyerID, collections.StatusFailed).Count(&unpaid).Error; err != nil {
		return err
	}
	if unpaid > 0 || u.db.initial <= 0 {
		return nil
	}
	p, err := lockProfile(tx, c.BuyerID, at)
	if err != nil {
		if err == sepa.ErrNotFound {
			return nil
		}
		return err
	}
	if !p.Suspended {
		return nil
	}
	if err := tx.Model(&sepaProfileRow{}).Where("buyer_id = ?", c.BuyerID).UpdateColumns(map[string]any{"suspended": false,
		"suspended_reason": "", "suspended_at": nil, "ceiling": u.db.initial, "probation_start": utc(at), "updated_at": utc(at)}).Error; err != nil {
		return err
	}
	return addCeilingChange(tx, c.BuyerID, p.Ceiling, u.db.initial, sepa.CeilingChangeReinstated,
		fmt.Sprintf("collection %s of %s paid by card", c.ID, c.Month), at)
}
