package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/idempotency"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/sepa"
	"github.com/vhupay/vhupay/internal/txn"
)

// SEPAOneTrip returns db's payments.OneTrip for sepa_debit payments: on PostgreSQL with month
// gates, nil otherwise (SQLite keeps the general path). rule is the SEPA score rule at an
// instant (sepa.ScorePolicy.RuleAt), the same the sepa_debit method decides with.
func (db *DB) SEPAOneTrip(rule func(at time.Time) sepa.ScoreRule) payments.OneTrip {
	if db.dialect != Postgres || db.gates == nil || rule == nil {
		return nil
	}
	return oneTrip{db: db, rule: rule}
}

// oneTrip implements payments.OneTrip on PostgreSQL with two statements, one round trip each:
// the read (oneTripReadSQL), then the write (oneTripWriteSQL), one statement whose
// data-modifying parts each depend on the one before and whose end asserts that the last took
// effect, so that a condition that no longer holds fails the statement, and a statement is
// atomic.
type oneTrip struct {
	db   *DB
	rule func(at time.Time) sepa.ScoreRule
}

var _ payments.OneTrip = oneTrip{}

// oneTripReadSQL reads, in one statement: the order's row with whether it has open intents and
// its version (as orderToPaySQL), its lines and delivery notes (JSON), the test clock's offset,
// whether the gates of two months ($7, $8) are open (NULL: no gate yet), and the buyer's default
// mandate when eligibleSQL ($1–$5) yields it.
var oneTripReadSQL = `SELECT o.id, o.buyer_id, o.center_id, o.status, o.delivery_mode, o.external_reference,
	o.total_excl_vat, o.total_vat, o.total, o.currency, o.created_at, o.updated_at,
	EXISTS (SELECT 1 FROM payment_intents i WHERE i.order_id = o.id AND i.status IN ('requires_action', 'processing')),
	o.xmin::text,
	COALESCE((SELECT json_agg(json_build_object('reference', l.reference, 'label', l.label, 'quantity', l.quantity,
		'unit_price_excl_vat', l.unit_price_excl_vat, 'vat_rate', l.vat_rate, 'total_excl_vat', l.total_excl_vat,
		'total_vat', l.total_vat, 'total', l.total) ORDER BY l.position) FROM order_lines l WHERE l.order_id = o.id), '[]'),
	COALESCE((SELECT json_agg(json_build_object('kind', n.kind, 'number', n.number, 'created_at', n.created_at)
		ORDER BY n.created_at, n.number) FROM delivery_notes n WHERE n.order_id = o.id), '[]'),
	COALESCE((SELECT offset_ns FROM sandbox_clock WHERE id = 1), 0),
	(SELECT g.closed_at IS NULL FROM month_gates g WHERE g.month = $7),
	(SELECT g.closed_at IS NULL FROM month_gates g WHERE g.month = $8),
	(SELECT e.mandate_id FROM (` + eligibleSQL + `) e)
FROM orders o WHERE o.id = $6`

type oneTripLine struct {
	Reference        string `json:"reference"`
	Label            string `json:"label"`
	Quantity         int    `json:"quantity"`
	UnitPriceExclVAT int64  `json:"unit_price_excl_vat"`
	VATRate          int    `json:"vat_rate"`
	TotalExclVAT     int64  `json:"total_excl_vat"`
	TotalVAT         int64  `json:"total_vat"`
	Total            int64  `json:"total"`
}

type oneTripNote struct {
	Kind      string    `json:"kind"`
	Number    string    `json:"number"`
	CreatedAt time.Time `json:"created_at"`
}

// ReadOneTrip implements payments.OneTrip with oneTripReadSQL: eligibility at hint, for any
// amount (the write checks the ceiling).
func (t oneTrip) ReadOneTrip(ctx context.Context, orderID, buyerID string, hint time.Time) (payments.OneTripRead, error) {
	first := clock.MonthOf(hint)
	second, err := nextMonth(first)
	if err != nil {
		return payments.OneTripRead{}, err
	}
	rule := t.rule(hint)
	var out payments.OneTripRead
	var r orderRow
	var lines, notes []byte
	var open [2]sql.NullBool
	var mandate sql.NullString
	err = t.db.sql.QueryRowContext(ctx, oneTripReadSQL, buyerID, int64(1), rule.Minimum, utc(rule.FreshAfter), utc(rule.GraceAfter),
		orderID, first, second).Scan(&r.ID, &r.BuyerID, &r.CenterID, &r.Status, &r.DeliveryMode, &r.ExternalReference,
		&r.TotalExclVAT, &r.TotalVAT, &r.Total, &r.Currency, &r.CreatedAt, &r.UpdatedAt, &out.HasOpenIntents, &out.Version,
		&lines, &notes, &out.Guard, &open[0], &open[1], &mandate)
	if errors.Is(err, sql.ErrNoRows) {
		return payments.OneTripRead{}, orders.ErrNotFound
	}
	if err != nil {
		return payments.OneTripRead{}, fmt.Errorf("read the order to pay: %w", err)
	}
	out.Order = toOrder(r)
	var ls []oneTripLine
	if err := json.Unmarshal(lines, &ls); err != nil {
		return payments.OneTripRead{}, fmt.Errorf("read the order's lines: %w", err)
	}
	for _, l := range ls {
		out.Lines = append(out.Lines, orders.Line{Reference: l.Reference, Label: l.Label, Quantity: l.Quantity,
			UnitPriceExclVAT: l.UnitPriceExclVAT, VATRate: l.VATRate, TotalExclVAT: l.TotalExclVAT, TotalVAT: l.TotalVAT, Total: l.Total})
	}
	var ns []oneTripNote
	if err := json.Unmarshal(notes, &ns); err != nil {
		return payments.OneTripRead{}, fmt.Errorf("read the order's delivery notes: %w", err)
	}
	out.DeliveryNotes = make([]orders.DeliveryNote, 0, len(ns))
	for _, n := range ns {
		out.DeliveryNotes = append(out.DeliveryNotes, orders.DeliveryNote{Kind: orders.DeliveryNoteKind(n.Kind), Number: n.Number,
			CreatedAt: n.CreatedAt.UTC()})
	}
	// As MonthGates.pick: the instant with the test clock's offset, never earlier than the hint;
	// the month of that instant when its gate is open (else the general path).
	at := t.db.gates.now(time.Duration(out.Guard))
	switch month := clock.MonthOf(at); {
	case month == first && open[0].Valid && open[0].Bool, month == second && open[1].Valid && open[1].Bool:
		out.Month = month
	}
	out.At = hint
	if at.After(hint) {
		out.At = at
	}
	out.MandateID = mandate.String
	return out, nil
}

// oneTripWriteSQL is the write of a one-trip payment, one statement: g holds the month's gate (a
// close's start waits for it: see vhupay_month_open and shutGate); r is reserveEligibleSQL's reservation, only while the month is
// open ($8), the test clock unmoved ($9) and the default mandate the one read ($7); c is
// confirmUnchangedSQL's confirmation of the order still at its version, only when r reserved,
// and i the intent's insertion; the events (%[1]s), their event outbox row (%[2]s: see
// flushOutbox; none without SetEventJob) and the
// Idempotency-Key's record (keepIdempotencySQL's, from $%[3]d) are written only when i was. The
// statement ends by asserting that the record was written: when a part did not take effect, it
// fails (vhupay_require), naming the first that did not, and nothing is written.
const oneTripWriteSQL = `WITH g AS (SELECT vhupay_month_open($8::text) AS open),
e AS (` + eligibleSQL + `),
r AS (INSERT INTO sepa_outstanding (buyer_id, month, outstanding)
	SELECT $1::text, $6::text, $2::bigint FROM e
	WHERE e.mandate_id = $7::text AND COALESCE((SELECT open FROM g), false)
		AND COALESCE((SELECT offset_ns FROM sandbox_clock WHERE id = 1), 0) = $9::bigint
	` + reserveWithinCeilingSQL + `
	RETURNING 1),
c AS (UPDATE orders SET status = 'confirmed', updated_at = $10
	WHERE id = $11 AND status = 'payment_pending' AND xmin::text = $12 AND EXISTS (SELECT 1 FROM r) RETURNING id),
i AS (INSERT INTO payment_intents (id, order_id, buyer_id, amount, currency, method, status, next_action_url,
	next_action_return_url, last_error_code, last_error_message, card_id, mandate_id, collection_month,
	invoicing_account_id, provider_payin_id, provider_refund_id, created_at, updated_at)
	SELECT $13::text, c.id, $1::text, $2::bigint, $14::text, $15::text, $16::text, '', '', '', '', NULL, $7::text, $6::text,
		'', NULL, '', $10::timestamptz, $10::timestamptz FROM c RETURNING 1),
ev AS (INSERT INTO events (id, type, buyer_id, center_id, data, created_at)
	SELECT v.* FROM (VALUES %[1]s) AS v(id, type, buyer_id, center_id, data, created_at) WHERE EXISTS (SELECT 1 FROM i)),
%[2]s
k AS (INSERT INTO idempotency_keys (scope, key, request_hash, state, status, content_type, location, body, created_at, locked_until, expires_at)
	SELECT $%[3]d::text, $%[4]d::text, $%[5]d::text, 'done', $%[6]d::int, $%[7]d::text, $%[8]d::text, $%[9]d::bytea,
		$%[10]d::timestamptz, $%[11]d::timestamptz, $%[12]d::timestamptz
	WHERE EXISTS (SELECT 1 FROM i)
	` + keepIdempotencyConflictSQL + `
	RETURNING 1)
SELECT vhupay_require(EXISTS (SELECT 1 FROM k), CASE
	WHEN NOT EXISTS (SELECT 1 FROM r) THEN 'the month is open and the buyer may pay by SEPA'
	WHEN NOT EXISTS (SELECT 1 FROM i) THEN 'the order is unchanged'
	ELSE 'the Idempotency-Key is free' END)`

// oneTripNotHeld is the SQLSTATE of vhupay_require.
const oneTripNotHeld = "VH001"

// WriteOneTrip implements payments.OneTrip with oneTripWriteSQL. The statement hook, when set,
// is called with it, then "COMMIT", before it is sent, and "COMMITTED" after.
func (t oneTrip) WriteOneTrip(ctx context.Context, w payments.OneTripWrite) (bool, error) {
	db, pi := t.db, w.Intent
	if pi.Method != payments.MethodSEPADebit || pi.MandateID == "" || pi.CollectionMonth != w.Read.Month ||
		w.Read.Version == "" || !w.Answer.Done || len(w.Events) == 0 {
		return false, nil
	}
	rule := t.rule(pi.CreatedAt)
	args := []any{pi.BuyerID, pi.Amount, rule.Minimum, utc(rule.FreshAfter), utc(rule.GraceAfter), pi.CollectionMonth, pi.MandateID,
		w.Read.Month, w.Read.Guard, utc(pi.CreatedAt), pi.OrderID, w.Read.Version, pi.ID, pi.Currency, string(pi.Method), string(pi.Status)}
	var events, outbox strings.Builder
	eventIDs := make([]string, 0, len(w.Events))
	for i, e := range w.Events {
		eventID, data, err := db.eventRow(e)
		if err != nil {
			return false, err
		}
		eventIDs = append(eventIDs, eventID)
		if i > 0 {
			events.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&events, "($%d::text, $%d::text, $%d::text, $%d::text, $%d::jsonb, $%d::timestamptz)", n+1, n+2, n+3, n+4, n+5, n+6)
		args = append(args, eventID, e.Type, nullable(e.BuyerID), nullable(e.CenterID), string(data), utc(e.At))
	}
	if db.eventJob != nil {
		ids, err := json.Marshal(eventIDs)
		if err != nil {
			return false, err
		}
		var last time.Time
		for _, e := range w.Events {
			if e.At.After(last) {
				last = e.At
			}
		}
		n := len(args)
		fmt.Fprintf(&outbox, `j AS (INSERT INTO event_outbox (event_ids, created_at) SELECT $%d::text, $%d::timestamptz WHERE EXISTS (SELECT 1 FROM i)),`, n+1, n+2)
		args = append(args, string(ids), utc(last))
	}
	rec, r := w.Answer, w.Answer.Response
	n := len(args)
	args = append(args, rec.Scope, rec.Key, rec.RequestHash, r.Status, r.ContentType, r.Location, r.Body,
		utc(rec.CreatedAt), utc(rec.LockedUntil), utc(rec.ExpiresAt))
	q := fmt.Sprintf(oneTripWriteSQL, events.String(), outbox.String(), n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9, n+10)
	if err := db.callHook(ctx, q); err != nil {
		return false, err
	}
	if err := db.callHook(ctx, "COMMIT"); err != nil {
		return false, err
	}
	var held bool
	if err := db.sql.QueryRowContext(ctx, q, args...).Scan(&held); err != nil {
		return oneTripFailed(err)
	}
	if db.eventJob != nil {
		db.outboxCommitted()
	}
	return true, db.callHook(ctx, "COMMITTED")
}

// oneTripFailed is what WriteOneTrip answers when its statement failed (and so wrote nothing):
// idempotency.ErrTaken when the key holds a record; false (take the general path) when a
// condition read no longer holds, an open intent appeared (the partial unique index), or the
// database chose this payment to give way (deadlock, serialization); err itself otherwise.
func oneTripFailed(err error) (bool, error) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false, err
	}
	switch {
	case pgErr.Code == oneTripNotHeld && strings.Contains(pgErr.Message, "Idempotency-Key"):
		return false, idempotency.ErrTaken
	case pgErr.Code == oneTripNotHeld, pgErr.Code == "23505", pgErr.Code == "40001", pgErr.Code == "40P01":
		return false, nil
	}
	return false, err
}

// eventRow gives an event's id and data column (Emit's).
func (db *DB) eventRow(e txn.Event) (string, []byte, error) {
	if e.Type == "" || e.Object == nil || e.At.IsZero() {
		return "", nil, fmt.Errorf("emit event: type, object and time are required (type %q)", e.Type)
	}
	obj, err := db.renderJSON(e.Object)
	if err != nil {
		return "", nil, fmt.Errorf("emit %s: render: %w", e.Type, err)
	}
	data := make([]byte, 0, len(obj)+11)
	data = append(append(append(data, `{"object":`...), obj...), '}')
	return id.New(id.Event), data, nil
}
