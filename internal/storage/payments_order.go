package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/payments"
)

var _ payments.Orders = Payments{}

// orderToPaySQL reads an order's own row (without its lines, delivery notes or payment summary),
// whether it has an open intent (a probe of the partial unique index of open intents) and, on
// PostgreSQL, the row's version: its xmin, which every UPDATE of the row changes.
const orderToPaySQL = `SELECT o.id, o.buyer_id, o.center_id, o.status, o.delivery_mode, o.external_reference,
	o.total_excl_vat, o.total_vat, o.total, o.currency, o.created_at, o.updated_at,
	EXISTS (SELECT 1 FROM payment_intents i WHERE i.order_id = o.id AND i.status IN ('requires_action', 'processing')),
	%s
FROM orders o WHERE o.id = %s`

var (
	orderToPayPostgres = fmt.Sprintf(orderToPaySQL, "o.xmin::text", "$1")
	orderToPaySQLite   = fmt.Sprintf(orderToPaySQL, "''", "?")
)

// OrderToPay implements payments.Orders with one query: the order's own row (Lines, DeliveryNotes
// and Payment are left empty: paying an order needs only its id, buyer, status and total), whether
// it has open intents and, on PostgreSQL, its version. SQLite keeps no versions (Version is empty).
func (s Payments) OrderToPay(ctx context.Context, id string) (payments.OrderToPay, error) {
	q := orderToPaySQLite
	if isPostgres(s.db) {
		q = orderToPayPostgres
	}
	var r orderRow
	var out payments.OrderToPay
	err := conn(s.db).QueryRowContext(ctx, q, id).Scan(&r.ID, &r.BuyerID, &r.CenterID, &r.Status, &r.DeliveryMode,
		&r.ExternalReference, &r.TotalExclVAT, &r.TotalVAT, &r.Total, &r.Currency, &r.CreatedAt, &r.UpdatedAt,
		&out.HasOpenIntents, &out.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return payments.OrderToPay{}, orders.ErrNotFound
	}
	if err != nil {
		return payments.OrderToPay{}, err
	}
	out.Order = toOrder(r)
	return out, nil
}
