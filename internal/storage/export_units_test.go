package storage

import (
	"context"

	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/txn"
)

// ExecTx is a payment's unit of work with a raw write of its own, standing for a payment
// method's unit (sepa.Tx, invoicing.Tx) in the tests of the seam.
type ExecTx interface {
	payments.Tx
	Exec(ctx context.Context, query string, args ...any) error
}

type execUnit struct{ paymentsUnit }

func (u execUnit) Exec(ctx context.Context, query string, args ...any) error {
	return u.g.WithContext(ctx).Exec(query, args...).Error
}

// ExecUnits runs ExecTx units of work.
func ExecUnits(db *DB) txn.Runner[ExecTx] {
	return runner[ExecTx]{db: db, bind: func(u *unit) ExecTx { return execUnit{paymentsUnit{u}} }}
}
