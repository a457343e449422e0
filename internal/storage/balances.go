package storage

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/vhupay/vhupay/internal/balances"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/ledger"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/payments"
)

// Balances implements balances.Store: the ledger's reads and the centres' fee rates.
type Balances struct {
	runner[balances.Tx]
	db *gorm.DB
}

var _ balances.Store = Balances{}

// NewBalances returns the centres' money store.
func NewBalances(db *DB) Balances {
	return Balances{runner: runner[balances.Tx]{db: db, bind: func(u *unit) balances.Tx { return u }}, db: db.gorm}
}

// SetCenterFeeRate implements balances.Tx.
func (u *unit) SetCenterFeeRate(ctx context.Context, centerID string, bps int) error {
	res := u.g.WithContext(ctx).Model(&centerRow{}).Where("id = ?", centerID).UpdateColumn("fee_rate_bps", bps)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return parties.ErrNotFound
	}
	return nil
}

// LedgerAccounts implements balances.Store: accounts in name order (the cursor is the last name).
func (s Balances) LedgerAccounts(ctx context.Context, p page.Request) (page.Page[balances.AccountBalance], error) {
	type row struct {
		Account string
		Balance int64
	}
	var rows []row
	q := s.db.WithContext(ctx).Table("ledger_postings").Select("account, SUM(amount) AS balance").Group("account")
	if p.After != "" {
		q = q.Having("account > ?", p.After)
	}
	if err := q.Order("account").Limit(p.Limit + 1).Scan(&rows).Error; err != nil {
		return page.Page[balances.AccountBalance]{}, err
	}
	out := make([]balances.AccountBalance, len(rows))
	for i, r := range rows {
		out[i] = balances.AccountBalance{Account: ledger.Account(r.Account), Balance: r.Balance}
	}
	return page.Build(out, p.Limit, func(a balances.AccountBalance) string { return string(a.Account) }), nil
}

// TrialBalance implements balances.Store.
func (s Balances) TrialBalance(ctx context.Context) (balances.TrialBalance, error) {
	var r struct {
		Total    int64
		Accounts int
		Entries  int
	}
	err := s.db.WithContext(ctx).Raw(`SELECT COALESCE(SUM(amount), 0) AS total, COUNT(DISTINCT account) AS accounts,
		COUNT(*) AS entries FROM ledger_postings`).Scan(&r).Error
	return balances.TrialBalance{Total: r.Total, Accounts: r.Accounts, Entries: r.Entries}, err
}

// CenterBalance implements balances.Store: in transit is what the centre's pending payouts hold.
func (s Balances) CenterBalance(ctx context.Context, centerID string) (balances.Balance, error) {
	var available, inTransit int64
	err := s.db.WithContext(ctx).Raw(`SELECT COALESCE(SUM(amount), 0) FROM ledger_postings WHERE account = ?`,
		string(ledger.Center(centerID))).Scan(&available).Error
	if err != nil {
		return balances.Balance{}, err
	}
	err = s.db.WithContext(ctx).Raw(`SELECT COALESCE(SUM(amount), 0) FROM payouts WHERE center_id = ? AND status = 'pending'`,
		centerID).Scan(&inTransit).Error
	return balances.Balance{CenterID: centerID, Available: available, InTransit: inTransit}, err
}

// balanceTxPrefix turns a ledger transaction id into its balance transaction's id and back: a
// centre has at most one posting per ledger transaction.
func balanceTxID(ledgerTxID string) string {
	return id.BalanceTransaction + strings.TrimPrefix(ledgerTxID, id.LedgerTransaction)
}

func ledgerTxID(balanceTxID string) string {
	return id.LedgerTransaction + strings.TrimPrefix(balanceTxID, id.BalanceTransaction)
}

// feeAccount is ledger.PlatformFees, written as a literal in BalanceTransactions' statement (a
// constant of the code without quotes, never the caller's text).
const feeAccount = string(ledger.PlatformFees)

// BalanceTransactions implements balances.Store: the centre's postings, each with the fee posted
// in the same ledger transaction (gross = net + fee). One statement scanned without gorm. Its
// LIMIT and the fee account are written in it so that PostgreSQL keeps one generic plan for it:
// with them as parameters the generic plan was costed for a tenth of the centre's postings, or
// against the estimate for the one fee account, and PostgreSQL planned every call again
// (≈ 0.5 ms of its CPU per page).
func (s Balances) BalanceTransactions(ctx context.Context, f balances.Filter, p page.Request) (page.Page[balances.Transaction], error) {
	var q strings.Builder
	q.WriteString(`SELECT t.id, t.kind, t.source_id, t.created_at, p.amount,
	COALESCE((SELECT SUM(f.amount) FROM ledger_postings f WHERE f.transaction_id = t.id AND f.account = '` + feeAccount + `'), 0)
FROM ledger_postings p JOIN ledger_transactions t ON t.id = p.transaction_id
WHERE p.account = $1`)
	args := []any{string(ledger.Center(f.CenterID))}
	where := func(cond string, v any) {
		args = append(args, v)
		fmt.Fprintf(&q, " AND %s $%d", cond, len(args))
	}
	if f.Type != "" {
		where("t.kind =", string(f.Type))
	}
	if f.SourceID != "" {
		where("t.source_id =", f.SourceID)
	}
	if !f.From.IsZero() {
		where("t.created_at >=", utc(f.From))
	}
	if !f.To.IsZero() {
		where("t.created_at <", utc(f.To))
	}
	if p.After != "" {
		where("p.transaction_id <", ledgerTxID(p.After))
	}
	fmt.Fprintf(&q, " ORDER BY p.transaction_id DESC LIMIT %d", max(p.Limit, 0)+1)
	rows, err := conn(s.db).QueryContext(ctx, sqlFor(s.db, q.String()), args...)
	if err != nil {
		return page.Page[balances.Transaction]{}, fmt.Errorf("read balance transactions: %w", err)
	}
	defer rows.Close()
	out := make([]balances.Transaction, 0, p.Limit+1)
	for rows.Next() {
		var (
			ledgerID, kind, source string
			at                     time.Time
			net, fee               int64
		)
		if err := rows.Scan(&ledgerID, &kind, &source, &at, &net, &fee); err != nil {
			return page.Page[balances.Transaction]{}, fmt.Errorf("read balance transactions: %w", err)
		}
		out = append(out, balances.Transaction{ID: balanceTxID(ledgerID), CenterID: f.CenterID, Type: balances.Type(kind),
			Gross: net + fee, Fee: fee, Net: net, SourceID: source, CreatedAt: at.UTC()})
	}
	if err := rows.Err(); err != nil {
		return page.Page[balances.Transaction]{}, fmt.Errorf("read balance transactions: %w", err)
	}
	return page.Build(out, p.Limit, func(t balances.Transaction) string { return t.ID }), nil
}

// earningRow is a payment with the centre that earns it and the centre's fee rate now.
type earningRow struct {
	ID         string
	BuyerID    string
	CenterID   string
	Amount     int64
	FeeRateBPS int `gorm:"column:fee_rate_bps"`
}

func (r earningRow) earning() balances.Earning {
	return balances.Earning{IntentID: r.ID, BuyerID: r.BuyerID, CenterID: r.CenterID, Amount: r.Amount, FeeRateBPS: r.FeeRateBPS}
}

// earningsSQL: a SEPA payment earns what was collected of it: its amount less what was refunded
// of it before its collection (the refunds that lowered it); card payments are earned before any
// refund.
const earningsSQL = `SELECT pi.id, pi.buyer_id, o.center_id,
	pi.amount - COALESCE((SELECT SUM(r.amount) FROM refunds r WHERE r.payment_intent_id = pi.id AND r.stage = 'lowered'), 0) AS amount,
	c.fee_rate_bps
	FROM payment_intents pi JOIN orders o ON o.id = pi.order_id JOIN centers c ON c.id = o.center_id `

// postAll posts ts in u, in order.
func postAll(ctx context.Context, u *unit, ts []ledger.Transaction) error {
	for _, t := range ts {
		if err := u.Post(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// NewEarnings sets up the ledger hook of the payments capability: db's payment units then post a
// card payment's success (payments.Tx.EarnCard) in the payment's own unit of work.
func NewEarnings(db *DB) { db.earnings = true }

// EarnCard implements payments.Tx: the ledger transactions of a card payment's success, when
// NewEarnings set them up.
func (u paymentsUnit) EarnCard(ctx context.Context, pi payments.Intent) error {
	if !u.db.earnings {
		return nil
	}
	g := u.g
	var r earningRow
	if err := g.WithContext(ctx).Raw(`SELECT o.center_id, c.fee_rate_bps FROM orders o JOIN centers c ON c.id = o.center_id
		WHERE o.id = ?`, pi.OrderID).Scan(&r).Error; err != nil {
		return err
	}
	r.ID, r.BuyerID, r.Amount = pi.ID, pi.BuyerID, pi.Amount
	if r.CenterID == "" {
		return fmt.Errorf("earn card payment %s: order %s has no centre", pi.ID, pi.OrderID)
	}
	if err := postAll(ctx, u.unit, balances.CardEarned(r.earning(), pi.UpdatedAt)); err != nil {
		return err
	}
	return recordTransfers(ctx, g, []balances.Earning{r.earning()}, pi.UpdatedAt)
}

// collectionEarnings returns the scheduled intents of a collection as earnings (read in tx
// before they are settled).
func collectionEarnings(ctx context.Context, tx *gorm.DB, collectionID string) ([]balances.Earning, error) {
	var rows []earningRow
	if err := tx.WithContext(ctx).Raw(earningsSQL+`WHERE pi.id IN (SELECT l.intent_id FROM sepa_collection_intents l WHERE l.collection_id = ?)
		AND pi.status = 'scheduled' ORDER BY pi.id`,
		collectionID).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]balances.Earning, len(rows))
	for i, r := range rows {
		out[i] = r.earning()
	}
	return out, nil
}

// postCollectionSettled posts, in the settling transaction, what a collection's settlement earns
// its centres: succeeded — the debit into the buyer's funds and each payment to its centre;
// failed — each payment from the platform's guarantee; failed after it succeeded — the debit
// taken back, carried by the guarantee.
func postCollectionSettled(ctx context.Context, u *unit, c collectionRow, earned []balances.Earning, status, previous string, at time.Time) error {
	if c.Amount <= 0 { // nothing was debited: nothing moved
		if err := postAll(ctx, u, balances.SEPAGuaranteed(earned, at)); err != nil {
			return err
		}
		return recordGuaranteeFundings(ctx, u.g, earned, at)
	}
	switch {
	case status == "succeeded":
		if err := postAll(ctx, u, balances.SEPASucceeded(c.ID, c.BuyerID, c.Amount, earned, at)); err != nil {
			return err
		}
		return recordTransfers(ctx, u.g, earned, at)
	case previous == "succeeded":
		return postAll(ctx, u, balances.SEPAUnpaidAfterSuccess(c.ID, c.Amount, at))
	default:
		if err := postAll(ctx, u, balances.SEPAGuaranteed(earned, at)); err != nil {
			return err
		}
		return recordGuaranteeFundings(ctx, u.g, earned, at)
	}
}

type payeeRow struct {
	CenterID string `gorm:"primaryKey"`
	UserID   string
	WalletID string
}

func (payeeRow) TableName() string { return "payees" }

type centerTransferRow struct {
	ID                 string
	Kind               string
	SourceID           string
	BuyerID            string
	CenterID           string
	Amount             int64
	Fees               int64
	Status             string
	ProviderTransferID string
	ResultCode         string
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

func (centerTransferRow) TableName() string { return "center_transfers" }

// CenterTransfers implements balances.TransferStore.
type CenterTransfers struct{ db *gorm.DB }

var _ balances.TransferStore = CenterTransfers{}

// NewCenterTransfers returns the payees' and transfers' store.
func NewCenterTransfers(db *DB) CenterTransfers { return CenterTransfers{db: db.gorm} }

// Payee implements balances.TransferStore.
func (s CenterTransfers) Payee(ctx context.Context, centerID string) (balances.Payee, error) {
	var row payeeRow
	if err := s.db.WithContext(ctx).Where("center_id = ?", centerID).Take(&row).Error; err != nil {
		if isNotFound(err) {
			return balances.Payee{}, balances.ErrNoPayee
		}
		return balances.Payee{}, err
	}
	return balances.Payee{CenterID: row.CenterID, UserID: row.UserID, WalletID: row.WalletID}, nil
}

// SavePayee implements balances.TransferStore: the first writer wins.
func (s CenterTransfers) SavePayee(ctx context.Context, p balances.Payee) (balances.Payee, error) {
	row := payeeRow{CenterID: p.CenterID, UserID: p.UserID, WalletID: p.WalletID}
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return balances.Payee{}, err
	}
	return s.Payee(ctx, p.CenterID)
}

// PendingTransfers implements balances.TransferStore.
func (s CenterTransfers) PendingTransfers(ctx context.Context, limit int) ([]balances.Transfer, error) {
	var rows []centerTransferRow
	if err := s.db.WithContext(ctx).Where("status = ?", string(balances.TransferPending)).Order("id").Limit(limit).
		Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]balances.Transfer, len(rows))
	for i, r := range rows {
		out[i] = balances.Transfer{ID: r.ID, Kind: r.Kind, SourceID: r.SourceID, BuyerID: r.BuyerID, CenterID: r.CenterID,
			Amount: r.Amount, Fees: r.Fees, Status: balances.TransferStatus(r.Status), ProviderTransferID: r.ProviderTransferID,
			ResultCode: r.ResultCode, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	}
	return out, nil
}

// FinishTransfer implements balances.TransferStore.
func (s CenterTransfers) FinishTransfer(ctx context.Context, t balances.Transfer) (bool, error) {
	return changed(s.db.WithContext(ctx).Model(&centerTransferRow{}).Where("id = ? AND status = ?", t.ID, string(balances.TransferPending)).
		Updates(map[string]any{"status": string(t.Status), "provider_transfer_id": t.ProviderTransferID,
			"result_code": t.ResultCode, "updated_at": utc(t.UpdatedAt)}))
}

// recordTransfers inserts, in the earning's transaction, the transfers that move its payments at
// the provider.
func recordTransfers(ctx context.Context, g *gorm.DB, earned []balances.Earning, at time.Time) error {
	return insertTransfers(ctx, g, earned, at, balances.TransferFor)
}

// recordGuaranteeFundings inserts, in the settling transaction, the fundings of the payments the
// guarantee paid.
func recordGuaranteeFundings(ctx context.Context, g *gorm.DB, earned []balances.Earning, at time.Time) error {
	return insertTransfers(ctx, g, earned, at, balances.GuaranteeTransferFor)
}

func insertTransfers(ctx context.Context, g *gorm.DB, earned []balances.Earning, at time.Time, of func(balances.Earning, time.Time) balances.Transfer) error {
	for _, e := range earned {
		t := of(e, at)
		if err := g.WithContext(ctx).Create(&centerTransferRow{ID: t.ID, Kind: t.Kind, SourceID: t.SourceID, BuyerID: t.BuyerID,
			CenterID: t.CenterID, Amount: t.Amount, Fees: t.Fees, Status: string(t.Status), CreatedAt: utc(at), UpdatedAt: utc(at)}).Error; err != nil {
			return err
		}
	}
	return nil
}
