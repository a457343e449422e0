package storage

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

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
// The rows come in no particular order: assembleOrders sorts them.
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
%s`

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
	var (
		out   []orders.Order
		lines []pendingLine
		notes []pendingNote
		pays  []pendingPayment
	)
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
		switch kind {
		case 0:
			out = append(out, orders.Order{ID: orderID, BuyerID: t1, CenterID: t2, Status: orders.Status(t3),
				DeliveryMode: orders.DeliveryMode(t4), ExternalReference: t5, Currency: t6,
				TotalExclVAT: n1, TotalVAT: n2, Total: n3, AmountRefunded: n4, CreatedAt: nt1.Time.UTC(), UpdatedAt: nt2.Time.UTC(),
				DeliveryNotes: []orders.DeliveryNote{}})
		case 1:
			lines = append(lines, pendingLine{orderID: orderID, position: n7, line: orders.Line{Reference: t1, Label: t2,
				Quantity: int(n1), UnitPriceExclVAT: n2, VATRate: int(n3), TotalExclVAT: n4, TotalVAT: n5, Total: n6}})
		case 2:
			notes = append(notes, pendingNote{orderID: orderID,
				note: orders.DeliveryNote{Kind: orders.DeliveryNoteKind(t1), Number: t2, CreatedAt: nt1.Time.UTC()}})
		case 3:
			pays = append(pays, pendingPayment{orderID: orderID, payment: orders.PaymentSummary{IntentID: t3, Method: t4, Status: t5}})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read orders: %w", err)
	}
	return assembleOrders(out, lines, notes, pays), nil
}

// The rows of completeOrdersSQL other than the orders', kept until every order is read.
type (
	pendingLine struct {
		orderID  string
		position int64
		line     orders.Line
	}
	pendingNote struct {
		orderID string
		note    orders.DeliveryNote
	}
	pendingPayment struct {
		orderID string
		payment orders.PaymentSummary
	}
)

// assembleOrders orders the orders newest first (id descending) and gives each its lines by
// position, its delivery notes by time and number, and its payment: the newest intent that
// confirms it (succeeded or scheduled), else its newest intent. The rows come unsorted: sorting
// these few rows here costs far less than PostgreSQL's sort of the statement's result did
// (a quarter of its execution of a buyer's page).
func assembleOrders(out []orders.Order, lines []pendingLine, notes []pendingNote, pays []pendingPayment) []orders.Order {
	slices.SortFunc(out, func(a, b orders.Order) int { return strings.Compare(b.ID, a.ID) })
	at := make(map[string]int, len(out)) // an order's index in out
	for i := range out {
		at[out[i].ID] = i
	}
	slices.SortFunc(lines, func(a, b pendingLine) int { return cmp.Compare(a.position, b.position) })
	for _, l := range lines {
		if i, ok := at[l.orderID]; ok {
			out[i].Lines = append(out[i].Lines, l.line)
		}
	}
	slices.SortFunc(notes, func(a, b pendingNote) int {
		if c := a.note.CreatedAt.Compare(b.note.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.note.Number, b.note.Number)
	})
	for _, n := range notes {
		if i, ok := at[n.orderID]; ok {
			out[i].DeliveryNotes = append(out[i].DeliveryNotes, n.note)
		}
	}
	confirms := func(p *orders.PaymentSummary) bool {
		return p.Status == string(payments.StatusSucceeded) || p.Status == string(payments.StatusScheduled)
	}
	for _, p := range pays {
		i, ok := at[p.orderID]
		if !ok {
			continue
		}
		cur, cand := out[i].Payment, &p.payment
		if cur == nil || (confirms(cand) && !confirms(cur)) || (confirms(cand) == confirms(cur) && cand.IntentID > cur.IntentID) {
			payment := p.payment
			out[i].Payment = &payment
		}
	}
	return out
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
