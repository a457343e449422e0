package storage

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/vhupay/vhupay/internal/orders"
)

// OrderReads is order id read on PostgreSQL three ways: Raw with pgx's rows decoded by vhupay
// (a request's read outside a transaction), PgxScan with pgx's rows scanned by pgx (that read's
// fallback when the columns are not the expected ones), SQL through database/sql (the read inside
// a unit of work). RawUsed reports whether the first read did decode the binary values itself.
type OrderReads struct {
	Raw, PgxScan, SQL orders.Order
	RawUsed           bool
}

// ReadOrderThreeWays reads order id as OrderReads says.
func ReadOrderThreeWays(ctx context.Context, db *DB, id string) (OrderReads, error) {
	q := branchesByOrder.statement(`SELECT `+orderColumns+` FROM orders WHERE id = $1`, true)
	var raw, scan, viaSQL completeAcc
	if err := raw.readPgx(ctx, db.sql, q, []any{id}); err != nil {
		return OrderReads{}, err
	}
	if err := withPgx(ctx, db.sql, func(pc *pgx.Conn) error {
		rows, err := pc.Query(ctx, q, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		return scan.readPgxRows(rows, false)
	}); err != nil {
		return OrderReads{}, err
	}
	if err := viaSQL.readSQL(ctx, db.sql, q, []any{id}); err != nil {
		return OrderReads{}, err
	}
	one := func(a completeAcc) (orders.Order, error) {
		out := assembleOrders(a.out, a.lines, a.notes, a.pays)
		if len(out) != 1 {
			return orders.Order{}, fmt.Errorf("%d orders read, want 1", len(out))
		}
		return out[0], nil
	}
	r := OrderReads{RawUsed: raw.raw}
	var err error
	if r.Raw, err = one(raw); err != nil {
		return r, err
	}
	if r.PgxScan, err = one(scan); err != nil {
		return r, err
	}
	r.SQL, err = one(viaSQL)
	return r, err
}

// ReadGatePlaces is how many reads of orders s lets run at once (0: no gate).
func ReadGatePlaces(s Orders) int { return cap(s.gate()) }
