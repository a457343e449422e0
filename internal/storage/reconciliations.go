package storage

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/vhupay/vhupay/internal/balances"
	"github.com/vhupay/vhupay/internal/ledger"
	"github.com/vhupay/vhupay/internal/page"
)

type reconciliationRow struct {
	ID              string
	Status          string
	CheckedAccounts int
	Mismatches      string
	CreatedAt       time.Time
	FinishedAt      *time.Time
	ScheduledDay    *string
}

func (reconciliationRow) TableName() string { return "reconciliations" }

type mismatchJSON struct {
	Account         string `json:"account"`
	LedgerBalance   int64  `json:"ledger_balance"`
	ProviderBalance int64  `json:"provider_balance"`
	Difference      int64  `json:"difference"`
}

// Reconciliations implements balances.ReconcileStore.
type Reconciliations struct {
	runner[balances.ReconcileTx]
	db *gorm.DB
}

var _ balances.ReconcileStore = Reconciliations{}

// NewReconciliations returns the reconciliations' store.
func NewReconciliations(db *DB) Reconciliations {
	return Reconciliations{runner: runner[balances.ReconcileTx]{db: db, bind: func(u *unit) balances.ReconcileTx { return u }}, db: db.gorm}
}

func mismatchesJSON(ms []balances.Mismatch) (string, error) {
	out := make([]mismatchJSON, len(ms))
	for i, m := range ms {
		out[i] = mismatchJSON{Account: string(m.Account), LedgerBalance: m.LedgerBalance, ProviderBalance: m.ProviderBalance, Difference: m.Difference}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// InsertReconciliation implements balances.ReconcileStore: a daily run's day is unique.
func (s Reconciliations) InsertReconciliation(ctx context.Context, r balances.Reconciliation) (bool, error) {
	ms, err := mismatchesJSON(r.Mismatches)
	if err != nil {
		return false, err
	}
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&reconciliationRow{ID: r.ID, Status: string(r.Status),
		CheckedAccounts: r.CheckedAccounts, Mismatches: ms, CreatedAt: utc(r.CreatedAt), ScheduledDay: nullable(r.ScheduledDay)})
	return res.RowsAffected == 1, res.Error
}

// DiscardReconciliation implements balances.ReconcileStore.
func (s Reconciliations) DiscardReconciliation(ctx context.Context, id string) error {
	return s.db.WithContext(ctx).Where("id = ? AND status = ?", id, string(balances.ReconciliationRunning)).
		Delete(&reconciliationRow{}).Error
}

// DiscardStaleDaily implements balances.ReconcileStore.
func (s Reconciliations) DiscardStaleDaily(ctx context.Context, day string, startedBefore time.Time) (bool, error) {
	return changed(s.db.WithContext(ctx).Where("scheduled_day = ? AND status = ? AND created_at < ?", day,
		string(balances.ReconciliationRunning), utc(startedBefore)).Delete(&reconciliationRow{}))
}

// FinishReconciliation implements balances.ReconcileTx.
func (u *unit) FinishReconciliation(ctx context.Context, r balances.Reconciliation) error {
	ms, err := mismatchesJSON(r.Mismatches)
	if err != nil {
		return err
	}
	return u.g.WithContext(ctx).Model(&reconciliationRow{}).Where("id = ?", r.ID).Updates(map[string]any{
		"status": string(r.Status), "checked_accounts": r.CheckedAccounts, "mismatches": ms, "finished_at": utc(r.FinishedAt)}).Error
}

func toReconciliation(r reconciliationRow) (balances.Reconciliation, error) {
	var ms []mismatchJSON
	if err := json.Unmarshal([]byte(r.Mismatches), &ms); err != nil {
		return balances.Reconciliation{}, err
	}
	out := balances.Reconciliation{ID: r.ID, Status: balances.ReconciliationStatus(r.Status), CheckedAccounts: r.CheckedAccounts,
		Mismatches: make([]balances.Mismatch, len(ms)), CreatedAt: r.CreatedAt.UTC()}
	for i, m := range ms {
		out.Mismatches[i] = balances.Mismatch{Account: ledger.Account(m.Account), LedgerBalance: m.LedgerBalance,
			ProviderBalance: m.ProviderBalance, Difference: m.Difference}
	}
	if r.FinishedAt != nil {
		out.FinishedAt = r.FinishedAt.UTC()
	}
	if r.ScheduledDay != nil {
		out.ScheduledDay = *r.ScheduledDay
	}
	return out, nil
}

// Reconciliation implements balances.ReconcileStore.
func (s Reconciliations) Reconciliation(ctx context.Context, id string) (balances.Reconciliation, error) {
	var row reconciliationRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		if isNotFound(err) {
			return balances.Reconciliation{}, balances.ErrReconciliationNotFound
		}
		return balances.Reconciliation{}, err
	}
	return toReconciliation(row)
}

// Reconciliations implements balances.ReconcileStore.
func (s Reconciliations) Reconciliations(ctx context.Context, p page.Request) (page.Page[balances.Reconciliation], error) {
	var rows []reconciliationRow
	if err := keyset(s.db.WithContext(ctx).Model(&reconciliationRow{}), p, "id").Find(&rows).Error; err != nil {
		return page.Page[balances.Reconciliation]{}, err
	}
	out := make([]balances.Reconciliation, len(rows))
	for i, r := range rows {
		var err error
		if out[i], err = toReconciliation(r); err != nil {
			return page.Page[balances.Reconciliation]{}, err
		}
	}
	return page.Build(out, p.Limit, func(r balances.Reconciliation) string { return r.ID }), nil
}

// ProviderWallets implements balances.ReconcileStore. The buyers' accounts ("buyer:…") sort
// before the centres' ("center:…"), so a page is the payers after the cursor, then the payees:
// each read in its key's order, by its primary key (a page once read all payers and sorted
// them by their account name: a daily reconciliation grew with the square of the buyers).
func (s Reconciliations) ProviderWallets(ctx context.Context, after string, limit int) ([]balances.WalletRef, error) {
	type walletRow struct {
		Account  string
		WalletID string
		Owner    bool
	}
	var rows []walletRow
	const buyer, center = "buyer:", "center:"
	if after < center {
		buyerAfter := ""
		if after > buyer {
			buyerAfter = strings.TrimPrefix(after, buyer)
		}
		err := s.db.WithContext(ctx).Raw(`SELECT ? || buyer_id AS account, wallet_id, false AS owner FROM payers
			WHERE buyer_id > ? ORDER BY buyer_id LIMIT ?`, buyer, buyerAfter, limit).Scan(&rows).Error
		if err != nil {
			return nil, err
		}
	}
	if len(rows) < limit {
		centerAfter := ""
		if after > center {
			centerAfter = strings.TrimPrefix(after, center)
		}
		var more []walletRow
		err := s.db.WithContext(ctx).Raw(`SELECT ? || center_id AS account, wallet_id, true AS owner FROM payees
			WHERE center_id > ? ORDER BY center_id LIMIT ?`, center, centerAfter, limit-len(rows)).Scan(&more).Error
		if err != nil {
			return nil, err
		}
		rows = append(rows, more...)
	}
	out := make([]balances.WalletRef, len(rows))
	for i, r := range rows {
		out[i] = balances.WalletRef{Account: ledger.Account(r.Account), WalletID: r.WalletID, Owner: r.Owner}
	}
	return out, nil
}

// LedgerBalances implements balances.ReconcileStore.
func (s Reconciliations) LedgerBalances(ctx context.Context) (map[ledger.Account]int64, error) {
	var rows []struct {
		Account string
		Balance int64
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT account, SUM(amount) AS balance FROM ledger_postings GROUP BY account`).
		Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[ledger.Account]int64, len(rows))
	for _, r := range rows {
		out[ledger.Account(r.Account)] = r.Balance
	}
	return out, nil
}

// InFlight implements balances.ReconcileStore.
func (s Reconciliations) InFlight(ctx context.Context) (map[ledger.Account]int64, error) {
	var rows []centerTransferRow
	if err := s.db.WithContext(ctx).Where("status = ?", string(balances.TransferPending)).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := map[ledger.Account]int64{}
	for _, t := range rows {
		if t.BuyerID != "" { // a guarantee's funding comes from the platform's bank
			out[ledger.Buyer(t.BuyerID)] += t.Amount
		}
		out[ledger.Center(t.CenterID)] -= t.Amount - t.Fees
		out[ledger.PlatformFees] -= t.Fees
	}
	// A payout recorded (the centre's balance debited) and not made at the provider yet: the
	// centre's wallet still holds it.
	var pending []payoutRow
	if err := s.db.WithContext(ctx).Where("status = ? AND provider_payout_id = ''", "pending").Find(&pending).Error; err != nil {
		return nil, err
	}
	for _, p := range pending {
		out[ledger.Center(p.CenterID)] += p.Amount
	}
	return out, nil
}

// WalletOf returns the provider wallet of a buyer's or centre's account (false when it has none).
func (s Reconciliations) WalletOf(ctx context.Context, account ledger.Account) (string, bool, error) {
	var q string
	var key string
	switch a := string(account); {
	case strings.HasPrefix(a, "buyer:"):
		q, key = `SELECT wallet_id FROM payers WHERE buyer_id = ?`, strings.TrimPrefix(a, "buyer:")
	case strings.HasPrefix(a, "center:"):
		q, key = `SELECT wallet_id FROM payees WHERE center_id = ?`, strings.TrimPrefix(a, "center:")
	default:
		return "", false, nil
	}
	var walletID string
	err := s.db.WithContext(ctx).Raw(q, key).Scan(&walletID).Error
	return walletID, walletID != "", err
}
