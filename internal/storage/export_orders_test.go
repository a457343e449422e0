package storage

import (
	"context"
	"fmt"

	"github.com/vhupay/vhupay/internal/orders"
)

// OrderBothWays reads order id on PostgreSQL twice: with pgx's raw rows (the read of a request
// outside a transaction) and through database/sql (the read inside a unit of work). raw reports
// whether the first read decoded the binary values itself rather than falling back to pgx's Scan.
func OrderBothWays(ctx context.Context, db *DB, id string) (viaPgx, viaSQL orders.Order, raw bool, err error) {
	q := fmt.Sprintf(completeOrdersSQL, `SELECT `+orderColumns+` FROM orders WHERE id = $1`, paymentsBranch)
	var a, b completeAcc
	if err := a.readPgx(ctx, db.sql, q, []any{id}); err != nil {
		return viaPgx, viaSQL, false, err
	}
	if err := b.readSQL(ctx, db.sql, q, []any{id}); err != nil {
		return viaPgx, viaSQL, false, err
	}
	x, y := assembleOrders(a.out, a.lines, a.notes, a.pays), assembleOrders(b.out, b.lines, b.notes, b.pays)
	if len(x) != 1 || len(y) != 1 {
		return viaPgx, viaSQL, a.raw, fmt.Errorf("%d and %d orders read, want 1", len(x), len(y))
	}
	return x[0], y[0], a.raw, nil
}
