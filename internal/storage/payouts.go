package storage

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/vhupay/vhupay/internal/ledger"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/payouts"
	"github.com/vhupay/vhupay/internal/txn"
)

// payoutsUnit implements payouts.Tx.
type payoutsUnit struct{ *unit }

var _ payouts.Tx = payoutsUnit{}

// Payouts implements payouts.Store.
type Payouts struct {
	runner[payouts.Tx]
	db *gorm.DB
}

var _ payouts.Store = Payouts{}

// NewPayouts returns the payouts' store.
func NewPayouts(db *DB) Payouts {
	return Payouts{runner: runner[payouts.Tx]{db: db, bind: func(u *unit) payouts.Tx { return payoutsUnit{u} }}, db: db.gorm}
}

// PayoutUnits runs units of work of payouts.
func (db *DB) PayoutUnits() txn.Runner[payouts.Tx] {
	return runner[payouts.Tx]{db: db, bind: func(u *unit) payouts.Tx { return payoutsUnit{u} }}
}

type payoutRow struct {
	ID               string
	CenterID         string
	Amount           int64
	BankAccountID    string
	Status           string
	FailureCode      string
	Automatic        bool
	RunSlot          *string
	ProviderPayoutID string
	ArrivalDate      string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

func (payoutRow) TableName() string { return "payouts" }

func (r payoutRow) payout() payouts.Payout {
	p := payouts.Payout{ID: r.ID, CenterID: r.CenterID, Amount: r.Amount, BankAccountID: r.BankAccountID,
		Status: payouts.Status(r.Status), FailureCode: r.FailureCode, Automatic: r.Automatic, ProviderPayoutID: r.ProviderPayoutID,
		ArrivalDate: r.ArrivalDate, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.RunSlot != nil {
		p.RunSlot = *r.RunSlot
	}
	return p
}

type payoutAccountRow struct {
	ID          string
	CenterID    string
	ProviderID  string
	OwnerName   string
	Country     string
	Last4       string `gorm:"column:last4"`
	MaskedIBAN  string `gorm:"column:masked_iban"`
	Fingerprint string
	BIC         string `gorm:"column:bic"`
	Active      bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (payoutAccountRow) TableName() string { return "payout_accounts" }

func (r payoutAccountRow) account() payouts.Account {
	return payouts.Account{ID: r.ID, CenterID: r.CenterID, ProviderID: r.ProviderID, OwnerName: r.OwnerName, Country: r.Country,
		Last4: r.Last4, MaskedIBAN: r.MaskedIBAN, Fingerprint: r.Fingerprint, BIC: r.BIC, Active: r.Active,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

type payoutRunRow struct {
	Slot       string `gorm:"primaryKey"`
	Status     string
	Payouts    int
	CreatedAt  time.Time
	FinishedAt *time.Time
}

func (payoutRunRow) TableName() string { return "payout_runs" }

// CenterAvailable implements payouts.Tx: on PostgreSQL the centre's row is locked (FOR UPDATE)
// until the unit ends; SQLite's write transactions are serialised already.
func (u payoutsUnit) CenterAvailable(ctx context.Context, centerID string) (int64, error) {
	g := u.g.WithContext(ctx)
	var found []string
	q := g.Table("centers").Select("id").Where("id = ?", centerID)
	if isPostgres(u.g) {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	if err := q.Scan(&found).Error; err != nil {
		return 0, err
	}
	if len(found) == 0 {
		return 0, payouts.ErrNotFound
	}
	var available int64
	err := g.Raw(`SELECT COALESCE(SUM(amount), 0) FROM ledger_postings WHERE account = ?`,
		string(ledger.Center(centerID))).Scan(&available).Error
	return available, err
}

// ActivePayoutAccount implements payouts.Tx.
func (u payoutsUnit) ActivePayoutAccount(ctx context.Context, centerID string) (payouts.Account, error) {
	var rows []payoutAccountRow
	if err := u.g.WithContext(ctx).Where("center_id = ? AND active = ?", centerID, true).Limit(1).Find(&rows).Error; err != nil {
		return payouts.Account{}, err
	}
	if len(rows) == 0 {
		return payouts.Account{}, payouts.ErrNoPayoutAccount
	}
	return rows[0].account(), nil
}

// InsertPayout implements payouts.Tx: an automatic payout whose (centre, run) exists is not
// inserted.
func (u payoutsUnit) InsertPayout(ctx context.Context, p payouts.Payout) (bool, error) {
	res := u.g.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&payoutRow{ID: p.ID, CenterID: p.CenterID,
		Amount: p.Amount, BankAccountID: p.BankAccountID, Status: string(p.Status), FailureCode: p.FailureCode,
		Automatic: p.Automatic, RunSlot: nullable(p.RunSlot), ProviderPayoutID: p.ProviderPayoutID, ArrivalDate: p.ArrivalDate,
		CreatedAt: utc(p.CreatedAt), UpdatedAt: utc(p.UpdatedAt)})
	return res.RowsAffected == 1, res.Error
}

// LockPayout implements payouts.Tx.
func (u payoutsUnit) LockPayout(ctx context.Context, id string) (payouts.Payout, error) {
	var rows []payoutRow
	q := u.g.WithContext(ctx).Where("id = ?", id)
	if isPostgres(u.g) {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	if err := q.Limit(1).Find(&rows).Error; err != nil {
		return payouts.Payout{}, err
	}
	if len(rows) == 0 {
		return payouts.Payout{}, payouts.ErrNotFound
	}
	return rows[0].payout(), nil
}

// UpdatePayout implements payouts.Tx.
func (u payoutsUnit) UpdatePayout(ctx context.Context, p payouts.Payout, from payouts.Status) (bool, error) {
	return changed(u.g.WithContext(ctx).Model(&payoutRow{}).Where("id = ? AND status = ?", p.ID, string(from)).
		Updates(map[string]any{"status": string(p.Status), "failure_code": p.FailureCode, "provider_payout_id": p.ProviderPayoutID,
			"arrival_date": p.ArrivalDate, "updated_at": utc(p.UpdatedAt)}))
}

// AddPayoutAccount implements payouts.Tx.
func (u payoutsUnit) AddPayoutAccount(ctx context.Context, a payouts.Account, payoutsEnabled bool) (*payouts.Account, error) {
	g := u.g.WithContext(ctx)
	var prev []payoutAccountRow
	if err := g.Where("center_id = ? AND active = ?", a.CenterID, true).Find(&prev).Error; err != nil {
		return nil, err
	}
	if err := g.Model(&payoutAccountRow{}).Where("center_id = ? AND active = ?", a.CenterID, true).
		Updates(map[string]any{"active": false, "updated_at": utc(a.CreatedAt)}).Error; err != nil {
		return nil, err
	}
	if err := g.Create(&payoutAccountRow{ID: a.ID, CenterID: a.CenterID, ProviderID: a.ProviderID, OwnerName: a.OwnerName,
		Country: a.Country, Last4: a.Last4, MaskedIBAN: a.MaskedIBAN, Fingerprint: a.Fingerprint, BIC: a.BIC, Active: a.Active,
		CreatedAt: utc(a.CreatedAt), UpdatedAt: utc(a.UpdatedAt)}).Error; err != nil {
		return nil, err
	}
	if err := g.Model(&centerRow{}).Where("id = ?", a.CenterID).UpdateColumn("payouts_enabled", payoutsEnabled).Error; err != nil {
		return nil, err
	}
	if len(prev) == 0 {
		return nil, nil
	}
	p := prev[0].account()
	return &p, nil
}

// Payout implements payouts.Store.
func (s Payouts) Payout(ctx context.Context, id string) (payouts.Payout, error) {
	var row payoutRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		if isNotFound(err) {
			return payouts.Payout{}, payouts.ErrNotFound
		}
		return payouts.Payout{}, err
	}
	return row.payout(), nil
}

// Payouts implements payouts.Store: newest first (ids are time-ordered).
func (s Payouts) Payouts(ctx context.Context, f payouts.Filter, p page.Request) (page.Page[payouts.Payout], error) {
	q := s.db.WithContext(ctx).Model(&payoutRow{})
	if f.CenterID != "" {
		q = q.Where("center_id = ?", f.CenterID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	if p.After != "" {
		q = q.Where("id < ?", p.After)
	}
	var rows []payoutRow
	if err := q.Order("id DESC").Limit(p.Limit + 1).Find(&rows).Error; err != nil {
		return page.Page[payouts.Payout]{}, err
	}
	out := make([]payouts.Payout, len(rows))
	for i, r := range rows {
		out[i] = r.payout()
	}
	return page.Build(out, p.Limit, func(p payouts.Payout) string { return p.ID }), nil
}

// PayoutAccount implements payouts.Store.
func (s Payouts) PayoutAccount(ctx context.Context, id string) (payouts.Account, error) {
	var row payoutAccountRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		if isNotFound(err) {
			return payouts.Account{}, payouts.ErrNotFound
		}
		return payouts.Account{}, err
	}
	return row.account(), nil
}

// PayoutAccounts implements payouts.Store.
func (s Payouts) PayoutAccounts(ctx context.Context, centerID string, p page.Request) (page.Page[payouts.Account], error) {
	q := s.db.WithContext(ctx).Model(&payoutAccountRow{})
	if centerID != "" {
		q = q.Where("center_id = ?", centerID)
	}
	if p.After != "" {
		q = q.Where("id < ?", p.After)
	}
	var rows []payoutAccountRow
	if err := q.Order("id DESC").Limit(p.Limit + 1).Find(&rows).Error; err != nil {
		return page.Page[payouts.Account]{}, err
	}
	out := make([]payouts.Account, len(rows))
	for i, r := range rows {
		out[i] = r.account()
	}
	return page.Build(out, p.Limit, func(a payouts.Account) string { return a.ID }), nil
}

// PayoutAccountUses implements payouts.Store.
func (s Payouts) PayoutAccountUses(ctx context.Context, centerID, fingerprint string) (int, bool, error) {
	var rows []payoutAccountRow
	if err := s.db.WithContext(ctx).Where("center_id = ? AND fingerprint = ?", centerID, fingerprint).Find(&rows).Error; err != nil {
		return 0, false, err
	}
	active := false
	for _, r := range rows {
		active = active || r.Active
	}
	return len(rows), active, nil
}

// PendingPayouts implements payouts.Store.
func (s Payouts) PendingPayouts(ctx context.Context, limit int) ([]payouts.Payout, error) {
	var rows []payoutRow
	if err := s.db.WithContext(ctx).Where("status = ?", string(payouts.StatusPending)).Order("id").Limit(limit).
		Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]payouts.Payout, len(rows))
	for i, r := range rows {
		out[i] = r.payout()
	}
	return out, nil
}

// SetPayoutsEnabled implements payouts.Store.
func (s Payouts) SetPayoutsEnabled(ctx context.Context, userID string, enabled bool) error {
	return s.db.WithContext(ctx).Model(&centerRow{}).
		Where("id IN (SELECT center_id FROM payees WHERE user_id = ?)", userID).UpdateColumn("payouts_enabled", enabled).Error
}

// PayoutCandidates implements payouts.Store.
func (s Payouts) PayoutCandidates(ctx context.Context, minimum int64) ([]string, error) {
	var ids []string
	err := s.db.WithContext(ctx).Raw(`SELECT a.center_id FROM payout_accounts a
		JOIN centers c ON c.id = a.center_id
		JOIN ledger_postings p ON p.account = 'center:' || a.center_id
		WHERE a.active = ? AND c.payouts_enabled = ? GROUP BY a.center_id HAVING SUM(p.amount) >= ? ORDER BY a.center_id`,
		true, true, minimum).Scan(&ids).Error
	return ids, err
}

// ClaimRun implements payouts.Store.
func (s Payouts) ClaimRun(ctx context.Context, slot string, at time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		Create(&payoutRunRow{Slot: slot, Status: "running", CreatedAt: utc(at)})
	if res.Error != nil {
		return false, res.Error
	}
	if res.RowsAffected == 1 {
		return true, nil
	}
	var row payoutRunRow
	if err := s.db.WithContext(ctx).Where("slot = ?", slot).Take(&row).Error; err != nil {
		return false, err
	}
	return row.Status == "running", nil
}

// FinishRun implements payouts.Store.
func (s Payouts) FinishRun(ctx context.Context, slot string, n int, at time.Time) error {
	t := utc(at)
	return s.db.WithContext(ctx).Model(&payoutRunRow{}).Where("slot = ?", slot).
		Updates(map[string]any{"status": "finished", "payouts": n, "finished_at": &t}).Error
}
