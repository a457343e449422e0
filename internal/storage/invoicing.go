package storage

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/vhupay/vhupay/internal/detail"
	"github.com/vhupay/vhupay/internal/invoicing"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/txn"
)

type invoicingAccountRow struct {
	ID        string
	BuyerID   string
	CenterID  string
	Status    string
	Note      string
	CreatedAt time.Time
	DecidedAt *time.Time
	UpdatedAt time.Time
}

func (invoicingAccountRow) TableName() string { return "invoicing_accounts" }

type statementRow struct {
	ID                 string
	InvoicingAccountID string
	BuyerID            string
	CenterID           string
	Month              string
	Status             string
	TotalExclVAT       int64 `gorm:"column:total_excl_vat"`
	TotalVAT           int64 `gorm:"column:total_vat"`
	Total              int64
	Currency           string
	CreatedAt          time.Time
	UpdatedAt          time.Time
	IssuedAt           *time.Time
	PaidAt             *time.Time
}

func (statementRow) TableName() string { return "statements" }

type statementOrderRow struct {
	StatementID string
	OrderID     string
	IntentID    string
	CreatedAt   time.Time
}

func (statementOrderRow) TableName() string { return "statement_orders" }

// Invoicing implements invoicing.Store.
type Invoicing struct {
	db   *gorm.DB
	root *DB
}

var _ invoicing.Store = Invoicing{}

// NewInvoicing returns the invoicing store.
func NewInvoicing(db *DB) Invoicing { return Invoicing{db: db.gorm, root: db} }

// CreateAccount implements invoicing.Store; the partial unique index on live accounts turns a
// second live account for the pair (even from a concurrent request) into ErrAccountExists.
func (s Invoicing) CreateAccount(ctx context.Context, a invoicing.Account) error {
	row := invoicingAccountRow{ID: a.ID, BuyerID: a.BuyerID, CenterID: a.CenterID, Status: string(a.Status), Note: a.Note,
		CreatedAt: utc(a.CreatedAt), DecidedAt: utcPtr(a.DecidedAt), UpdatedAt: utc(a.CreatedAt)}
	return s.root.inUnit(ctx, func(u *unit) error {
		if err := u.g.WithContext(ctx).Create(&row).Error; err != nil {
			if isUnique(err) {
				return fmt.Errorf("buyer %s, centre %s: %w", a.BuyerID, a.CenterID, invoicing.ErrAccountExists)
			}
			return err
		}
		return u.emitAccount(ctx, a.ID, a.CreatedAt)
	})
}

// emitAccount emits the invoicing_account.<status> event of an account that has just reached its
// status, with the account as its GET answers it after the unit's writes.
func (u *unit) emitAccount(ctx context.Context, id string, at time.Time) error {
	a, err := Invoicing{db: u.g}.Account(ctx, id)
	if err != nil {
		return err
	}
	typ := "invoicing_account." + string(a.Status)
	if a.Status == invoicing.AccountPending {
		typ = "invoicing_account.requested"
	}
	return u.Emit(ctx, txn.Event{Type: typ, BuyerID: a.BuyerID, CenterID: a.CenterID, Object: a, At: at})
}

// emitStatement emits a statement.* event with the statement as its GET answers it after the
// unit's writes.
func (u *unit) emitStatement(ctx context.Context, typ, id string, at time.Time) error {
	stored, err := Invoicing{db: u.g}.Statement(ctx, id)
	if err != nil {
		return err
	}
	st, err := invoicing.Complete(stored)
	if err != nil {
		return err
	}
	return u.Emit(ctx, txn.Event{Type: typ, BuyerID: st.BuyerID, CenterID: st.CenterID, Object: st, At: at})
}

// Account implements invoicing.Store.
func (s Invoicing) Account(ctx context.Context, id string) (invoicing.Account, error) {
	var rows []invoicingAccountRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return invoicing.Account{}, err
	}
	if len(rows) == 0 {
		return invoicing.Account{}, invoicing.ErrNotFound
	}
	return toAccount(rows[0]), nil
}

// Accounts implements invoicing.Store.
func (s Invoicing) Accounts(ctx context.Context, f invoicing.AccountFilter, p page.Request) (page.Page[invoicing.Account], error) {
	q := s.db.WithContext(ctx).Model(&invoicingAccountRow{})
	if f.BuyerID != "" {
		q = q.Where("buyer_id = ?", f.BuyerID)
	}
	if f.CenterID != "" {
		q = q.Where("center_id = ?", f.CenterID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	var rows []invoicingAccountRow
	if err := keyset(q, p, "id").Find(&rows).Error; err != nil {
		return page.Page[invoicing.Account]{}, err
	}
	out := make([]invoicing.Account, len(rows))
	for i, r := range rows {
		out[i] = toAccount(r)
	}
	return page.Build(out, p.Limit, func(a invoicing.Account) string { return a.ID }), nil
}

// SaveDecision implements invoicing.Store with UPDATE ... WHERE id = ? AND status = from.
func (s Invoicing) SaveDecision(ctx context.Context, a invoicing.Account, from invoicing.AccountStatus, audit *txn.AuditEntry) error {
	return s.root.inUnit(ctx, func(u *unit) error {
		tx := u.g.WithContext(ctx)
		res := tx.Model(&invoicingAccountRow{}).Where("id = ? AND status = ?", a.ID, string(from)).
			Updates(map[string]any{"status": string(a.Status), "note": a.Note, "decided_at": utcPtr(a.DecidedAt), "updated_at": utc(*a.DecidedAt)})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			var n int64
			if err := tx.Model(&invoicingAccountRow{}).Where("id = ?", a.ID).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return invoicing.ErrNotFound
			}
			return detail.Wrap(fmt.Errorf("invoicing account %s is no longer %s: %w", a.ID, from, invoicing.ErrInvalidTransition),
				"The invoicing account is no longer %s (another decision came first). Read it for its current status.", from)
		}
		if err := s.root.auditIn(ctx, tx, audit); err != nil {
			return err
		}
		return u.emitAccount(ctx, a.ID, *a.DecidedAt)
	})
}

// AcceptPayment implements invoicing.Tx inside the payment's unit of work.
//
// The approval is checked by a no-op conditional update of the approved account's row (SET
// updated_at = updated_at WHERE ... AND status = 'approved'): on PostgreSQL it takes the row lock,
// so a concurrent revoke (itself a conditional update of that row) waits until this payment is
// committed or rolled back, and a revoke committed first makes this update match no row; on
// SQLite write transactions are serialised (BEGIN IMMEDIATE). Either way the payment is accepted
// only if the account is approved when the transaction commits.
//
// The payment goes on the statement of that account and month (one per account and month,
// created by its first payment): after a revocation and a new approval in the same month, the
// revoked account's statement keeps its payments and the new account's payments go on its own.
func (u invoicingUnit) AcceptPayment(ctx context.Context, a invoicing.Acceptance) (string, error) {
	g := u.g.WithContext(ctx)
	approved := func(q *gorm.DB) *gorm.DB {
		return q.Where("buyer_id = ? AND center_id = ? AND status = ?", a.BuyerID, a.CenterID, string(invoicing.AccountApproved))
	}
	res := approved(g.Model(&invoicingAccountRow{})).Update("updated_at", gorm.Expr("updated_at"))
	if res.Error != nil {
		return "", res.Error
	}
	if res.RowsAffected == 0 {
		return "", fmt.Errorf("buyer %s, centre %s: %w", a.BuyerID, a.CenterID, invoicing.ErrNotApproved)
	}
	var account invoicingAccountRow
	if err := approved(g).Take(&account).Error; err != nil {
		return "", fmt.Errorf("read the approved account: %w", err)
	}

	at := utc(a.At)
	open := statementRow{ID: a.StatementID, InvoicingAccountID: account.ID, BuyerID: a.BuyerID, CenterID: a.CenterID,
		Month: a.Month, Status: string(invoicing.StatementOpen), Currency: invoicing.Currency, CreatedAt: at, UpdatedAt: at}
	if err := g.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "invoicing_account_id"}, {Name: "month"}},
		DoNothing: true,
	}).Create(&open).Error; err != nil {
		return "", fmt.Errorf("open the statement: %w", err)
	}
	res = g.Model(&statementRow{}).
		Where("invoicing_account_id = ? AND month = ? AND status = ?", account.ID, a.Month, string(invoicing.StatementOpen)).
		Updates(map[string]any{
			"total_excl_vat": gorm.Expr("total_excl_vat + ?", a.TotalExclVAT),
			"total_vat":      gorm.Expr("total_vat + ?", a.TotalVAT),
			"total":          gorm.Expr("total + ?", a.Total),
			"updated_at":     at,
		})
	if res.Error != nil {
		return "", res.Error
	}
	if res.RowsAffected == 0 {
		return "", fmt.Errorf("buyer %s, centre %s, %s: %w", a.BuyerID, a.CenterID, a.Month, invoicing.ErrStatementClosed)
	}
	var st statementRow
	if err := g.Where("invoicing_account_id = ? AND month = ?", account.ID, a.Month).Take(&st).Error; err != nil {
		return "", fmt.Errorf("read the statement: %w", err)
	}
	line := statementOrderRow{StatementID: st.ID, OrderID: a.OrderID, IntentID: a.IntentID, CreatedAt: at}
	if err := g.Create(&line).Error; err != nil {
		if isUnique(err) {
			return "", detail.Wrap(fmt.Errorf("order %s is already on a statement: %w", a.OrderID, orders.ErrNotPayable),
				"The order is already on the centre's invoicing statement: it is paid through that invoice.")
		}
		return "", err
	}
	return account.ID, nil
}

// AttachDeliveryNote implements invoicing.Store; UNIQUE (center_id, number) gives
// ErrDeliveryNoteExists. The note carries its order's buyer (migration 00860: a buyer's page of
// orders reads its notes from the buyer's part of delivery_notes_buyer_idx), copied from the
// order in the same statement.
func (s Invoicing) AttachDeliveryNote(ctx context.Context, orderID, centerID string, n invoicing.DeliveryNote) error {
	res := s.db.WithContext(ctx).Exec(`INSERT INTO delivery_notes (order_id, center_id, buyer_id, kind, number, created_at)
		SELECT id, ?, buyer_id, ?, ?, ? FROM orders WHERE id = ?`, centerID, string(n.Kind), n.Number, utc(n.CreatedAt), orderID)
	if err := res.Error; err != nil {
		if isUnique(err) {
			return fmt.Errorf("centre %s, number %q: %w", centerID, n.Number, invoicing.ErrDeliveryNoteExists)
		}
		return err
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("order %s: %w", orderID, orders.ErrNotFound)
	}
	return nil
}

// Statement implements invoicing.Store.
func (s Invoicing) Statement(ctx context.Context, id string) (invoicing.Statement, error) {
	var rows []statementRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return invoicing.Statement{}, err
	}
	if len(rows) == 0 {
		return invoicing.Statement{}, invoicing.ErrNotFound
	}
	out, err := s.completeStatements(ctx, rows)
	if err != nil {
		return invoicing.Statement{}, err
	}
	return out[0], nil
}

// Statements implements invoicing.Store with a bounded number of queries per page: statements,
// their orders, then the orders' lines, delivery notes and payments.
func (s Invoicing) Statements(ctx context.Context, f invoicing.StatementFilter, p page.Request) (page.Page[invoicing.Statement], error) {
	q := s.db.WithContext(ctx).Model(&statementRow{})
	if f.BuyerID != "" {
		q = q.Where("buyer_id = ?", f.BuyerID)
	}
	if f.CenterID != "" {
		q = q.Where("center_id = ?", f.CenterID)
	}
	if f.Month != "" {
		q = q.Where("month = ?", f.Month)
	}
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	var rows []statementRow
	if err := keyset(q, p, "id").Find(&rows).Error; err != nil {
		return page.Page[invoicing.Statement]{}, err
	}
	out, err := s.completeStatements(ctx, rows)
	if err != nil {
		return page.Page[invoicing.Statement]{}, err
	}
	return page.Build(out, p.Limit, func(st invoicing.Statement) string { return st.ID }), nil
}

func (s Invoicing) completeStatements(ctx context.Context, rows []statementRow) ([]invoicing.Statement, error) {
	out := make([]invoicing.Statement, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	db := s.db.WithContext(ctx)
	links, err := statementLinks(ctx, s.db, ids)
	if err != nil {
		return nil, err
	}
	statementOf := make(map[string]string, len(links))
	orderIDs := make([]string, len(links))
	for i, l := range links {
		statementOf[l.OrderID] = l.StatementID
		orderIDs[i] = l.OrderID
	}
	var complete []orders.Order
	if isPostgres(s.db) {
		var err error
		// A statement's orders are shown without their payment summary (toStatementOrder).
		if complete, err = (Orders{db: s.db.WithContext(ctx)}).completeByIDs(ctx, false, orderIDs); err != nil {
			return nil, err
		}
	} else {
		var orderRows []orderRow
		if len(orderIDs) > 0 {
			if err := db.Where("id IN ?", orderIDs).Find(&orderRows).Error; err != nil {
				return nil, fmt.Errorf("read statement orders: %w", err)
			}
		}
		var err error
		if complete, err = (Orders{db: s.db}).complete(ctx, orderRows); err != nil {
			return nil, err
		}
	}
	ordersOf := map[string][]invoicing.StatementOrder{}
	for _, o := range complete {
		sid := statementOf[o.ID]
		ordersOf[sid] = append(ordersOf[sid], toStatementOrder(o))
	}
	credits, err := statementCredits(ctx, s.db, ids)
	if err != nil {
		return nil, err
	}
	for i, r := range rows {
		out[i] = invoicing.Statement{ID: r.ID, InvoicingAccountID: r.InvoicingAccountID, BuyerID: r.BuyerID, CenterID: r.CenterID,
			Month: r.Month, Status: invoicing.StatementStatus(r.Status), Orders: ordersOf[r.ID], Credits: credits[r.ID], TotalExclVAT: r.TotalExclVAT,
			TotalVAT: r.TotalVAT, Total: r.Total, Currency: r.Currency, IssuedAt: utcPtr(r.IssuedAt), PaidAt: utcPtr(r.PaidAt)}
	}
	return out, nil
}

// statementLinks reads the order links of the statements ids (statement_orders' statement and
// order), without gorm's reflection: a statement has thousands.
func statementLinks(ctx context.Context, g *gorm.DB, ids []string) ([]statementOrderRow, error) {
	var links []statementOrderRow
	if !isPostgres(g) {
		if err := g.WithContext(ctx).Where("statement_id IN ?", ids).Find(&links).Error; err != nil {
			return nil, fmt.Errorf("read statement orders: %w", err)
		}
		return links, nil
	}
	rows, err := conn(g).QueryContext(ctx, `SELECT statement_id, order_id FROM statement_orders WHERE statement_id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("read statement orders: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l statementOrderRow
		if err := rows.Scan(&l.StatementID, &l.OrderID); err != nil {
			return nil, fmt.Errorf("read statement orders: %w", err)
		}
		links = append(links, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read statement orders: %w", err)
	}
	return links, nil
}

func toStatementOrder(o orders.Order) invoicing.StatementOrder {
	so := invoicing.StatementOrder{OrderID: o.ID, OrderedAt: o.CreatedAt, ExternalReference: o.ExternalReference,
		TotalExclVAT: o.TotalExclVAT, TotalVAT: o.TotalVAT, Total: o.Total,
		DeliveryNotes: make([]invoicing.DeliveryNote, len(o.DeliveryNotes)), Lines: make([]invoicing.StatementLine, len(o.Lines))}
	for i, n := range o.DeliveryNotes {
		so.DeliveryNotes[i] = invoicing.DeliveryNote{Kind: invoicing.NoteKind(n.Kind), Number: n.Number, CreatedAt: n.CreatedAt}
	}
	for i, l := range o.Lines {
		so.Lines[i] = invoicing.StatementLine{Reference: l.Reference, Label: l.Label, Quantity: l.Quantity,
			UnitPriceExclVAT: l.UnitPriceExclVAT, VATRate: l.VATRate, TotalExclVAT: l.TotalExclVAT, TotalVAT: l.TotalVAT, Total: l.Total}
	}
	return so
}

// IssueMonth implements invoicing.Store: UPDATE statements SET status = 'issued' WHERE month = ?
// AND status = 'open' RETURNING id (one statement), their statement.issued events, then a count of the month's issued and paid statements, in one
// transaction.
func (s Invoicing) IssueMonth(ctx context.Context, month string, at time.Time) (int, error) {
	var n int64
	err := s.root.inUnit(ctx, func(u *unit) error {
		tx := u.g.WithContext(ctx)
		ids, err := updateReturning(tx, "statements",
			map[string]any{"status": string(invoicing.StatementIssued), "issued_at": utc(at), "updated_at": utc(at)},
			"month = ? AND status = ?", month, string(invoicing.StatementOpen))
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := u.emitStatement(ctx, "statement.issued", id, at); err != nil {
				return err
			}
		}
		return tx.Model(&statementRow{}).Where("month = ? AND status IN ?", month,
			[]string{string(invoicing.StatementIssued), string(invoicing.StatementPaid)}).Count(&n).Error
	})
	return int(n), err
}

// MarkStatementPaid implements invoicing.Store: the statement (issued → paid) and its intents
// (scheduled → succeeded, set-based) in one transaction.
func (s Invoicing) MarkStatementPaid(ctx context.Context, id string, at time.Time, audit *txn.AuditEntry) error {
	return s.root.inUnit(ctx, func(u *unit) error {
		tx := u.g.WithContext(ctx)
		res := tx.Model(&statementRow{}).Where("id = ? AND status = ?", id, string(invoicing.StatementIssued)).
			Updates(map[string]any{"status": string(invoicing.StatementPaid), "paid_at": utc(at), "updated_at": utc(at)})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			var n int64
			if err := tx.Model(&statementRow{}).Where("id = ?", id).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return invoicing.ErrNotFound
			}
			return detail.Wrap(fmt.Errorf("statement %s is not issued: %w", id, invoicing.ErrInvalidTransition),
				"The statement is not issued (still open, or already paid): only an issued statement can be marked paid.")
		}
		ids, err := updateReturning(tx, "payment_intents",
			map[string]any{"status": string(payments.StatusSucceeded), "updated_at": utc(at)},
			"status = ? AND id IN (SELECT so.intent_id FROM statement_orders so WHERE so.statement_id = ?)",
			string(payments.StatusScheduled), id)
		if err != nil {
			return err
		}
		for _, piID := range ids {
			if err := u.emitIntent(ctx, piID, at); err != nil {
				return err
			}
		}
		if err := s.root.auditIn(ctx, tx, audit); err != nil {
			return err
		}
		return u.emitStatement(ctx, "statement.paid", id, at)
	})
}

func toAccount(r invoicingAccountRow) invoicing.Account {
	return invoicing.Account{ID: r.ID, BuyerID: r.BuyerID, CenterID: r.CenterID, Status: invoicing.AccountStatus(r.Status),
		Note: r.Note, CreatedAt: r.CreatedAt.UTC(), DecidedAt: utcPtr(r.DecidedAt)}
}
