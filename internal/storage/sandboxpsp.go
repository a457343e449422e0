package storage

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/sandbox"
)

// SandboxPSP implements sandbox.Store on the sandbox_* tables.
type SandboxPSP struct{ db *gorm.DB }

var _ sandbox.Store = SandboxPSP{}

// NewSandboxPSP returns the sandbox payment provider's store.
func NewSandboxPSP(db *DB) SandboxPSP { return SandboxPSP{db: db.gorm} }

type sandboxKeyRow struct {
	Kind       string `gorm:"primaryKey"`
	Key        string `gorm:"primaryKey"`
	ResourceID string
	CreatedAt  time.Time
}

func (sandboxKeyRow) TableName() string { return "sandbox_idempotency" }

type sandboxUserRow struct {
	ID             string
	Name           string
	Email          string
	CompanyNumber  string
	Kind           string
	Tag            string
	Category       string
	PayoutsEnabled bool
	CreatedAt      time.Time
}

func (sandboxUserRow) TableName() string { return "sandbox_users" }

type sandboxTransferRow struct {
	ID               string
	Status           string
	AuthorID         string
	DebitedWalletID  string
	CreditedWalletID string
	Amount           int64
	Fees             int64
	ResultCode       string
	ResultMessage    string
	Tag              string
	CreatedAt        time.Time
	ExecutedAt       *time.Time
}

func (sandboxTransferRow) TableName() string { return "sandbox_transfers" }

type sandboxPayoutRow struct {
	ID              string
	Status          string
	AuthorID        string
	DebitedWalletID string
	BankAccountID   string
	Amount          int64
	ResultCode      string
	ResultMessage   string
	Tag             string
	CreatedAt       time.Time
	ExecutedAt      *time.Time
}

func (sandboxPayoutRow) TableName() string { return "sandbox_payouts" }

func (r sandboxPayoutRow) payout() sandbox.Payout {
	p := sandbox.Payout{ID: r.ID, Status: psp.PayoutStatus(r.Status), AuthorID: r.AuthorID, DebitedWalletID: r.DebitedWalletID,
		BankAccountID: r.BankAccountID, Amount: r.Amount, ResultCode: r.ResultCode, ResultMessage: r.ResultMessage, Tag: r.Tag,
		CreatedAt: r.CreatedAt.UTC()}
	if r.ExecutedAt != nil {
		p.ExecutedAt = r.ExecutedAt.UTC()
	}
	return p
}

// CreatePayout implements sandbox.Store.
func (s SandboxPSP) CreatePayout(ctx context.Context, p sandbox.Payout) error {
	var executed *time.Time
	if !p.ExecutedAt.IsZero() {
		at := utc(p.ExecutedAt)
		executed = &at
	}
	return s.db.WithContext(ctx).Create(&sandboxPayoutRow{ID: p.ID, Status: string(p.Status), AuthorID: p.AuthorID,
		DebitedWalletID: p.DebitedWalletID, BankAccountID: p.BankAccountID, Amount: p.Amount, ResultCode: p.ResultCode,
		ResultMessage: p.ResultMessage, Tag: p.Tag, CreatedAt: utc(p.CreatedAt), ExecutedAt: executed}).Error
}

// Payout implements sandbox.Store.
func (s SandboxPSP) Payout(ctx context.Context, id string) (sandbox.Payout, error) {
	var r sandboxPayoutRow
	if err := s.take(ctx, &r, id); err != nil {
		return sandbox.Payout{}, err
	}
	return r.payout(), nil
}

// PendingPayouts implements sandbox.Store.
func (s SandboxPSP) PendingPayouts(ctx context.Context, createdBefore time.Time) ([]sandbox.Payout, error) {
	var rows []sandboxPayoutRow
	if err := s.db.WithContext(ctx).Where("status = ? AND created_at <= ?", string(psp.PayoutCreated), utc(createdBefore)).
		Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]sandbox.Payout, len(rows))
	for i, r := range rows {
		out[i] = r.payout()
	}
	return out, nil
}

// FinishPayout implements sandbox.Store.
func (s SandboxPSP) FinishPayout(ctx context.Context, id string, status psp.PayoutStatus, resultCode, resultMessage string, at time.Time) (bool, error) {
	updates := map[string]any{"status": string(status), "result_code": resultCode, "result_message": resultMessage}
	if status == psp.PayoutSucceeded {
		updates["executed_at"] = utc(at)
	}
	return changed(s.db.WithContext(ctx).Model(&sandboxPayoutRow{}).
		Where("id = ? AND status = ?", id, string(psp.PayoutCreated)).Updates(updates))
}

type sandboxWalletRow struct {
	ID          string
	OwnerID     string
	Description string
	Tag         string
	Balance     int64
	CreatedAt   time.Time
}

func (sandboxWalletRow) TableName() string { return "sandbox_wallets" }

type sandboxCardRegistrationRow struct {
	ID                  string
	UserID              string
	Status              string
	AccessKey           string
	PreregistrationData string
	CardID              string
	ResultCode          string
	Tag                 string
	TokenHash           string
	TokenAlias          string
	TokenExpiration     string
	TokenBrand          string
	TokenClass          string
	TokenFingerprint    string
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

func (sandboxCardRegistrationRow) TableName() string { return "sandbox_card_registrations" }

type sandboxCardRow struct {
	ID             string
	UserID         string
	RegistrationID string
	Alias          string
	ExpirationDate string
	Brand          string
	CardType       string
	Country        string
	Class          string
	Disputed       bool // the dispute test card: stored as class frictionless (migration 00770)
	Fingerprint    string
	Active         bool
	Validity       string
	CreatedAt      time.Time
}

func (sandboxCardRow) TableName() string { return "sandbox_cards" }

type sandboxPayInRow struct {
	ID                  string
	Method              string
	Status              string
	AuthorID            string
	CreditedWalletID    string
	CardID              *string
	MandateID           *string
	Amount              int64
	Refunded            int64
	SecureModeNeeded    bool
	ReturnURL           string `gorm:"column:return_url"`
	WrongCodes          int
	ResultCode          string
	ResultMessage       string
	StatementDescriptor string
	Tag                 string
	CreatedAt           time.Time
	UpdatedAt           time.Time
	ExecutedAt          *time.Time
	ChargeDate          *time.Time
}

func (sandboxPayInRow) TableName() string { return "sandbox_payins" }

type sandboxRefundRow struct {
	ID            string
	PayInID       string `gorm:"column:payin_id"`
	AuthorID      string
	Status        string
	Amount        int64
	ResultCode    string
	ResultMessage string
	Tag           string
	CreatedAt     time.Time
}

func (sandboxRefundRow) TableName() string { return "sandbox_refunds" }

type sandboxTransferRefundRow struct {
	ID            string
	TransferID    string
	AuthorID      string
	Status        string
	Amount        int64
	Fees          int64
	ResultCode    string
	ResultMessage string
	Tag           string
	CreatedAt     time.Time
}

func (sandboxTransferRefundRow) TableName() string { return "sandbox_transfer_refunds" }

// AddTransferRefunded implements sandbox.Store.
func (s SandboxPSP) AddTransferRefunded(ctx context.Context, transferID string, amount, fees int64) (bool, error) {
	return changed(s.db.WithContext(ctx).Model(&sandboxTransferRow{}).
		Where("id = ? AND refunded + ? <= amount AND refunded_fees + ? <= fees", transferID, amount, fees).
		Updates(map[string]any{"refunded": gorm.Expr("refunded + ?", amount), "refunded_fees": gorm.Expr("refunded_fees + ?", fees)}))
}

type sandboxBankAccountRow struct {
	ID         string
	UserID     string
	OwnerName  string
	MaskedIBAN string `gorm:"column:masked_iban"`
	Country    string
	Last4      string `gorm:"column:last4"`
	BIC        string `gorm:"column:bic"`
	Outcome    string
	FailsOnce  bool
	Active     bool
	Tag        string
	CreatedAt  time.Time
}

func (sandboxBankAccountRow) TableName() string { return "sandbox_bank_accounts" }

type sandboxMandateRow struct {
	ID            string
	UserID        string
	BankAccountID string
	Status        string
	ReturnURL     string `gorm:"column:return_url"`
	Culture       string
	BankReference string
	Scheme        string
	ResultCode    string
	Tag           string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (sandboxMandateRow) TableName() string { return "sandbox_mandates" }

// InTx implements sandbox.Store. Under sandbox.WithRelaxedCommit, on PostgreSQL, the
// transaction commits without waiting for its WAL to reach the disk (synchronous_commit off):
// the month close's direct debits, whose commits bound its submissions (one per collection).
// vhupay records each pay-in in a later transaction that commits synchronously, and a
// synchronous commit flushes the WAL up to its own record — with the sandbox's earlier commit —
// so a crash can only lose a pay-in vhupay has not recorded, as if the call had never reached
// the provider; it is made again with the same idempotency key.
func (s SandboxPSP) InTx(ctx context.Context, fn func(tx sandbox.Store) error) error {
	return inTx(ctx, s.db, func(tx *gorm.DB) error {
		if sandbox.RelaxedCommit(ctx) && isPostgres(tx) {
			if err := tx.Exec("SET LOCAL synchronous_commit TO OFF").Error; err != nil {
				return err
			}
		}
		return fn(SandboxPSP{db: tx})
	})
}

// take reads one row by id into dst; a missing row is psp.ErrNotFound.
func (s SandboxPSP) take(ctx context.Context, dst any, id string) error {
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(dst).Error; err != nil {
		if isNotFound(err) {
			return psp.ErrNotFound
		}
		return err
	}
	return nil
}

// changed turns a conditional update's result into (whether it changed a row, error).
func changed(res *gorm.DB) (bool, error) {
	if res.Error != nil {
		return false, res.Error
	}
	return res.RowsAffected == 1, nil
}

// ClaimKey implements sandbox.Store with an insert that does nothing on conflict.
func (s SandboxPSP) ClaimKey(ctx context.Context, kind, key, resourceID string, at time.Time) (string, bool, error) {
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		Create(&sandboxKeyRow{Kind: kind, Key: key, ResourceID: resourceID, CreatedAt: utc(at)})
	if res.Error != nil {
		return "", false, res.Error
	}
	if res.RowsAffected == 1 {
		return resourceID, true, nil
	}
	var row sandboxKeyRow
	if err := s.db.WithContext(ctx).Where("kind = ? AND key = ?", kind, key).Take(&row).Error; err != nil {
		return "", false, err
	}
	return row.ResourceID, false, nil
}

// KeyResource implements sandbox.Store.
func (s SandboxPSP) KeyResource(ctx context.Context, kind, key string) (string, bool, error) {
	var rows []sandboxKeyRow
	if err := s.db.WithContext(ctx).Where("kind = ? AND key = ?", kind, key).Limit(1).Find(&rows).Error; err != nil || len(rows) == 0 {
		return "", false, err
	}
	return rows[0].ResourceID, true, nil
}

// SucceededPayIns implements sandbox.Store.
func (s SandboxPSP) SucceededPayIns(ctx context.Context, since, until time.Time) ([]string, error) {
	var ids []string
	err := s.db.WithContext(ctx).Model(&sandboxPayInRow{}).Where("status = ? AND executed_at >= ? AND executed_at < ?",
		string(psp.PayInSucceeded), utc(since), utc(until)).Order("executed_at, id").Pluck("id", &ids).Error
	return ids, err
}

// ReclaimRefusedKey implements sandbox.Store.
func (s SandboxPSP) ReclaimRefusedKey(ctx context.Context, kind, key, resourceID string, at, refusedBefore time.Time) (bool, error) {
	return changed(s.db.WithContext(ctx).Model(&sandboxKeyRow{}).
		Where("kind = ? AND key = ? AND resource_id = '' AND created_at < ?", kind, key, utc(refusedBefore)).
		Updates(map[string]any{"resource_id": resourceID, "created_at": utc(at)}))
}

// CreateUser implements sandbox.Store.
func (s SandboxPSP) CreateUser(ctx context.Context, u sandbox.User) error {
	category := u.Category
	if category == "" {
		category = psp.CategoryPayer
	}
	return s.db.WithContext(ctx).Create(&sandboxUserRow{ID: u.ID, Name: u.Name, Email: u.Email,
		CompanyNumber: u.CompanyNumber, Kind: string(u.Kind), Tag: u.Tag, Category: string(category),
		PayoutsEnabled: u.PayoutsEnabled, CreatedAt: utc(u.CreatedAt)}).Error
}

// SetPayoutsEnabled implements sandbox.Store.
func (s SandboxPSP) SetPayoutsEnabled(ctx context.Context, userID string, enabled bool) error {
	ok, err := changed(s.db.WithContext(ctx).Model(&sandboxUserRow{}).Where("id = ?", userID).Update("payouts_enabled", enabled))
	if err == nil && !ok {
		return psp.ErrNotFound
	}
	return err
}

// DebitWallet implements sandbox.Store.
func (s SandboxPSP) DebitWallet(ctx context.Context, id string, amount int64) (bool, error) {
	return changed(s.db.WithContext(ctx).Model(&sandboxWalletRow{}).Where("id = ? AND balance >= ?", id, amount).
		Update("balance", gorm.Expr("balance - ?", amount)))
}

// CreateTransfer implements sandbox.Store.
func (s SandboxPSP) CreateTransfer(ctx context.Context, t sandbox.Transfer) error {
	var executed *time.Time
	if !t.ExecutedAt.IsZero() {
		at := utc(t.ExecutedAt)
		executed = &at
	}
	return s.db.WithContext(ctx).Create(&sandboxTransferRow{ID: t.ID, Status: string(t.Status), AuthorID: t.AuthorID,
		DebitedWalletID: t.DebitedWalletID, CreditedWalletID: t.CreditedWalletID, Amount: t.Amount, Fees: t.Fees,
		ResultCode: t.ResultCode, ResultMessage: t.ResultMessage, Tag: t.Tag, CreatedAt: utc(t.CreatedAt), ExecutedAt: executed}).Error
}

// Transfer implements sandbox.Store.
func (s SandboxPSP) Transfer(ctx context.Context, id string) (sandbox.Transfer, error) {
	var r sandboxTransferRow
	if err := s.take(ctx, &r, id); err != nil {
		return sandbox.Transfer{}, err
	}
	t := sandbox.Transfer{ID: r.ID, Status: psp.TransferStatus(r.Status), AuthorID: r.AuthorID, DebitedWalletID: r.DebitedWalletID,
		CreditedWalletID: r.CreditedWalletID, Amount: r.Amount, Fees: r.Fees, ResultCode: r.ResultCode,
		ResultMessage: r.ResultMessage, Tag: r.Tag, CreatedAt: r.CreatedAt.UTC()}
	if r.ExecutedAt != nil {
		t.ExecutedAt = r.ExecutedAt.UTC()
	}
	return t, nil
}

// User implements sandbox.Store.
func (s SandboxPSP) User(ctx context.Context, id string) (sandbox.User, error) {
	var r sandboxUserRow
	if err := s.take(ctx, &r, id); err != nil {
		return sandbox.User{}, err
	}
	return sandbox.User{ID: r.ID, Name: r.Name, Email: r.Email, CompanyNumber: r.CompanyNumber,
		Kind: psp.CompanyKind(r.Kind), Tag: r.Tag, Category: psp.UserCategory(r.Category), PayoutsEnabled: r.PayoutsEnabled,
		CreatedAt: r.CreatedAt.UTC()}, nil
}

// CreateWallet implements sandbox.Store.
func (s SandboxPSP) CreateWallet(ctx context.Context, w sandbox.Wallet) error {
	return s.db.WithContext(ctx).Create(&sandboxWalletRow{ID: w.ID, OwnerID: w.OwnerID, Description: w.Description,
		Tag: w.Tag, Balance: w.Balance, CreatedAt: utc(w.CreatedAt)}).Error
}

// Wallet implements sandbox.Store.
func (s SandboxPSP) Wallet(ctx context.Context, id string) (sandbox.Wallet, error) {
	var r sandboxWalletRow
	if err := s.take(ctx, &r, id); err != nil {
		return sandbox.Wallet{}, err
	}
	return sandbox.Wallet{ID: r.ID, OwnerID: r.OwnerID, Description: r.Description, Tag: r.Tag, Balance: r.Balance,
		CreatedAt: r.CreatedAt.UTC()}, nil
}

// CreditWallet implements sandbox.Store.
func (s SandboxPSP) CreditWallet(ctx context.Context, id string, delta int64) error {
	ok, err := changed(s.db.WithContext(ctx).Model(&sandboxWalletRow{}).Where("id = ?", id).
		Update("balance", gorm.Expr("balance + ?", delta)))
	if err == nil && !ok {
		return psp.ErrNotFound
	}
	return err
}

// CreateCardRegistration implements sandbox.Store.
func (s SandboxPSP) CreateCardRegistration(ctx context.Context, r sandbox.CardRegistration) error {
	return s.db.WithContext(ctx).Create(&sandboxCardRegistrationRow{ID: r.ID, UserID: r.UserID, Status: string(r.Status),
		AccessKey: r.AccessKey, PreregistrationData: r.PreregistrationData, CardID: r.CardID, ResultCode: r.ResultCode,
		Tag: r.Tag, CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.CreatedAt)}).Error
}

// CardRegistration implements sandbox.Store.
func (s SandboxPSP) CardRegistration(ctx context.Context, id string) (sandbox.CardRegistration, error) {
	var r sandboxCardRegistrationRow
	if err := s.take(ctx, &r, id); err != nil {
		return sandbox.CardRegistration{}, err
	}
	return sandbox.CardRegistration{ID: r.ID, UserID: r.UserID, Status: psp.CardRegistrationStatus(r.Status),
		AccessKey: r.AccessKey, PreregistrationData: r.PreregistrationData, CardID: r.CardID, ResultCode: r.ResultCode,
		Tag: r.Tag, CreatedAt: r.CreatedAt.UTC(),
		Token: sandbox.TokenisedCard{TokenHash: r.TokenHash, Alias: r.TokenAlias, ExpirationDate: r.TokenExpiration,
			Brand: r.TokenBrand, Class: sandbox.CardClass(r.TokenClass), Fingerprint: r.TokenFingerprint}}, nil
}

// TokeniseCard implements sandbox.Store.
func (s SandboxPSP) TokeniseCard(ctx context.Context, registrationID string, t sandbox.TokenisedCard, at time.Time) (bool, error) {
	return changed(s.db.WithContext(ctx).Model(&sandboxCardRegistrationRow{}).
		Where("id = ? AND status = ?", registrationID, string(psp.CardRegistrationCreated)).
		Updates(map[string]any{"token_hash": t.TokenHash, "token_alias": t.Alias, "token_expiration": t.ExpirationDate,
			"token_brand": t.Brand, "token_class": string(t.Class), "token_fingerprint": t.Fingerprint, "updated_at": utc(at)}))
}

// CompleteCardRegistration implements sandbox.Store.
func (s SandboxPSP) CompleteCardRegistration(ctx context.Context, id string, status psp.CardRegistrationStatus, cardID, resultCode string, at time.Time) (bool, error) {
	return changed(s.db.WithContext(ctx).Model(&sandboxCardRegistrationRow{}).
		Where("id = ? AND status = ?", id, string(psp.CardRegistrationCreated)).
		Updates(map[string]any{"status": string(status), "card_id": cardID, "result_code": resultCode,
			"token_hash": "", "token_alias": "", "token_expiration": "", "token_brand": "", "token_class": "",
			"token_fingerprint": "", "updated_at": utc(at)}))
}

// CreateCard implements sandbox.Store.
func (s SandboxPSP) CreateCard(ctx context.Context, c sandbox.Card) error {
	disputed := c.Class == sandbox.CardDispute
	if disputed {
		c.Class = sandbox.CardFrictionless // the column's classes; disputed keeps the difference
	}
	return s.db.WithContext(ctx).Create(&sandboxCardRow{ID: c.ID, UserID: c.UserID, RegistrationID: c.RegistrationID,
		Alias: c.Alias, ExpirationDate: c.ExpirationDate, Brand: c.Brand, CardType: c.CardType, Country: c.Country,
		Class: string(c.Class), Fingerprint: c.Fingerprint, Active: c.Active, Validity: string(c.Validity),
		CreatedAt: utc(c.CreatedAt), Disputed: disputed}).Error
}

// Card implements sandbox.Store.
func (s SandboxPSP) Card(ctx context.Context, id string) (sandbox.Card, error) {
	var r sandboxCardRow
	if err := s.take(ctx, &r, id); err != nil {
		return sandbox.Card{}, err
	}
	return sandbox.Card{ID: r.ID, UserID: r.UserID, RegistrationID: r.RegistrationID, Alias: r.Alias,
		ExpirationDate: r.ExpirationDate, Brand: r.Brand, CardType: r.CardType, Country: r.Country,
		Class: cardClass(r), Fingerprint: r.Fingerprint, Active: r.Active,
		Validity: psp.CardValidity(r.Validity), CreatedAt: r.CreatedAt.UTC()}, nil
}

// DeactivateCard implements sandbox.Store.
func (s SandboxPSP) DeactivateCard(ctx context.Context, id string, blocked bool) error {
	updates := map[string]any{"active": false}
	if blocked {
		updates["validity"] = string(psp.CardValidityInvalid)
	}
	ok, err := changed(s.db.WithContext(ctx).Model(&sandboxCardRow{}).Where("id = ?", id).Updates(updates))
	if err == nil && !ok {
		return psp.ErrNotFound
	}
	return err
}

// SettleCardValidity implements sandbox.Store.
func (s SandboxPSP) SettleCardValidity(ctx context.Context, id string, v psp.CardValidity) error {
	return s.db.WithContext(ctx).Model(&sandboxCardRow{}).
		Where("id = ? AND validity = ?", id, string(psp.CardValidityUnknown)).Update("validity", string(v)).Error
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	v := utc(t)
	return &v
}

// CreatePayIn implements sandbox.Store.
func (s SandboxPSP) CreatePayIn(ctx context.Context, p sandbox.PayIn) error {
	r := toSandboxPayInRow(p)
	return s.db.WithContext(ctx).Create(&r).Error
}

func toSandboxPayInRow(p sandbox.PayIn) sandboxPayInRow {
	return sandboxPayInRow{ID: p.ID, Method: string(p.Method), Status: string(p.Status),
		AuthorID: p.AuthorID, CreditedWalletID: p.CreditedWalletID, CardID: optional(p.CardID), MandateID: optional(p.MandateID),
		Amount: p.Amount, Refunded: p.Refunded, SecureModeNeeded: p.SecureModeNeeded, ReturnURL: p.ReturnURL,
		WrongCodes: p.WrongCodes, ResultCode: p.ResultCode, ResultMessage: p.ResultMessage,
		StatementDescriptor: p.StatementDescriptor, Tag: p.Tag, CreatedAt: utc(p.CreatedAt), UpdatedAt: utc(p.UpdatedAt),
		ExecutedAt: optionalTime(p.ExecutedAt), ChargeDate: optionalTime(p.ChargeDate)}
}

// PayIn implements sandbox.Store.
func (s SandboxPSP) PayIn(ctx context.Context, id string) (sandbox.PayIn, error) {
	var r sandboxPayInRow
	if err := s.take(ctx, &r, id); err != nil {
		return sandbox.PayIn{}, err
	}
	return toSandboxPayIn(r), nil
}

func toSandboxPayIn(r sandboxPayInRow) sandbox.PayIn {
	p := sandbox.PayIn{ID: r.ID, Method: psp.PayInMethod(r.Method), Status: psp.PayInStatus(r.Status), AuthorID: r.AuthorID,
		CreditedWalletID: r.CreditedWalletID, Amount: r.Amount, Refunded: r.Refunded, SecureModeNeeded: r.SecureModeNeeded,
		ReturnURL: r.ReturnURL, WrongCodes: r.WrongCodes, ResultCode: r.ResultCode, ResultMessage: r.ResultMessage,
		StatementDescriptor: r.StatementDescriptor, Tag: r.Tag, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.CardID != nil {
		p.CardID = *r.CardID
	}
	if r.MandateID != nil {
		p.MandateID = *r.MandateID
	}
	if r.ExecutedAt != nil {
		p.ExecutedAt = r.ExecutedAt.UTC()
	}
	if r.ChargeDate != nil {
		p.ChargeDate = r.ChargeDate.UTC()
	}
	return p
}

// FinishPayIn implements sandbox.Store.
func (s SandboxPSP) FinishPayIn(ctx context.Context, id string, status psp.PayInStatus, resultCode, resultMessage string, at time.Time) (bool, error) {
	updates := map[string]any{"status": string(status), "result_code": resultCode, "result_message": resultMessage, "updated_at": utc(at)}
	if status == psp.PayInSucceeded {
		updates["executed_at"] = utc(at)
	}
	return changed(s.db.WithContext(ctx).Model(&sandboxPayInRow{}).
		Where("id = ? AND status = ?", id, string(psp.PayInCreated)).Updates(updates))
}

// AddWrongSecureCode implements sandbox.Store: one conditional increment, then a read of the count
// in the same transaction (the row stays locked until it ends).
func (s SandboxPSP) AddWrongSecureCode(ctx context.Context, id string, limit int, at time.Time) (int, bool, error) {
	ok, err := changed(s.db.WithContext(ctx).Model(&sandboxPayInRow{}).
		Where("id = ? AND status = ? AND wrong_codes < ?", id, string(psp.PayInCreated), limit).
		Updates(map[string]any{"wrong_codes": gorm.Expr("wrong_codes + 1"), "updated_at": utc(at)}))
	if err != nil || !ok {
		return 0, false, err
	}
	var r sandboxPayInRow
	if err := s.take(ctx, &r, id); err != nil {
		return 0, false, err
	}
	return r.WrongCodes, true, nil
}

// PendingDirectDebits implements sandbox.Store.
func (s SandboxPSP) PendingDirectDebits(ctx context.Context, createdBefore time.Time) ([]sandbox.PayIn, error) {
	var rows []sandboxPayInRow
	err := s.db.WithContext(ctx).
		Where("method = ? AND status = ? AND created_at <= ?", string(psp.PayInDirectDebit), string(psp.PayInCreated), utc(createdBefore)).
		Order("created_at, id").Find(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]sandbox.PayIn, len(rows))
	for i, r := range rows {
		out[i] = toSandboxPayIn(r)
	}
	return out, nil
}

// CountFailedDirectDebits implements sandbox.Store.
func (s SandboxPSP) CountFailedDirectDebits(ctx context.Context, mandateID, tag string) (int, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&sandboxPayInRow{}).
		Where("method = ? AND status = ? AND mandate_id = ? AND tag = ?", string(psp.PayInDirectDebit), string(psp.PayInFailed), mandateID, tag).
		Count(&n).Error
	return int(n), err
}

// AddRefunded implements sandbox.Store.
func (s SandboxPSP) AddRefunded(ctx context.Context, payInID string, amount int64) (bool, error) {
	return changed(s.db.WithContext(ctx).Model(&sandboxPayInRow{}).
		Where("id = ? AND refunded + ? <= amount", payInID, amount).
		Update("refunded", gorm.Expr("refunded + ?", amount)))
}

// CreateRefund implements sandbox.Store.
func (s SandboxPSP) CreateRefund(ctx context.Context, r sandbox.Refund) error {
	if r.InitialKind == psp.RefundOfTransfer {
		return s.db.WithContext(ctx).Create(&sandboxTransferRefundRow{ID: r.ID, TransferID: r.PayInID, AuthorID: r.AuthorID,
			Status: string(r.Status), Amount: r.Amount, Fees: r.Fees, ResultCode: r.ResultCode, ResultMessage: r.ResultMessage,
			Tag: r.Tag, CreatedAt: utc(r.CreatedAt)}).Error
	}
	return s.db.WithContext(ctx).Create(&sandboxRefundRow{ID: r.ID, PayInID: r.PayInID, AuthorID: r.AuthorID,
		Status: string(r.Status), Amount: r.Amount, ResultCode: r.ResultCode, ResultMessage: r.ResultMessage, Tag: r.Tag,
		CreatedAt: utc(r.CreatedAt)}).Error
}

// Refund implements sandbox.Store.
func (s SandboxPSP) Refund(ctx context.Context, id string) (sandbox.Refund, error) {
	var tr []sandboxTransferRefundRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Limit(1).Find(&tr).Error; err != nil {
		return sandbox.Refund{}, err
	}
	if len(tr) > 0 {
		r := tr[0]
		return sandbox.Refund{ID: r.ID, InitialKind: psp.RefundOfTransfer, PayInID: r.TransferID, AuthorID: r.AuthorID,
			Status: psp.RefundStatus(r.Status), Amount: r.Amount, Fees: r.Fees, ResultCode: r.ResultCode,
			ResultMessage: r.ResultMessage, Tag: r.Tag, CreatedAt: r.CreatedAt.UTC()}, nil
	}
	var r sandboxRefundRow
	if err := s.take(ctx, &r, id); err != nil {
		return sandbox.Refund{}, err
	}
	return sandbox.Refund{ID: r.ID, InitialKind: psp.RefundOfPayIn, PayInID: r.PayInID, AuthorID: r.AuthorID, Status: psp.RefundStatus(r.Status),
		Amount: r.Amount, ResultCode: r.ResultCode, ResultMessage: r.ResultMessage, Tag: r.Tag, CreatedAt: r.CreatedAt.UTC()}, nil
}

// RefundedSince implements sandbox.Store.
func (s SandboxPSP) RefundedSince(ctx context.Context, payInID string, amount int64, since time.Time) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&sandboxRefundRow{}).
		Where("payin_id = ? AND amount = ? AND status = ? AND created_at >= ?", payInID, amount, string(psp.RefundSucceeded), utc(since)).
		Count(&n).Error
	return n > 0, err
}

// CreateBankAccount implements sandbox.Store.
func (s SandboxPSP) CreateBankAccount(ctx context.Context, b sandbox.BankAccount) error {
	return s.db.WithContext(ctx).Create(&sandboxBankAccountRow{ID: b.ID, UserID: b.UserID, OwnerName: b.OwnerName,
		MaskedIBAN: b.MaskedIBAN, Country: b.Country, Last4: b.Last4, BIC: b.BIC, Outcome: string(b.Outcome),
		FailsOnce: b.FailsOnce, Active: b.Active, Tag: b.Tag, CreatedAt: utc(b.CreatedAt)}).Error
}

// BankAccount implements sandbox.Store.
func (s SandboxPSP) BankAccount(ctx context.Context, id string) (sandbox.BankAccount, error) {
	var r sandboxBankAccountRow
	if err := s.take(ctx, &r, id); err != nil {
		return sandbox.BankAccount{}, err
	}
	return sandbox.BankAccount{ID: r.ID, UserID: r.UserID, OwnerName: r.OwnerName, MaskedIBAN: r.MaskedIBAN,
		Country: r.Country, Last4: r.Last4, BIC: r.BIC, Outcome: sandbox.DebitOutcome(r.Outcome), FailsOnce: r.FailsOnce, Active: r.Active,
		Tag: r.Tag, CreatedAt: r.CreatedAt.UTC()}, nil
}

// DeactivateBankAccount implements sandbox.Store.
func (s SandboxPSP) DeactivateBankAccount(ctx context.Context, id string) error {
	ok, err := changed(s.db.WithContext(ctx).Model(&sandboxBankAccountRow{}).Where("id = ?", id).Update("active", false))
	if err == nil && !ok {
		return psp.ErrNotFound
	}
	return err
}

// CreateMandate implements sandbox.Store.
func (s SandboxPSP) CreateMandate(ctx context.Context, m sandbox.Mandate) error {
	return s.db.WithContext(ctx).Create(&sandboxMandateRow{ID: m.ID, UserID: m.UserID, BankAccountID: m.BankAccountID,
		Status: string(m.Status), ReturnURL: m.ReturnURL, Culture: m.Culture, BankReference: m.BankReference,
		Scheme: m.Scheme, ResultCode: m.ResultCode, Tag: m.Tag, CreatedAt: utc(m.CreatedAt), UpdatedAt: utc(m.UpdatedAt)}).Error
}

// Mandate implements sandbox.Store.
func (s SandboxPSP) Mandate(ctx context.Context, id string) (sandbox.Mandate, error) {
	var r sandboxMandateRow
	if err := s.take(ctx, &r, id); err != nil {
		return sandbox.Mandate{}, err
	}
	return toSandboxMandate(r), nil
}

func toSandboxMandate(r sandboxMandateRow) sandbox.Mandate {
	return sandbox.Mandate{ID: r.ID, UserID: r.UserID, BankAccountID: r.BankAccountID, Status: psp.MandateStatus(r.Status),
		ReturnURL: r.ReturnURL, Culture: r.Culture, BankReference: r.BankReference, Scheme: r.Scheme,
		ResultCode: r.ResultCode, Tag: r.Tag, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// MoveMandate implements sandbox.Store.
func (s SandboxPSP) MoveMandate(ctx context.Context, id string, from []psp.MandateStatus, to psp.MandateStatus, resultCode, scheme string, at time.Time) (bool, error) {
	statuses := make([]string, len(from))
	for i, f := range from {
		statuses[i] = string(f)
	}
	updates := map[string]any{"status": string(to), "updated_at": utc(at)}
	if resultCode != "" {
		updates["result_code"] = resultCode
	}
	if scheme != "" {
		updates["scheme"] = scheme
	}
	return changed(s.db.WithContext(ctx).Model(&sandboxMandateRow{}).Where("id = ? AND status IN ?", id, statuses).Updates(updates))
}

// sandboxRowsPerInsert bounds the rows of one multi-row insert of the sandbox's batches (a
// pay-in has 20 columns: 10,000 parameters, within SQLite's and PostgreSQL's limits).
const sandboxRowsPerInsert = 500

// sandboxIDsPerRead bounds the ids of one IN list of the sandbox's batch reads.
const sandboxIDsPerRead = 1000

// ClaimKeys implements sandbox.Store: one insert per sandboxRowsPerInsert keys that does nothing
// on conflict and returns the rows it inserted: a key is this call's when the row it inserted
// names the resource this call gave it (resource ids are fresh; a key repeated in the call is
// inserted with its first resource and mine keeps its last, so it is not claimed: its requests
// take the single call's path, as before). The keys were read back by kind and key list before,
// which PostgreSQL planned as a read of every payin key ever made (a cost per batch growing with
// the provider's history).
func (s SandboxPSP) ClaimKeys(ctx context.Context, kind string, keys, resourceIDs []string, at time.Time) (map[string]bool, error) {
	type keyRow struct{ Key, ResourceID string }
	idx := make([]int, len(keys))
	for i := range idx {
		idx[i] = i
	}
	mine := make(map[string]string, len(keys))
	for i, k := range keys {
		mine[k] = resourceIDs[i]
	}
	claimed := make(map[string]bool, len(keys))
	err := chunk(idx, sandboxRowsPerInsert, func(part []int) error {
		args := make([]any, 0, 4*len(part))
		for _, i := range part {
			args = append(args, kind, keys[i], resourceIDs[i], utc(at))
		}
		var got []keyRow
		err := s.db.WithContext(ctx).Raw(`INSERT INTO sandbox_idempotency (kind, key, resource_id, created_at) VALUES `+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?), ", len(part)), ", ")+`
			ON CONFLICT (kind, key) DO NOTHING RETURNING key, resource_id`, args...).Scan(&got).Error
		if err != nil {
			return err
		}
		for _, g := range got {
			if g.ResourceID != "" && g.ResourceID == mine[g.Key] {
				claimed[g.Key] = true
			}
		}
		return nil
	})
	return claimed, err
}

// WalletsExist implements sandbox.Store.
func (s SandboxPSP) WalletsExist(ctx context.Context, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	err := chunk(ids, sandboxIDsPerRead, func(ids []string) error {
		var found []string
		if err := s.db.WithContext(ctx).Model(&sandboxWalletRow{}).Where("id IN ?", ids).Pluck("id", &found).Error; err != nil {
			return err
		}
		for _, id := range found {
			out[id] = true
		}
		return nil
	})
	return out, err
}

// Mandates implements sandbox.Store.
func (s SandboxPSP) Mandates(ctx context.Context, ids []string) (map[string]sandbox.Mandate, error) {
	out := make(map[string]sandbox.Mandate, len(ids))
	err := chunk(ids, sandboxIDsPerRead, func(ids []string) error {
		var rows []sandboxMandateRow
		if err := s.db.WithContext(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			out[r.ID] = toSandboxMandate(r)
		}
		return nil
	})
	return out, err
}

// CreatePayIns implements sandbox.Store: one insert per sandboxRowsPerInsert pay-ins.
func (s SandboxPSP) CreatePayIns(ctx context.Context, ps []sandbox.PayIn) error {
	rows := make([]sandboxPayInRow, len(ps))
	for i, p := range ps {
		rows[i] = toSandboxPayInRow(p)
	}
	return chunk(rows, sandboxRowsPerInsert, func(rows []sandboxPayInRow) error {
		return s.db.WithContext(ctx).Create(&rows).Error
	})
}
