package storage

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/sepa"
	"github.com/vhupay/vhupay/internal/txn"
)

type bankAccountRow struct {
	ID            string
	BuyerID       string
	ProviderID    string
	OwnerName     string
	Country       string
	IBANLast4     string `gorm:"column:iban_last4"`
	MaskedIBAN    string `gorm:"column:masked_iban"`
	Fingerprint   string
	BIC           string `gorm:"column:bic"`
	Status        string
	IsDefault     bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
	DeactivatedAt *time.Time
}

func (bankAccountRow) TableName() string { return "bank_accounts" }

const (
	accountActive   = "active"
	accountInactive = "inactive"
)

type mandateRow struct {
	ID            string
	BuyerID       string
	BankAccountID string
	ProviderID    string
	Status        string
	Reference     string
	SignatureURL  string `gorm:"column:signature_url"`
	ReturnURL     string `gorm:"column:return_url"`
	FailureCode   string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	SignedAt      *time.Time
}

func (mandateRow) TableName() string { return "mandates" }

// FingerprintUses implements sepa.Store.
func (s SEPA) FingerprintUses(ctx context.Context, buyerID, fingerprint string) (int, bool, error) {
	var rows []bankAccountRow
	if err := s.db.WithContext(ctx).Select("status").Where("buyer_id = ? AND fingerprint = ?", buyerID, fingerprint).Find(&rows).Error; err != nil {
		return 0, false, err
	}
	active := false
	for _, r := range rows {
		active = active || r.Status == accountActive
	}
	return len(rows), active, nil
}

// AddBankAccount implements sepa.Store. The buyer's profile row serialises additions, so that
// exactly one first account becomes the default; the partial unique indexes hold the invariants
// (one active account per fingerprint, one default) whatever happens.
func (s SEPA) AddBankAccount(ctx context.Context, a sepa.BankAccount) (sepa.BankAccount, error) {
	err := s.inSEPAUnit(ctx, a.BuyerID, a.CreatedAt, func(tx *gorm.DB) error {
		if _, err := lockProfile(tx, a.BuyerID, a.CreatedAt); err != nil {
			return err
		}
		var defaults int64
		if err := tx.Model(&bankAccountRow{}).Where("buyer_id = ? AND is_default = ?", a.BuyerID, true).Count(&defaults).Error; err != nil {
			return err
		}
		a.Active, a.IsDefault = true, defaults == 0
		return tx.Create(fromBankAccount(a)).Error
	})
	if isUnique(err) {
		return sepa.BankAccount{}, sepa.ErrBankAccountExists
	}
	if err != nil {
		return sepa.BankAccount{}, err
	}
	return a, nil
}

// BankAccount implements sepa.Store.
func (s SEPA) BankAccount(ctx context.Context, id string) (sepa.BankAccount, error) {
	return s.bankAccount(s.db.WithContext(ctx), id)
}

func (s SEPA) bankAccount(q *gorm.DB, id string) (sepa.BankAccount, error) {
	var row bankAccountRow
	if err := q.Where("id = ?", id).Take(&row).Error; err != nil {
		if isNotFound(err) {
			return sepa.BankAccount{}, sepa.ErrNotFound
		}
		return sepa.BankAccount{}, err
	}
	return toBankAccount(row), nil
}

// BankAccounts implements sepa.Store.
func (s SEPA) BankAccounts(ctx context.Context, buyerID string, p page.Request) (page.Page[sepa.BankAccount], error) {
	q := s.db.WithContext(ctx).Model(&bankAccountRow{})
	if buyerID != "" {
		q = q.Where("buyer_id = ?", buyerID)
	}
	var rows []bankAccountRow
	if err := keyset(q, p, "id").Find(&rows).Error; err != nil {
		return page.Page[sepa.BankAccount]{}, err
	}
	out := make([]sepa.BankAccount, len(rows))
	for i, r := range rows {
		out[i] = toBankAccount(r)
	}
	return page.Build(out, p.Limit, func(a sepa.BankAccount) string { return a.ID }), nil
}

// SetDefaultBankAccount implements sepa.Store: in one transaction, the buyer's default is
// cleared and the account, if still active, becomes the default.
func (s SEPA) SetDefaultBankAccount(ctx context.Context, id string, now time.Time) (sepa.BankAccount, error) {
	var out sepa.BankAccount
	err := s.inSEPAUnit(ctx, s.accountBuyer(ctx, id), now, func(tx *gorm.DB) error {
		a, err := s.bankAccount(tx, id)
		if err != nil {
			return err
		}
		if _, err := lockProfile(tx, a.BuyerID, now); err != nil {
			return err
		}
		if err := tx.Model(&bankAccountRow{}).Where("buyer_id = ? AND is_default = ? AND id <> ?", a.BuyerID, true, id).
			UpdateColumns(map[string]any{"is_default": false, "updated_at": utc(now)}).Error; err != nil {
			return err
		}
		res := tx.Model(&bankAccountRow{}).Where("id = ? AND status = ? AND is_default = ?", id, accountActive, false).
			UpdateColumns(map[string]any{"is_default": true, "updated_at": utc(now)})
		if res.Error != nil {
			return res.Error
		}
		if out, err = s.bankAccount(tx, id); err != nil {
			return err
		}
		if !out.Active {
			return fmt.Errorf("%w: bank account %s is deleted", sepa.ErrInvalidTransition, id)
		}
		return nil
	})
	return out, err
}

// DeactivateBankAccount implements sepa.Store.
func (s SEPA) DeactivateBankAccount(ctx context.Context, id string, now time.Time) error {
	return s.inSEPAUnit(ctx, s.accountBuyer(ctx, id), now, func(tx *gorm.DB) error {
		a, err := s.bankAccount(tx, id)
		if err != nil {
			return err
		}
		if _, err := lockProfile(tx, a.BuyerID, now); err != nil {
			return err
		}
		res := tx.Model(&bankAccountRow{}).Where("id = ? AND status = ?", id, accountActive).
			UpdateColumns(map[string]any{"status": accountInactive, "is_default": false, "updated_at": utc(now), "deactivated_at": utc(now)})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error // already inactive: nothing to do
		}
		err = tx.Model(&mandateRow{}).Where("bank_account_id = ? AND status IN ?", id, []string{
			string(sepa.MandatePendingSignature), string(sepa.MandateSubmitted), string(sepa.MandateActive)}).
			UpdateColumns(map[string]any{"status": string(sepa.MandateCancelled), "failure_code": "mandate_cancelled", "updated_at": utc(now)}).Error
		if err != nil || !a.IsDefault {
			return err
		}
		var next []bankAccountRow
		if err := tx.Where("buyer_id = ? AND status = ?", a.BuyerID, accountActive).Order("id DESC").Limit(1).Find(&next).Error; err != nil {
			return err
		}
		if len(next) == 0 {
			return nil
		}
		return tx.Model(&bankAccountRow{}).Where("id = ?", next[0].ID).
			UpdateColumns(map[string]any{"is_default": true, "updated_at": utc(now)}).Error
	})
}

// AddMandate implements sepa.Store.
func (s SEPA) AddMandate(ctx context.Context, m sepa.Mandate) error {
	return s.db.WithContext(ctx).Create(fromMandate(m)).Error
}

// Mandate implements sepa.Store.
func (s SEPA) Mandate(ctx context.Context, id string) (sepa.Mandate, error) {
	return s.mandateWhere(s.db.WithContext(ctx), "id = ?", id)
}

// MandateByProviderID implements sepa.Store.
func (s SEPA) MandateByProviderID(ctx context.Context, providerID string) (sepa.Mandate, error) {
	return s.mandateWhere(s.db.WithContext(ctx), "provider_id = ?", providerID)
}

func (s SEPA) mandateWhere(q *gorm.DB, cond string, arg string) (sepa.Mandate, error) {
	var row mandateRow
	if err := q.Where(cond, arg).Take(&row).Error; err != nil {
		if isNotFound(err) {
			return sepa.Mandate{}, sepa.ErrNotFound
		}
		return sepa.Mandate{}, err
	}
	return toMandate(row), nil
}

// Mandates implements sepa.Store.
func (s SEPA) Mandates(ctx context.Context, buyerID string, p page.Request) (page.Page[sepa.Mandate], error) {
	q := s.db.WithContext(ctx).Model(&mandateRow{})
	if buyerID != "" {
		q = q.Where("buyer_id = ?", buyerID)
	}
	var rows []mandateRow
	if err := keyset(q, p, "id").Find(&rows).Error; err != nil {
		return page.Page[sepa.Mandate]{}, err
	}
	out := make([]sepa.Mandate, len(rows))
	for i, r := range rows {
		out[i] = toMandate(r)
	}
	return page.Build(out, p.Limit, func(m sepa.Mandate) string { return m.ID }), nil
}

// MandatesOfBankAccount implements sepa.Store.
func (s SEPA) MandatesOfBankAccount(ctx context.Context, bankAccountID string) ([]sepa.Mandate, error) {
	var rows []mandateRow
	if err := s.db.WithContext(ctx).Where("bank_account_id = ?", bankAccountID).Order("id DESC").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]sepa.Mandate, len(rows))
	for i, r := range rows {
		out[i] = toMandate(r)
	}
	return out, nil
}

// ChangeMandate implements sepa.Store.
func (s SEPA) ChangeMandate(ctx context.Context, c sepa.MandateChange) (m sepa.Mandate, applied, firstSigned bool, err error) {
	from := make([]string, len(c.From))
	for i, st := range c.From {
		from[i] = string(st)
	}
	var buyers []string
	if err := s.db.WithContext(ctx).Model(&mandateRow{}).Where("id = ?", c.MandateID).Pluck("buyer_id", &buyers).Error; err != nil {
		return sepa.Mandate{}, false, false, err
	}
	buyerID := ""
	if len(buyers) == 1 {
		buyerID = buyers[0]
	}
	// A signature or a cancellation can enable or disable the buyer's SEPA.
	err = s.root.inUnit(ctx, func(u *unit) error {
		return u.withSEPAEvents(ctx, buyerID, c.At, func() error { return s.changeMandate(ctx, u, c, from, &m, &applied, &firstSigned) })
	})
	if err != nil {
		return sepa.Mandate{}, false, false, err
	}
	return m, applied, firstSigned, nil
}

func (s SEPA) changeMandate(ctx context.Context, u *unit, c sepa.MandateChange, from []string, m *sepa.Mandate, applied, firstSigned *bool) error {
	tx := u.g.WithContext(ctx)
	set := map[string]any{"status": string(c.To), "updated_at": utc(c.At)}
	if c.Reference != "" {
		set["reference"] = c.Reference
	}
	if c.To.Final() {
		set["failure_code"] = c.Failure
	}
	res := tx.Model(&mandateRow{}).Where("id = ? AND status IN ?", c.MandateID, from).UpdateColumns(set)
	if res.Error != nil {
		return res.Error
	}
	*applied = res.RowsAffected == 1
	if *applied && c.To.Usable() {
		res := tx.Model(&mandateRow{}).Where("id = ? AND signed_at IS NULL", c.MandateID).UpdateColumn("signed_at", utc(c.At))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			current, err := s.mandateWhere(tx, "id = ?", c.MandateID)
			if err != nil {
				return err
			}
			res := tx.Model(&sepaProfileRow{}).Where("buyer_id = ? AND probation_start IS NULL", current.BuyerID).
				UpdateColumns(map[string]any{"probation_start": utc(c.At), "updated_at": utc(c.At)})
			if res.Error != nil {
				return res.Error
			}
			*firstSigned = res.RowsAffected == 1
		}
	}
	got, err := s.mandateWhere(tx, "id = ?", c.MandateID)
	if err != nil {
		return err
	}
	*m = got
	if !*applied {
		return nil
	}
	return emitMandate(ctx, u, got, c.At)
}

func fromBankAccount(a sepa.BankAccount) *bankAccountRow {
	status := accountInactive
	if a.Active {
		status = accountActive
	}
	return &bankAccountRow{ID: a.ID, BuyerID: a.BuyerID, ProviderID: a.ProviderID, OwnerName: a.OwnerName, Country: a.Country,
		IBANLast4: a.Last4, MaskedIBAN: a.MaskedIBAN, Fingerprint: a.Fingerprint, BIC: a.BIC, Status: status,
		IsDefault: a.IsDefault, CreatedAt: utc(a.CreatedAt), UpdatedAt: utc(a.UpdatedAt)}
}

func toBankAccount(r bankAccountRow) sepa.BankAccount {
	return sepa.BankAccount{ID: r.ID, BuyerID: r.BuyerID, ProviderID: r.ProviderID, OwnerName: r.OwnerName, Country: r.Country,
		Last4: r.IBANLast4, MaskedIBAN: r.MaskedIBAN, Fingerprint: r.Fingerprint, BIC: r.BIC, Active: r.Status == accountActive,
		IsDefault: r.IsDefault, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

func fromMandate(m sepa.Mandate) *mandateRow {
	var signed *time.Time
	if !m.SignedAt.IsZero() {
		t := utc(m.SignedAt)
		signed = &t
	}
	return &mandateRow{ID: m.ID, BuyerID: m.BuyerID, BankAccountID: m.BankAccountID, ProviderID: m.ProviderID,
		Status: string(m.Status), Reference: m.Reference, SignatureURL: m.SignatureURL, ReturnURL: m.ReturnURL,
		FailureCode: m.FailureCode, CreatedAt: utc(m.CreatedAt), UpdatedAt: utc(m.UpdatedAt), SignedAt: signed}
}

func toMandate(r mandateRow) sepa.Mandate {
	return sepa.Mandate{ID: r.ID, BuyerID: r.BuyerID, BankAccountID: r.BankAccountID, ProviderID: r.ProviderID,
		Status: sepa.MandateStatus(r.Status), Reference: r.Reference, SignatureURL: r.SignatureURL, ReturnURL: r.ReturnURL,
		FailureCode: r.FailureCode, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), SignedAt: derefTime(r.SignedAt)}
}

// emitMandate emits the mandate.<status> event of a mandate that has just reached its status (m,
// read inside the unit after its writes, as its GET answers it); statuses outside the catalogue
// (pending_signature, expired) are not told.
func emitMandate(ctx context.Context, u *unit, m sepa.Mandate, at time.Time) error {
	switch m.Status {
	case sepa.MandateSubmitted, sepa.MandateActive, sepa.MandateFailed, sepa.MandateCancelled:
		return u.Emit(ctx, txn.Event{Type: "mandate." + string(m.Status), BuyerID: m.BuyerID, Object: m, At: at})
	}
	return nil
}

// accountBuyer returns the buyer of a bank account ("" when there is none: the unit then emits
// no sepa.* event and the write reports the missing account).
func (s SEPA) accountBuyer(ctx context.Context, id string) string {
	var buyers []string
	if err := s.db.WithContext(ctx).Model(&bankAccountRow{}).Where("id = ?", id).Pluck("buyer_id", &buyers).Error; err != nil || len(buyers) == 0 {
		return ""
	}
	return buyers[0]
}
