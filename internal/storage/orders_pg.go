package storage

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"

	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/payments"
)

// On PostgreSQL an order read (one order, a page of a list, a batch of a statement's orders) is
// ONE statement: the orders selected by a CTE, and in the same result their lines, delivery
// notes and payment summaries (a UNION ALL over the CTE, one kind of row per relation, in the
// order the Go code needs), scanned without gorm's reflection. SQLite keeps the four queries of
// Orders.complete.

// orderColumns are the columns of orders the CTE must select. orders_buyer_idx carries them all
// (migration 00850), so that a buyer's page is an index-only scan: a column added here must be
// added there too. Likewise order_lines_pkey carries every line column read below, and
// payment_intents_order_idx the intent's.
const orderColumns = `id, buyer_id, center_id, status, delivery_mode, external_reference, currency,
	total_excl_vat, total_vat, total, amount_refunded, created_at, updated_at`

// completeOrdersSQL is the statement around the CTE p (%[1]s: its SELECT of orderColumns; %[2]s:
// more CTEs, each beginning with a comma). Each row is: kind (0 order, 1 line, 2 delivery note,
// 3 payment intent), the order's id, six texts, seven integers and two times. A column a kind
// does not use is NULL, never ” or 0: PostgreSQL sends a NULL as its length alone, without
// calling the type's output function, and those calls for the padding were a quarter of its CPU
// for a buyer's page (216 against 165 µs a statement, 16 clients, docs/benchmarks.md). The lines come FROM %[3]s, the
// delivery notes FROM %[4]s, and %[5]s is the payment intents' branch or nothing
// (orderBranches.statement). The rows come in no particular order: assembleOrders sorts them,
// and ignores a line, a note or an intent of an order p did not select.
const completeOrdersSQL = `WITH p AS MATERIALIZED (%[1]s)%[2]s
SELECT 0 AS k, p.id, p.buyer_id, p.center_id, p.status, p.delivery_mode, p.external_reference, p.currency,
	p.total_excl_vat, p.total_vat, p.total, p.amount_refunded, NULL::bigint, NULL::bigint, NULL::bigint, p.created_at, p.updated_at
FROM p
UNION ALL
SELECT 1, l.order_id, l.reference, l.label, NULL, NULL, NULL, NULL,
	l.quantity, l.unit_price_excl_vat, l.vat_rate, l.total_excl_vat, l.total_vat, l.total, l.position, NULL, NULL
FROM %[3]s
UNION ALL
SELECT 2, n.order_id, n.kind, n.number, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, n.created_at, NULL
FROM %[4]s
%[5]s`

// paymentsBranch is completeOrdersSQL's part that reads the payment summaries, FROM %s.
const paymentsBranch = `UNION ALL
SELECT 3, i.order_id, NULL, NULL, i.id, i.method, i.status, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM %s`

// orderBranches says where completeOrdersSQL reads the lines, the delivery notes and the
// payment intents from. With a cap, each branch reads at most that many rows, and a read that
// reaches it in any branch is made again from fallback (rangeBranches).
type orderBranches struct {
	ctes, lines, notes, intents string
	cap                         int
	fallback                    *orderBranches
}

// statement is completeOrdersSQL with the CTE selectOrders, reading the lines, notes and
// intents (the intents only withPayments) as b says.
func (b orderBranches) statement(selectOrders string, withPayments bool) string {
	branch := ""
	if withPayments {
		branch = fmt.Sprintf(paymentsBranch, b.intents)
	}
	return fmt.Sprintf(completeOrdersSQL, selectOrders, b.ctes, b.lines, b.notes, branch)
}

// orderRead is a read of complete orders ready to run: its statement, and for a statement that
// caps its branches (rangeBranches) the cap and the read to make instead when a branch reaches
// it. Its texts depend only on the read's shape, never on the caller's values, so that one is
// built once and kept (orderReads).
type orderRead struct {
	q        string
	cap      int
	fallback *orderRead
}

// read is the orderRead of the CTE selectOrders with b's branches (the intents only
// withPayments).
func (b orderBranches) read(selectOrders string, withPayments bool) orderRead {
	r := orderRead{q: b.statement(selectOrders, withPayments), cap: b.cap}
	if b.fallback != nil {
		fb := b.fallback.read(selectOrders, withPayments)
		r.fallback = &fb
	}
	return r
}

// The reads whose statement never changes: one order by id, and a batch of orders by ids with
// or without their payment summaries.
var (
	orderByIDRead    = branchesByOrder.read(`SELECT `+orderColumns+` FROM orders WHERE id = $1`, true)
	ordersByIDsRead  = branchesByOrder.read(`SELECT `+orderColumns+` FROM orders WHERE id = ANY($1)`, true)
	ordersByIDsNoPay = branchesByOrder.read(`SELECT `+orderColumns+` FROM orders WHERE id = ANY($1)`, false)
)

// pageShape is what a page of orders' statement depends on: which filters apply, the status
// written in it (pageStatusParam when it is a parameter), whether it starts after a cursor, and
// its limit.
type pageShape struct {
	buyer, center, after bool
	status               orders.Status
	limit                int
}

// pageStatusParam is pageShape's status when the filter's status is not one of the catalogue:
// the statement then compares it to a parameter, the same text whatever the value.
const pageStatusParam orders.Status = "$"

// maxPageShapes bounds orderReads: the shapes a caller can ask for are a few thousand (filters,
// statuses, limits up to page.MaxLimit); beyond it a read is built and not kept.
const maxPageShapes = 10000

// pageRead builds the read of a page of orders of shape. Its parameters, each present only when
// the shape says so, come in this order: the buyer's id, the centre's id, the status (when
// shape.status is pageStatusParam), the cursor (the id the page starts after).
func pageRead(shape pageShape) orderRead {
	var where []string
	n := 0
	param := func(cond string) int {
		n++
		where = append(where, fmt.Sprintf(cond, n))
		return n
	}
	var buyerArg, centerArg int // the $n of the parties' ids, 0 when not filtered on
	if shape.buyer {
		buyerArg = param("buyer_id = $%d")
	}
	if shape.center {
		centerArg = param("center_id = $%d")
	}
	from := pageBranches(shape.status != "", buyerArg, centerArg, shape.limit+1)
	// The status is written in the statement, not a parameter: PostgreSQL estimates a
	// parameter's "status <> $n" as matching almost nothing in the generic plan it caches
	// after five calls, and then reads a buyer's every order and sorts them (4 ms at 100
	// orders a buyer, against 0.1 ms for the index scan that stops after a page). Only the
	// statuses of the catalogue are written so (a literal of our own, never the caller's text).
	switch {
	case shape.status == "":
		where = append(where, "status <> '"+string(orders.StatusCancelled)+"'")
	case shape.status != pageStatusParam && shape.status.Valid():
		where = append(where, "status = '"+string(shape.status)+"'")
	default:
		param("status = $%d")
	}
	if shape.after {
		param("id < $%d")
	}
	// The limit is written in the statement (an integer): a parameter would keep PostgreSQL
	// from caching one generic plan per statement and make it plan every call.
	return from.read(fmt.Sprintf(`SELECT %s FROM orders WHERE %s ORDER BY id DESC LIMIT %d`,
		orderColumns, strings.Join(where, " AND "), shape.limit+1), true)
}

// orderReads keeps the orderRead of each page shape once built: building one (about 2.5 KB of
// text through fmt) was 4 % of the CPU of a buyer's page.
type orderReads struct {
	mu    sync.Mutex
	reads map[pageShape]*orderRead
}

// page returns the orderRead of shape, built by build the first time.
func (c *orderReads) page(shape pageShape, build func() orderRead) orderRead {
	if c == nil {
		return build()
	}
	c.mu.Lock()
	r, ok := c.reads[shape]
	c.mu.Unlock()
	if ok {
		return *r
	}
	built := build()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reads == nil {
		c.reads = map[pageShape]*orderRead{}
	}
	if len(c.reads) >= maxPageShapes {
		return built
	}
	c.reads[shape] = &built
	return built
}

// branchesByOrder reads each order's lines, notes and intents by the order's id, one B-tree
// descent per order into order_lines_pkey, delivery_notes_order_idx and
// payment_intents_order_idx: for any selection of orders.
var branchesByOrder = orderBranches{
	lines:   `p JOIN order_lines l ON l.order_id = p.id`,
	notes:   `p JOIN delivery_notes n ON n.order_id = p.id`,
	intents: `p JOIN payment_intents i ON i.order_id = p.id`,
}

// rangeBranches reads the lines, notes and intents of a run of orders with one range scan each,
// between the lowest and the highest order id of p: for a page whose orders are every order of
// that id range the filter can select, only cancelled ones skipped (an admin's page of every
// order, a buyer's or a centre's page of its orders). With no party (party ""), the scans read
// order_lines_pkey, delivery_notes_order_idx and payment_intents_order_idx, where every order's
// rows sit together by order id. With party "buyer_id" or "center_id" and partyArg n (the $n of
// its id) they read that party's part of the indexes of migration 00860, where its rows sit
// together by order id: order_lines_buyer_idx, delivery_notes_buyer_idx and
// payment_intents_buyer_order_idx for a buyer; order_lines_center_idx and
// delivery_notes_center_idx for a centre, whose intents are looked up one order at a time as in
// fallback (payment_intents has no centre). Either way a page of 21 orders reads a few index
// pages per branch, against one descent of three or four pages per order. The rows of a
// cancelled order inside the range are read too: assembleOrders ignores them, as it does any
// row of an order p did not select (cheaper than joining each branch to p).
//
// Cancelled orders could be many inside a range (a caller who creates and cancels orders in a
// loop), so each branch reads at most rangeRowsPerOrder rows per order of the page (atMost): a
// read that reaches that cap in any branch is made again from fallback, one descent per order
// (branchesByOrder, or buyerBranches for a buyer). The cap is as many lines as an order may
// have, so that only such a range, or a page of orders with that many lines, intents or notes,
// pays the second read.
func rangeBranches(party string, partyArg, atMost int, fallback orderBranches) orderBranches {
	limit := atMost * rangeRowsPerOrder
	branch := func(table, alias, columns string) string {
		on := fmt.Sprintf(`%[1]s.order_id >= b.lo AND %[1]s.order_id <= b.hi`, alias)
		if party != "" {
			on = fmt.Sprintf(`%[1]s.%[2]s = $%[3]d AND `, alias, party, partyArg) + on
		}
		return fmt.Sprintf(`(SELECT %[4]s FROM b JOIN %[1]s %[2]s ON %[3]s LIMIT %[5]d) %[2]s`, table, alias, on, columns, limit)
	}
	out := orderBranches{
		ctes: `, b AS MATERIALIZED (SELECT min(id) AS lo, max(id) AS hi FROM p)`,
		lines: branch("order_lines", "l", `l.order_id, l.position, l.reference, l.label, l.quantity, l.unit_price_excl_vat,
	l.vat_rate, l.total_excl_vat, l.total_vat, l.total`),
		notes:    branch("delivery_notes", "n", `n.order_id, n.kind, n.number, n.created_at`),
		intents:  branch("payment_intents", "i", `i.order_id, i.id, i.method, i.status`),
		cap:      limit,
		fallback: &fallback,
	}
	if party == "center_id" {
		out.intents = fallback.intents
	}
	return out
}

// rangeRowsPerOrder is rangeBranches' cap on a branch's rows, per order of the page: the most
// lines an order may have.
const rangeRowsPerOrder = orders.MaxLines

// pageBranches says where a page of orders reads its lines, notes and intents from, given
// whether a status filter applies and the $n of the buyer's and the centre's ids in the filter
// (0 when not filtered on). Without a status filter, an admin's page is every order of an id
// range, a buyer's or a centre's page every order of that party in that range, cancelled ones
// aside: rangeBranches. With one, a buyer's orders can be years apart: one descent per order
// into the buyer's part of the indexes; any other page descends into the order-id indexes.
func pageBranches(statusFiltered bool, buyerArg, centerArg, atMost int) orderBranches {
	switch {
	case buyerArg != 0 && (statusFiltered || centerArg != 0):
		return buyerBranches(buyerArg)
	case statusFiltered:
		return branchesByOrder
	case buyerArg != 0:
		return rangeBranches("buyer_id", buyerArg, atMost, buyerBranches(buyerArg))
	case centerArg != 0:
		return rangeBranches("center_id", centerArg, atMost, branchesByOrder)
	default:
		return rangeBranches("", 0, atMost, branchesByOrder)
	}
}

// buyerBranches reads the lines, notes and intents of orders that all belong to the buyer $n
// with one descent per order into the buyer's part of order_lines_buyer_idx,
// delivery_notes_buyer_idx and payment_intents_buyer_order_idx: for a page of the buyer's orders
// under a status filter, which can leave them years apart (rangeBranches would read every order
// in between).
func buyerBranches(n int) orderBranches {
	return orderBranches{
		lines:   fmt.Sprintf(`p JOIN order_lines l ON l.buyer_id = $%d AND l.order_id = p.id`, n),
		notes:   fmt.Sprintf(`p JOIN delivery_notes n ON n.buyer_id = $%d AND n.order_id = p.id`, n),
		intents: fmt.Sprintf(`p JOIN payment_intents i ON i.buyer_id = $%d AND i.order_id = p.id`, n),
	}
}

// completeOrders runs the read from (with its args) on s's connection or transaction, and
// returns the orders complete, newest first (id descending). A read built without payments
// leaves the orders' Payment nil (a statement's export shows none). At most is how many orders
// the CTE selects at most: the rows' slices are made that large at once (grown one append at a
// time, they cost a page read 26 KB of copies).
//
// Outside a transaction the rows are read with pgx's own interface, on a connection of the pool
// (database/sql's Conn.Raw): database/sql boxes every value of every row in an interface and
// converts it again into its destination, which took a third of the process's CPU for a page of
// 21 orders (63 rows of 17 columns). Inside a transaction (a *sql.Tx, which has no raw access)
// they go through database/sql.
func (s Orders) completeOrders(ctx context.Context, from orderRead, atMost int, args ...any) ([]orders.Order, error) {
	q := from.q
	acc := completeAcc{out: make([]orders.Order, 0, atMost), lines: make([]pendingLine, 0, atMost),
		pays: make([]pendingPayment, 0, atMost)}
	var err error
	if pool, ok := conn(s.db).(*sql.DB); ok {
		err = s.gate().through(ctx, func() error { return acc.readPgx(ctx, pool, q, args) })
	} else {
		err = acc.readSQL(ctx, conn(s.db), q, args)
	}
	if err != nil {
		return nil, fmt.Errorf("read orders: %w", err)
	}
	if c := from.cap; c > 0 && (len(acc.lines) >= c || len(acc.notes) >= c || len(acc.pays) >= c) {
		return s.completeOrders(ctx, *from.fallback, atMost, args...)
	}
	return assembleOrders(acc.out, acc.lines, acc.notes, acc.pays), nil
}

// readGate admits at most cap(g) reads of orders on PostgreSQL at once, outside units of work,
// first come first served (a channel serves its blocked senders in order), and makes the others
// wait in the process, not in the database. Such a read (a page of orders: one statement of some
// 80 rows) is CPU-bound in PostgreSQL; more of them at once than the database server has cores
// to run them only add context switches, and a page's latency then depends on the kernel's
// scheduler. With 16 clients on a 2-core machine, a gate of 4 took the buyer's page from 9.4–11.2
// to 6.7–8.2 ms at p99 and PostgreSQL's CPU per page from 204–241 to 163–176 µs
// (docs/benchmarks.md). Writes, transactions and other reads do not pass through it: a payment
// waits on its commit's flush, not on a core. A nil gate admits every read.
type readGate chan struct{}

// through runs read once it has a place at the gate, and gives the place back when read returns
// or panics; it returns ctx's error, without running read, if ctx ends first.
func (g readGate) through(ctx context.Context, read func() error) error {
	if g == nil {
		return read()
	}
	select {
	case g <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-g }()
	return read()
}

// completeRow is one row of completeOrdersSQL: kind (0 order, 1 line, 2 delivery note, 3 payment
// intent), the order's id, six texts, seven integers and two times (zero when NULL).
type completeRow struct {
	kind     int
	orderID  string
	t        [6]string
	n        [7]int64
	at1, at2 time.Time
}

// completeAcc gathers completeOrdersSQL's rows by kind until every row is read.
type completeAcc struct {
	raw   bool // readPgx decoded the rows' binary values itself
	out   []orders.Order
	lines []pendingLine
	notes []pendingNote
	pays  []pendingPayment
}

func (a *completeAcc) add(r *completeRow) {
	t, n := &r.t, &r.n
	switch r.kind {
	case 0:
		a.out = append(a.out, orders.Order{ID: r.orderID, BuyerID: t[0], CenterID: t[1], Status: orders.Status(t[2]),
			DeliveryMode: orders.DeliveryMode(t[3]), ExternalReference: t[4], Currency: t[5],
			TotalExclVAT: n[0], TotalVAT: n[1], Total: n[2], AmountRefunded: n[3], CreatedAt: r.at1.UTC(), UpdatedAt: r.at2.UTC(),
			DeliveryNotes: []orders.DeliveryNote{}})
	case 1:
		a.lines = append(a.lines, pendingLine{orderID: r.orderID, position: n[6], line: orders.Line{Reference: t[0], Label: t[1],
			Quantity: int(n[0]), UnitPriceExclVAT: n[1], VATRate: int(n[2]), TotalExclVAT: n[3], TotalVAT: n[4], Total: n[5]}})
	case 2:
		a.notes = append(a.notes, pendingNote{orderID: r.orderID,
			note: orders.DeliveryNote{Kind: orders.DeliveryNoteKind(t[0]), Number: t[1], CreatedAt: r.at1.UTC()}})
	case 3:
		a.pays = append(a.pays, pendingPayment{orderID: r.orderID, payment: orders.PaymentSummary{IntentID: t[2], Method: t[3], Status: t[4]}})
	}
}

// readPgx reads the rows with pgx on a connection of pool (readPgxRows).
func (a *completeAcc) readPgx(ctx context.Context, pool *sql.DB, q string, args []any) error {
	return withPgx(ctx, pool, func(pc *pgx.Conn) error {
		rows, err := pc.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		return a.readPgxRows(rows, true)
	})
}

// withPgx runs f with the pgx connection under one of pool's connections (database/sql's
// Conn.Raw), and gives the connection back to the pool after.
func withPgx(ctx context.Context, pool *sql.DB, f func(pc *pgx.Conn) error) error {
	c, err := pool.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Raw(func(driverConn any) error {
		pc, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", driverConn)
		}
		return f(pc.Conn())
	})
}

// readPgxRows reads pgx's rows: each row's values are decoded from PostgreSQL's binary format
// (rawRow) when allowRaw and the columns are the ones expected, else scanned by pgx (scanRows).
func (a *completeAcc) readPgxRows(rows pgx.Rows, allowRaw bool) error {
	a.raw = allowRaw && rawDecodable(rows.FieldDescriptions())
	if !a.raw {
		return a.scanRows(rows)
	}
	var r completeRow
	in := interner{seen: make(map[string]string, 2*cap(a.out)+8)}
	for rows.Next() {
		if err := in.rawRow(&r, rows.RawValues()); err != nil {
			return err
		}
		a.add(&r)
	}
	return rows.Err()
}

// rowScanner is what scanRows needs of a result: database/sql's *sql.Rows and pgx.Rows both are.
type rowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// scanRows scans every row of rows into one set of destinations (each Scan replaces their
// values, so that a row costs no allocation of its own beyond its texts). A NULL gives "", 0 or
// the zero time.
func (a *completeAcc) scanRows(rows rowScanner) error {
	var (
		r        completeRow
		t        [6]sql.NullString
		n        [7]sql.NullInt64
		at1, at2 sql.NullTime
	)
	dest := []any{&r.kind, &r.orderID, &t[0], &t[1], &t[2], &t[3], &t[4], &t[5],
		&n[0], &n[1], &n[2], &n[3], &n[4], &n[5], &n[6], &at1, &at2}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		for i := range t {
			r.t[i] = t[i].String
		}
		for i := range n {
			r.n[i] = n[i].Int64
		}
		r.at1, r.at2 = at1.Time, at2.Time
		a.add(&r)
	}
	return rows.Err()
}

// completeColumnOIDs are the types of completeOrdersSQL's 17 columns: kind, the order's id, six
// texts, seven integers, two times.
var completeColumnOIDs = [17]uint32{pgtype.Int4OID, pgtype.TextOID,
	pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID,
	pgtype.Int8OID, pgtype.Int8OID, pgtype.Int8OID, pgtype.Int8OID, pgtype.Int8OID, pgtype.Int8OID, pgtype.Int8OID,
	pgtype.TimestamptzOID, pgtype.TimestamptzOID}

// rawDecodable reports whether the result's columns have completeOrdersSQL's types, the integers
// and times in binary format (pgx asks for it for these types; a text is the same bytes in
// either format, and pgx asks for text).
func rawDecodable(fds []pgconn.FieldDescription) bool {
	if len(fds) != len(completeColumnOIDs) {
		return false
	}
	for i, fd := range fds {
		if fd.DataTypeOID != completeColumnOIDs[i] || (fd.DataTypeOID != pgtype.TextOID && fd.Format != pgx.BinaryFormatCode) {
			return false
		}
	}
	return true
}

// interner turns a row's texts into strings, allocating each distinct text of a read once: a
// page repeats its buyer, centres, statuses, methods and currency on every order, and each order's
// id on its line and payment rows (without it these copies were half the read's allocations).
type interner struct{ seen map[string]string }

func (in interner) text(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := in.seen[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	in.seen[s] = s
	return s
}

// pgEpochMicros is PostgreSQL's epoch (2000-01-01 UTC) in Unix microseconds.
const pgEpochMicros = 946684800 * 1000000

// rawRow decodes one row of completeOrdersSQL from its binary values (rawDecodable checked the
// types): int4 and int8 big-endian, text as is, timestamptz as microseconds since 2000-01-01
// (NULL, a nil value, gives "", 0 or the zero time). Texts that are each row's own (a line's
// reference and label, a delivery note's number, an intent's id) are not interned: a map entry
// for a text never met again only costs.
func (in interner) rawRow(r *completeRow, vals [][]byte) error {
	if len(vals) != len(completeColumnOIDs) || len(vals[0]) != 4 {
		return errors.New("read orders: malformed row")
	}
	r.kind = int(int32(binary.BigEndian.Uint32(vals[0])))
	r.orderID = in.text(vals[1])
	for i := range r.t {
		if own(r.kind, i) {
			r.t[i] = string(vals[2+i])
		} else {
			r.t[i] = in.text(vals[2+i])
		}
	}
	for i := range r.n {
		v := vals[8+i]
		if v == nil { // NULL: a column this kind of row does not use
			r.n[i] = 0
			continue
		}
		if len(v) != 8 {
			return errors.New("read orders: malformed integer")
		}
		r.n[i] = int64(binary.BigEndian.Uint64(v))
	}
	var err error
	if r.at1, err = rawTime(vals[15]); err != nil {
		return err
	}
	r.at2, err = rawTime(vals[16])
	return err
}

// own reports whether the text i of a row of kind is the row's own, seldom met twice in a read:
// a line's reference and label (kind 1, texts 0 and 1), a delivery note's number (kind 2, text
// 1), a payment intent's id (kind 3, text 2).
func own(kind, i int) bool {
	switch kind {
	case 1:
		return i < 2
	case 2:
		return i == 1
	case 3:
		return i == 2
	}
	return false
}

// rawTime decodes a binary timestamptz: microseconds since 2000-01-01 UTC; NULL (nil) is the
// zero time, and ±infinity, which vhupay never writes, an error.
func rawTime(v []byte) (time.Time, error) {
	switch {
	case v == nil:
		return time.Time{}, nil
	case len(v) != 8:
		return time.Time{}, errors.New("read orders: malformed time")
	}
	us := int64(binary.BigEndian.Uint64(v))
	if us == math.MaxInt64 || us == math.MinInt64 {
		return time.Time{}, errors.New("read orders: infinite time")
	}
	return time.UnixMicro(us + pgEpochMicros).UTC(), nil
}

// readSQL reads the rows through database/sql (a transaction's).
func (a *completeAcc) readSQL(ctx context.Context, db gorm.ConnPool, q string, args []any) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return a.scanRows(rows)
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
	// at is an order's index in out (sorted by id descending), -1 for none: no map, the index
	// found last or one of its neighbours first (the lines, sorted, come order after order, and
	// the other rows mostly in the order of an index), else a binary search.
	last := 0
	at := func(id string) int {
		for _, i := range [3]int{last, last + 1, last - 1} {
			if i >= 0 && i < len(out) && out[i].ID == id {
				last = i
				return i
			}
		}
		i, ok := slices.BinarySearchFunc(out, id, func(o orders.Order, id string) int { return strings.Compare(id, o.ID) })
		if !ok {
			return -1
		}
		last = i
		return i
	}
	// The lines of every order share one array, in order then position: one allocation for all.
	slices.SortFunc(lines, func(a, b pendingLine) int {
		if c := strings.Compare(b.orderID, a.orderID); c != 0 {
			return c
		}
		return cmp.Compare(a.position, b.position)
	})
	all := make([]orders.Line, len(lines))
	for from := 0; from < len(lines); {
		to := from + 1
		for to < len(lines) && lines[to].orderID == lines[from].orderID {
			to++
		}
		if i := at(lines[from].orderID); i >= 0 {
			for k := from; k < to; k++ {
				all[k] = lines[k].line
			}
			out[i].Lines = all[from:to:to]
		}
		from = to
	}
	slices.SortFunc(notes, func(a, b pendingNote) int {
		if c := a.note.CreatedAt.Compare(b.note.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.note.Number, b.note.Number)
	})
	for _, n := range notes {
		if i := at(n.orderID); i >= 0 {
			out[i].DeliveryNotes = append(out[i].DeliveryNotes, n.note)
		}
	}
	confirms := func(p *orders.PaymentSummary) bool {
		return p.Status == string(payments.StatusSucceeded) || p.Status == string(payments.StatusScheduled)
	}
	// The chosen payments share one array too.
	chosen := make([]orders.PaymentSummary, len(out))
	for _, p := range pays {
		i := at(p.orderID)
		if i < 0 {
			continue
		}
		cur, cand := out[i].Payment, &p.payment
		if cur == nil || (confirms(cand) && !confirms(cur)) || (confirms(cand) == confirms(cur) && cand.IntentID > cur.IntentID) {
			chosen[i] = p.payment
			out[i].Payment = &chosen[i]
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
		read := ordersByIDsNoPay
		if withPayments {
			read = ordersByIDsRead
		}
		batch, err := s.completeOrders(ctx, read, len(chunk), chunk)
		if err != nil {
			return nil, err
		}
		out = append(out, batch...)
	}
	return out, nil
}
