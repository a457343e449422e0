package storage

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/payments"
)

// On PostgreSQL an order read (one order, a page of a list, a batch of a statement's orders) is
// ONE statement: the orders selected by a CTE, and in the same result their lines, delivery
// notes and payment summaries (a UNION ALL over the CTE, one kind of row per relation, in the
// order the Go code needs), scanned without gorm's reflection. SQLite keeps the four queries of
// Orders.complete.

// orderColumns are the columns of orders the CTE must select.
const orderColumns = `id, buyer_id, center_id, status, delivery_mode, external_reference, currency,
	total_excl_vat, total_vat, total, amount_refunded, created_at, updated_at`

// completeOrdersSQL is the statement around the CTE p (%s: its SELECT of orderColumns). Each row
// is: kind (0 order, 1 line, 2 delivery note, 3 payment intent), the order's id, six texts, seven
// integers and two times (unused ones are ”, 0 or NULL: a time not sent is a time not decoded).
// One sort of the few rows gives the orders newest first (their ids descending), then per order
// its lines by position, its delivery notes by time and number and its intents newest first.
const completeOrdersSQL = `WITH p AS MATERIALIZED (%s)
SELECT 0 AS k, p.id, p.buyer_id, p.center_id, p.status, p.delivery_mode, p.external_reference, p.currency,
	p.total_excl_vat, p.total_vat, p.total, p.amount_refunded, 0::bigint, 0::bigint, 0::bigint, p.created_at, p.updated_at
FROM p
UNION ALL
SELECT 1, l.order_id, l.reference, l.label, '', '', '', '',
	l.quantity, l.unit_price_excl_vat, l.vat_rate, l.total_excl_vat, l.total_vat, l.total, l.position, NULL, NULL
FROM p JOIN order_lines l ON l.order_id = p.id
UNION ALL
SELECT 2, n.order_id, n.kind, n.number, '', '', '', '', 0, 0, 0, 0, 0, 0, 0, n.created_at, NULL
FROM p JOIN delivery_notes n ON n.order_id = p.id
%s
ORDER BY 1, 2 DESC, 16, 15, 4, 5 DESC`

// paymentsBranch is completeOrdersSQL's part that reads the payment summaries.
const paymentsBranch = `UNION ALL
SELECT 3, i.order_id, '', '', i.id, i.method, i.status, '', 0, 0, 0, 0, 0, 0, 0, NULL, NULL
FROM p JOIN payment_intents i ON i.order_id = p.id`

// completeOrders runs completeOrdersSQL with the CTE selectOrders (and its args) on s's
// connection or transaction, and returns the orders complete, newest first (id descending).
// Without withPayments the orders' Payment is left nil (a statement's export shows none).
func (s Orders) completeOrders(ctx context.Context, withPayments bool, selectOrders string, args ...any) ([]orders.Order, error) {
	branch := ""
	if withPayments {
		branch = paymentsBranch
	}
	rows, err := conn(s.db).QueryContext(ctx, fmt.Sprintf(completeOrdersSQL, selectOrders, branch), args...)
	if err != nil {
		return nil, fmt.Errorf("read orders: %w", err)
	}
	defer rows.Close()
	var out []orders.Order
	at := map[string]int{} // an order's index in out
	// One set of destinations for every row (Scan replaces each value), so that a row costs no
	// allocation of its own beyond its texts.
	var (
		kind                   int
		orderID                string
		t1, t2, t3, t4, t5, t6 string
		n1, n2, n3, n4, n5, n6 int64
		n7                     int64
		nt1, nt2               sql.NullTime
	)
	dest := []any{&kind, &orderID, &t1, &t2, &t3, &t4, &t5, &t6, &n1, &n2, &n3, &n4, &n5, &n6, &n7, &nt1, &nt2}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("read orders: %w", err)
		}
		ts1, ts2 := nt1.Time, nt2.Time
		switch kind {
		case 0:
			at[orderID] = len(out)
			out = append(out, orders.Order{ID: orderID, BuyerID: t1, CenterID: t2, Status: orders.Status(t3),
				DeliveryMode: orders.DeliveryMode(t4), ExternalReference: t5, Currency: t6,
				TotalExclVAT: n1, TotalVAT: n2, Total: n3, AmountRefunded: n4, CreatedAt: ts1.UTC(), UpdatedAt: ts2.UTC(),
				DeliveryNotes: []orders.DeliveryNote{}})
		case 1:
			o := &out[at[orderID]]
			o.Lines = append(o.Lines, orders.Line{Reference: t1, Label: t2, Quantity: int(n1), UnitPriceExclVAT: n2,
				VATRate: int(n3), TotalExclVAT: n4, TotalVAT: n5, Total: n6})
		case 2:
			o := &out[at[orderID]]
			o.DeliveryNotes = append(o.DeliveryNotes, orders.DeliveryNote{Kind: orders.DeliveryNoteKind(t1), Number: t2, CreatedAt: ts1.UTC()})
		case 3: // newest first: the payment shown is the intent that confirmed the order, else the newest one
			o := &out[at[orderID]]
			confirms := t5 == string(payments.StatusSucceeded) || t5 == string(payments.StatusScheduled)
			if o.Payment == nil || (confirms && o.Payment.Status != string(payments.StatusSucceeded) &&
				o.Payment.Status != string(payments.StatusScheduled)) {
				o.Payment = &orders.PaymentSummary{IntentID: t3, Method: t4, Status: t5}
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read orders: %w", err)
	}
	return out, nil
}

// completeByIDs reads the orders of ids complete on PostgreSQL (without their payment summary
// unless withPayments), by batches of completeBatch (a long list makes PostgreSQL scan the lines
// whole), in no particular order.
func (s Orders) completeByIDs(ctx context.Context, withPayments bool, ids []string) ([]orders.Order, error) {
	out := make([]orders.Order, 0, len(ids))
	for chunk := range slices.Chunk(ids, completeBatch) {
		batch, err := s.completeOrders(ctx, withPayments, `SELECT `+orderColumns+` FROM orders WHERE id = ANY($1)`, chunk)
		if err != nil {
			return nil, err
		}
		out = append(out, batch...)
	}
	return out, nil
}
