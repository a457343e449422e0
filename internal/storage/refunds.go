package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/vhupay/vhupay/internal/invoicing"
	"github.com/vhupay/vhupay/internal/ledger"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/refunds"
)

type refundRow struct {
	ID                       string
	PaymentIntentID          string
	OrderID                  string
	BuyerID                  string
	CenterID                 string
	Method                   string
	Amount                   int64
	Fee                      int64
	Currency                 string
	Reason                   string
	Note                     string
	Status                   string
	FailureCode              string
	Stage                    string
	Posted                   bool
	Attempts                 int
	ProviderTransferRefundID string
	ProviderRefundID         string
	StatementID              string
	NotBefore                time.Time
	CreatedAt                time.Time
	UpdatedAt                time.Time
}

func (refundRow) TableName() string { return "refunds" }

func toRefund(r refundRow) refunds.Refund {
	return refunds.Refund{ID: r.ID, PaymentIntentID: r.PaymentIntentID, OrderID: r.OrderID, BuyerID: r.BuyerID,
		CenterID: r.CenterID, Method: r.Method, Amount: r.Amount, Fee: r.Fee, Currency: r.Currency,
		Reason: refunds.Reason(r.Reason), Note: r.Note, Status: refunds.Status(r.Status), FailureCode: r.FailureCode,
		Stage: refunds.Stage(r.Stage), Posted: r.Posted, Attempts: r.Attempts,
		ProviderTransferRefundID: r.ProviderTransferRefundID, ProviderRefundID: r.ProviderRefundID,
		StatementID: r.StatementID, NotBefore: r.NotBefore.UTC(), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// refundsUnit implements refunds.Tx: a payment's unit with the refunds' writes.
type refundsUnit struct{ paymentsUnit }

var _ refunds.Tx = refundsUnit{}

// Refunds implements refunds.Store.
type Refunds struct {
	runner[refunds.Tx]
	db *gorm.DB
}

var _ refunds.Store = Refunds{}

// NewRefunds returns the refunds' store.
func NewRefunds(db *DB) Refunds {
	return Refunds{runner: runner[refunds.Tx]{db: db, bind: func(u *unit) refunds.Tx { return refundsUnit{paymentsUnit{u}} }},
		db: db.gorm}
}

// Refund implements refunds.Store.
func (s Refunds) Refund(ctx context.Context, id string) (refunds.Refund, error) {
	return readRefund(ctx, s.db, id)
}

func readRefund(ctx context.Context, g *gorm.DB, id string) (refunds.Refund, error) {
	var rows []refundRow
	if err := g.WithContext(ctx).Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return refunds.Refund{}, err
	}
	if len(rows) == 0 {
		return refunds.Refund{}, refunds.ErrNotFound
	}
	return toRefund(rows[0]), nil
}

// Refunds implements refunds.Store.
func (s Refunds) Refunds(ctx context.Context, f refunds.Filter, p page.Request) (page.Page[refunds.Refund], error) {
	q := s.db.WithContext(ctx).Model(&refundRow{})
	if f.BuyerID != "" {
		q = q.Where("buyer_id = ?", f.BuyerID)
	}
	if f.CenterID != "" {
		q = q.Where("center_id = ?", f.CenterID)
	}
	if f.PaymentIntentID != "" {
		q = q.Where("payment_intent_id = ?", f.PaymentIntentID)
	}
	var rows []refundRow
	if err := keyset(q, p, "id").Find(&rows).Error; err != nil {
		return page.Page[refunds.Refund]{}, err
	}
	out := make([]refunds.Refund, len(rows))
	for i, r := range rows {
		out[i] = toRefund(r)
	}
	return page.Build(out, p.Limit, func(r refunds.Refund) string { return r.ID }), nil
}

// Due implements refunds.Store.
func (s Refunds) Due(ctx context.Context, now time.Time, limit int) ([]refunds.Refund, error) {
	var rows []refundRow
	if err := s.db.WithContext(ctx).Where("status = ? AND not_before <= ?", string(refunds.StatusPending), utc(now)).
		Order("not_before, id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]refunds.Refund, len(rows))
	for i, r := range rows {
		out[i] = toRefund(r)
	}
	return out, nil
}

// Target implements refunds.Store: the intent, its order (with lines), the fee the centre paid
// when it earned it (its ledger transaction), its collection and its centre's transfer.
func (s Refunds) Target(ctx context.Context, intentID string) (refunds.Target, error) {
	db := s.db.WithContext(ctx)
	var rows []intentRow
	if err := db.Where("id = ?", intentID).Limit(1).Find(&rows).Error; err != nil {
		return refunds.Target{}, err
	}
	if len(rows) == 0 || rows[0].OrderID == nil {
		return refunds.Target{}, payments.ErrNotFound
	}
	t := refunds.Target{Intent: toIntent(rows[0])}
	o, err := Orders{db: s.db}.Order(ctx, t.Intent.OrderID)
	if errors.Is(err, orders.ErrNotFound) {
		return refunds.Target{}, payments.ErrNotFound
	}
	if err != nil {
		return refunds.Target{}, err
	}
	t.Order, t.CenterID = o, o.CenterID
	var earned []struct {
		Kind string
		Fee  int64
	}
	if err := db.Raw(`SELECT t.kind, COALESCE((SELECT SUM(p.amount) FROM ledger_postings p WHERE p.transaction_id = t.id AND p.account = ?), 0) AS fee
		FROM ledger_transactions t WHERE t.source_id = ? AND t.kind IN ('payment', 'sepa_guarantee')`,
		string(ledger.PlatformFees), intentID).Scan(&earned).Error; err != nil {
		return refunds.Target{}, err
	}
	if len(earned) > 0 {
		t.Earned, t.Fee = true, earned[0].Fee
	}
	var col []struct {
		ID              string
		Status          string
		ProviderPayinID *string `gorm:"column:provider_payin_id"`
		SubmittedAt     *time.Time
	}
	if err := db.Raw(`SELECT c.id, c.status, c.provider_payin_id, c.submitted_at FROM sepa_collection_intents l
		JOIN sepa_collections c ON c.id = l.collection_id WHERE l.intent_id = ?`, intentID).Scan(&col).Error; err != nil {
		return refunds.Target{}, err
	}
	if len(col) > 0 {
		t.CollectionID, t.CollectionStatus, t.CollectionPayInID = col[0].ID, col[0].Status, deref(col[0].ProviderPayinID)
		if col[0].SubmittedAt != nil {
			t.CollectionSubmittedAt = col[0].SubmittedAt.UTC()
		}
	}
	var tr []centerTransferRow
	if err := db.Where("source_id = ? AND kind = ?", intentID, "payment").Limit(1).Find(&tr).Error; err != nil {
		return refunds.Target{}, err
	}
	if len(tr) > 0 {
		t.TransferStatus, t.ProviderTransferID = tr[0].Status, tr[0].ProviderTransferID
	}
	return t, nil
}

// PaymentDisputed implements refunds.Tx with the disputes capability's query: the intent's row is
// held first, so that a dispute being recorded either committed before (and is seen here) or
// waits for this refund (and debits only what the centre still holds, see disputesUnit.HoldPayment).
func (u refundsUnit) PaymentDisputed(ctx context.Context, intentID string) (bool, error) {
	if err := holdIntent(ctx, u.g, intentID); err != nil {
		return false, err
	}
	return paymentDisputed(ctx, u.g, intentID)
}

// Reserve implements refunds.Tx: one conditional update of the intent, then the order's total.
func (u refundsUnit) Reserve(ctx context.Context, intentID string, amount int64, statuses []payments.Status, at time.Time) (bool, error) {
	st := make([]string, len(statuses))
	for i, s := range statuses {
		st[i] = string(s)
	}
	g := u.g.WithContext(ctx)
	res := g.Model(&intentRow{}).Where("id = ? AND status IN ? AND amount_refunded + ? <= amount", intentID, st, amount).
		Updates(map[string]any{"amount_refunded": gorm.Expr("amount_refunded + ?", amount), "updated_at": utc(at)})
	if res.Error != nil || res.RowsAffected == 0 {
		return false, res.Error
	}
	return true, u.addToOrder(ctx, intentID, amount, at)
}

func (u refundsUnit) addToOrder(ctx context.Context, intentID string, amount int64, at time.Time) error {
	return u.g.WithContext(ctx).Exec(`UPDATE orders SET amount_refunded = amount_refunded + ?, updated_at = ?
		WHERE id = (SELECT order_id FROM payment_intents WHERE id = ?)`, amount, utc(at), intentID).Error
}

// LowerScheduled implements refunds.Tx: the intent's reservation only while no collection took
// it, then the buyer's outstanding of the month. On PostgreSQL the intent is locked first (FOR
// NO KEY UPDATE, which waits for the share lock of a month's close linking it), so that the
// update's statement, which starts after the lock, sees the close's link if there is one
// (collections.Store.CreateMonth); SQLite serialises write transactions.
func (u refundsUnit) LowerScheduled(ctx context.Context, intentID, buyerID, month string, amount int64, at time.Time) (bool, error) {
	g := u.g.WithContext(ctx)
	if u.db.dialect == Postgres {
		if err := g.Exec(`SELECT 1 FROM payment_intents WHERE id = ? FOR NO KEY UPDATE`, intentID).Error; err != nil {
			return false, err
		}
	}
	res := g.Model(&intentRow{}).Where(`id = ? AND status = ? AND method = ? AND amount_refunded + ? <= amount
		AND NOT EXISTS (SELECT 1 FROM sepa_collection_intents l WHERE l.intent_id = payment_intents.id)`,
		intentID, string(payments.StatusScheduled), string(payments.MethodSEPADebit), amount).
		Updates(map[string]any{"amount_refunded": gorm.Expr("amount_refunded + ?", amount), "updated_at": utc(at)})
	if res.Error != nil || res.RowsAffected == 0 {
		return false, res.Error
	}
	if err := u.addToOrder(ctx, intentID, amount, at); err != nil {
		return false, err
	}
	err := g.Exec(`UPDATE sepa_outstanding SET outstanding = CASE WHEN outstanding > ? THEN outstanding - ? ELSE 0 END
		WHERE buyer_id = ? AND month = ?`, amount, amount, buyerID, month).Error
	return err == nil, err
}

// LockPayment implements refunds.Tx: a conditional no-op update takes the row lock on PostgreSQL
// (the statements after it read what the transactions it waited for committed); SQLite's write
// transactions are serialised already.
func (u refundsUnit) LockPayment(ctx context.Context, intentID string) error {
	return u.g.WithContext(ctx).Exec(`UPDATE payment_intents SET updated_at = updated_at WHERE id = ?`, intentID).Error
}

// Release implements refunds.Tx.
func (u refundsUnit) Release(ctx context.Context, intentID string, amount int64, at time.Time) error {
	g := u.g.WithContext(ctx)
	if err := g.Exec(`UPDATE payment_intents SET amount_refunded = amount_refunded - ?, updated_at = ? WHERE id = ? AND amount_refunded >= ?`,
		amount, utc(at), intentID, amount).Error; err != nil {
		return err
	}
	return u.addToOrder(ctx, intentID, -amount, at)
}

// RefundedBefore implements refunds.Tx.
func (u refundsUnit) RefundedBefore(ctx context.Context, intentID string) (int64, int64, int64, error) {
	var r struct {
		Amount  int64
		Fee     int64
		Lowered int64
	}
	err := u.g.WithContext(ctx).Raw(`SELECT
			COALESCE(SUM(CASE WHEN posted AND status <> 'failed' THEN amount ELSE 0 END), 0) AS amount,
			COALESCE(SUM(CASE WHEN posted AND status <> 'failed' THEN fee ELSE 0 END), 0) AS fee,
			COALESCE(SUM(CASE WHEN stage = ? AND status = 'succeeded' THEN amount ELSE 0 END), 0) AS lowered
		FROM refunds WHERE payment_intent_id = ?`, string(refunds.StageLowered), intentID).Scan(&r).Error
	return r.Amount, r.Fee, r.Lowered, err
}

func refundRowOf(r refunds.Refund) refundRow {
	return refundRow{ID: r.ID, PaymentIntentID: r.PaymentIntentID, OrderID: r.OrderID, BuyerID: r.BuyerID, CenterID: r.CenterID,
		Method: r.Method, Amount: r.Amount, Fee: r.Fee, Currency: r.Currency, Reason: string(r.Reason), Note: r.Note,
		Status: string(r.Status), FailureCode: r.FailureCode, Stage: string(r.Stage), Posted: r.Posted, Attempts: r.Attempts,
		ProviderTransferRefundID: r.ProviderTransferRefundID, ProviderRefundID: r.ProviderRefundID, StatementID: r.StatementID,
		NotBefore: utc(r.NotBefore), CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt)}
}

// InsertRefund implements refunds.Tx.
func (u refundsUnit) InsertRefund(ctx context.Context, r refunds.Refund) error {
	row := refundRowOf(r)
	return u.g.WithContext(ctx).Create(&row).Error
}

// UpdateRefund implements refunds.Tx (conditional: pending).
func (u refundsUnit) UpdateRefund(ctx context.Context, r refunds.Refund) (bool, error) {
	res := u.g.WithContext(ctx).Model(&refundRow{}).Where("id = ? AND status = ?", r.ID, string(refunds.StatusPending)).
		Updates(map[string]any{"status": string(r.Status), "failure_code": r.FailureCode, "stage": string(r.Stage),
			"posted": r.Posted, "fee": r.Fee, "attempts": r.Attempts, "provider_transfer_refund_id": r.ProviderTransferRefundID,
			"provider_refund_id": r.ProviderRefundID, "statement_id": r.StatementID, "not_before": utc(r.NotBefore),
			"updated_at": utc(r.UpdatedAt)})
	return res.RowsAffected > 0, res.Error
}

// CurrentRefund implements refunds.Tx.
func (u refundsUnit) CurrentRefund(ctx context.Context, id string) (refunds.Refund, error) {
	return readRefund(ctx, u.g, id)
}

// SucceededTotal implements refunds.Tx.
func (u refundsUnit) SucceededTotal(ctx context.Context, intentID string) (int64, error) {
	var n int64
	err := u.g.WithContext(ctx).Raw(`SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE payment_intent_id = ? AND status = ?`,
		intentID, string(refunds.StatusSucceeded)).Scan(&n).Error
	return n, err
}

// MarkOrderRefunded implements refunds.Tx.
func (u refundsUnit) MarkOrderRefunded(ctx context.Context, orderID string, at time.Time) (bool, error) {
	res := u.g.WithContext(ctx).Model(&orderRow{}).Where("id = ? AND status = ?", orderID, string(orders.StatusConfirmed)).
		Updates(map[string]any{"status": string(orders.StatusRefunded), "updated_at": utc(at)})
	return res.RowsAffected > 0, res.Error
}

type statementCreditRow struct {
	RefundID     string `gorm:"primaryKey"`
	StatementID  string
	OrderID      string
	TotalExclVAT int64 `gorm:"column:total_excl_vat"`
	TotalVAT     int64 `gorm:"column:total_vat"`
	Total        int64
	VATLines     string `gorm:"column:vat_lines"`
	CreatedAt    time.Time
}

func (statementCreditRow) TableName() string { return "statement_credits" }

type vatLineJSON struct {
	Rate int   `json:"rate"`
	Base int64 `json:"base"`
	VAT  int64 `json:"vat"`
}

// AddStatementCredit implements refunds.Tx: the statement of the account and month is opened if
// needed, its totals lowered while it is open (conditional), and the credit line inserted.
func (u refundsUnit) AddStatementCredit(ctx context.Context, c invoicing.Credit) (string, error) {
	g := u.g.WithContext(ctx)
	at := utc(c.CreatedAt)
	open := statementRow{ID: c.StatementID, InvoicingAccountID: c.InvoicingAccountID, BuyerID: c.BuyerID, CenterID: c.CenterID,
		Month: c.Month, Status: string(invoicing.StatementOpen), Currency: invoicing.Currency, CreatedAt: at, UpdatedAt: at}
	if err := g.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "invoicing_account_id"}, {Name: "month"}}, DoNothing: true}).
		Create(&open).Error; err != nil {
		return "", fmt.Errorf("open the statement: %w", err)
	}
	res := g.Model(&statementRow{}).
		Where("invoicing_account_id = ? AND month = ? AND status = ?", c.InvoicingAccountID, c.Month, string(invoicing.StatementOpen)).
		Updates(map[string]any{
			"total_excl_vat": gorm.Expr("total_excl_vat + ?", c.TotalExclVAT),
			"total_vat":      gorm.Expr("total_vat + ?", c.TotalVAT),
			"total":          gorm.Expr("total + ?", c.Total),
			"updated_at":     at,
		})
	if res.Error != nil {
		return "", res.Error
	}
	if res.RowsAffected == 0 {
		return "", fmt.Errorf("account %s, %s: %w", c.InvoicingAccountID, c.Month, invoicing.ErrStatementClosed)
	}
	var st statementRow
	if err := g.Where("invoicing_account_id = ? AND month = ?", c.InvoicingAccountID, c.Month).Take(&st).Error; err != nil {
		return "", fmt.Errorf("read the statement: %w", err)
	}
	lines := make([]vatLineJSON, len(c.VATLines))
	for i, l := range c.VATLines {
		lines[i] = vatLineJSON{Rate: l.Rate, Base: l.Base, VAT: l.VAT}
	}
	b, err := json.Marshal(lines)
	if err != nil {
		return "", err
	}
	row := statementCreditRow{RefundID: c.RefundID, StatementID: st.ID, OrderID: c.OrderID, TotalExclVAT: c.TotalExclVAT,
		TotalVAT: c.TotalVAT, Total: c.Total, VATLines: string(b), CreatedAt: at}
	if err := g.Create(&row).Error; err != nil {
		return "", err
	}
	return st.ID, nil
}

// statementCredits reads the credit lines of statements, by statement id.
func statementCredits(ctx context.Context, g *gorm.DB, ids []string) (map[string][]invoicing.StatementCredit, error) {
	var rows []statementCreditRow
	if err := g.WithContext(ctx).Where("statement_id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read statement credits: %w", err)
	}
	out := map[string][]invoicing.StatementCredit{}
	for _, r := range rows {
		var lines []vatLineJSON
		if err := json.Unmarshal([]byte(r.VATLines), &lines); err != nil {
			return nil, fmt.Errorf("statement credit %s: %w", r.RefundID, err)
		}
		c := invoicing.StatementCredit{RefundID: r.RefundID, OrderID: r.OrderID, CreatedAt: r.CreatedAt.UTC(),
			TotalExclVAT: r.TotalExclVAT, TotalVAT: r.TotalVAT, Total: r.Total, VATLines: make([]invoicing.VATLine, len(lines))}
		for i, l := range lines {
			c.VATLines[i] = invoicing.VATLine{Rate: l.Rate, Base: l.Base, VAT: l.VAT}
		}
		out[r.StatementID] = append(out[r.StatementID], c)
	}
	return out, nil
}
