package storage

import (
	"context"

	"gorm.io/gorm"
)

// ReserveSEPAInTx runs reserveSEPA in a transaction of its own, for the tests of package
// storage_test.
func ReserveSEPAInTx(ctx context.Context, db *DB, buyerID, month string, amount, ceiling int64) (ok bool, available int64, err error) {
	err = inTx(ctx, db.gorm, func(tx *gorm.DB) error {
		ok, available, err = reserveSEPA(tx, buyerID, month, amount, ceiling)
		return err
	})
	return ok, available, err
}
