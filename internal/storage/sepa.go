package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/sepa"
	"github.com/vhupay/vhupay/internal/txn"
)

type sepaProfileRow struct {
	BuyerID           string `gorm:"primaryKey"`
	Ceiling           int64
	Suspended         bool
	SuspendedReason   string
	SuspendedAt       *time.Time
	ProbationStart    *time.Time
	BuyerScoreCheckAt *time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

func (sepaProfileRow) TableName() string { return "sepa_profiles" }

type ceilingChangeRow struct {
	ID         string
	BuyerID    string
	FromAmount int64
	ToAmount   int64
	Reason     string
	Note       string
	CreatedAt  time.Time
}

func (ceilingChangeRow) TableName() string { return "sepa_ceiling_changes" }

type sepaOutstandingRow struct {
	BuyerID     string `gorm:"primaryKey"`
	Month       string `gorm:"primaryKey"`
	Outstanding int64
}

func (sepaOutstandingRow) TableName() string { return "sepa_outstanding" }

// ceilingChangePrefix prefixes the ids of ceiling changes (internal: they order the history).
const ceilingChangePrefix = "cch"

// SEPA implements sepa.Store.
type SEPA struct {
	db   *gorm.DB
	root *DB
}

var _ sepa.Store = SEPA{}

// NewSEPA returns the SEPA store.
func NewSEPA(db *DB) SEPA { return SEPA{db: db.gorm, root: db} }

// EnsureProfile implements sepa.Store.
func (s SEPA) EnsureProfile(ctx context.Context, buyerID string, initial int64, now time.Time) (sepa.Profile, error) {
	var row sepaProfileRow
	err := s.db.WithContext(ctx).Where("buyer_id = ?", buyerID).Take(&row).Error
	if err == nil {
		return toProfile(row), nil
	}
	if !isNotFound(err) {
		return sepa.Profile{}, err
	}
	err = inTx(ctx, s.db, func(tx *gorm.DB) error {
		row = sepaProfileRow{BuyerID: buyerID, Ceiling: initial, CreatedAt: utc(now), UpdatedAt: utc(now)}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error // created by another request meanwhile
		}
		return addCeilingChange(tx, buyerID, 0, initial, sepa.CeilingChangeInitial, "", now)
	})
	if err != nil {
		return sepa.Profile{}, err
	}
	return s.profile(s.db.WithContext(ctx), buyerID)
}

func (s SEPA) profile(q *gorm.DB, buyerID string) (sepa.Profile, error) {
	var row sepaProfileRow
	if err := q.Where("buyer_id = ?", buyerID).Take(&row).Error; err != nil {
		if isNotFound(err) {
			return sepa.Profile{}, sepa.ErrNotFound
		}
		return sepa.Profile{}, err
	}
	return toProfile(row), nil
}

func addCeilingChange(tx *gorm.DB, buyerID string, from, to int64, reason, note string, now time.Time) error {
	return tx.Create(&ceilingChangeRow{ID: id.New(ceilingChangePrefix), BuyerID: buyerID, FromAmount: from, ToAmount: to,
		Reason: reason, Note: note, CreatedAt: utc(now)}).Error
}

// lockProfile takes the buyer's profile row for the rest of the transaction (PostgreSQL keeps
// concurrent writers of the same buyer waiting; SQLite runs one write transaction at a time) and
// returns it. sepa.ErrNotFound when the buyer has no profile.
func lockProfile(tx *gorm.DB, buyerID string, now time.Time) (sepaProfileRow, error) {
	res := tx.Model(&sepaProfileRow{}).Where("buyer_id = ?", buyerID).UpdateColumn("updated_at", utc(now))
	if res.Error != nil {
		return sepaProfileRow{}, res.Error
	}
	if res.RowsAffected == 0 {
		return sepaProfileRow{}, sepa.ErrNotFound
	}
	var row sepaProfileRow
	err := tx.Where("buyer_id = ?", buyerID).Take(&row).Error
	return row, err
}

// inSEPAUnit runs fn in one unit of work that emits the sepa.enabled, sepa.disabled and
// sepa.ceiling_changed events fn's writes cause to the buyer's standing (withSEPAEvents).
func (s SEPA) inSEPAUnit(ctx context.Context, buyerID string, at time.Time, fn func(tx *gorm.DB) error) error {
	return s.root.inUnit(ctx, func(u *unit) error {
		return u.withSEPAEvents(ctx, buyerID, at, func() error { return fn(u.g.WithContext(ctx)) })
	})
}

// SetCeiling implements sepa.Store.
func (s SEPA) SetCeiling(ctx context.Context, buyerID string, to int64, reason, note string, now time.Time, audit *txn.AuditEntry) (sepa.Profile, error) {
	var out sepa.Profile
	err := s.inSEPAUnit(ctx, buyerID, now, func(tx *gorm.DB) error {
		row, err := lockProfile(tx, buyerID, now)
		if err != nil {
			return err
		}
		if err := tx.Model(&sepaProfileRow{}).Where("buyer_id = ?", buyerID).UpdateColumn("ceiling", to).Error; err != nil {
			return err
		}
		if err := addCeilingChange(tx, buyerID, row.Ceiling, to, reason, note, now); err != nil {
			return err
		}
		before := toProfile(row)
		row.Ceiling = to
		out = toProfile(row)
		return s.root.auditIn(ctx, tx, withChange(audit, before, out))
	})
	return out, err
}

// Suspend implements sepa.Store.
func (s SEPA) Suspend(ctx context.Context, buyerID, reason string, now time.Time) (bool, error) {
	var res *gorm.DB
	err := s.inSEPAUnit(ctx, buyerID, now, func(tx *gorm.DB) error {
		res = tx.Model(&sepaProfileRow{}).Where("buyer_id = ? AND suspended = ?", buyerID, false).
			UpdateColumns(map[string]any{"suspended": true, "suspended_reason": reason, "suspended_at": utc(now), "updated_at": utc(now)})
		return res.Error
	})
	if err != nil {
		return false, err
	}
	if res.RowsAffected == 0 {
		if _, err := s.profile(s.db.WithContext(ctx), buyerID); err != nil {
			return false, err
		}
	}
	return res.RowsAffected == 1, nil
}

// Reinstate implements sepa.Store.
func (s SEPA) Reinstate(ctx context.Context, buyerID string, ceiling int64, now time.Time, audit *txn.AuditEntry) (sepa.Profile, error) {
	var out sepa.Profile
	err := s.inSEPAUnit(ctx, buyerID, now, func(tx *gorm.DB) error {
		row, err := lockProfile(tx, buyerID, now)
		if err != nil {
			return err
		}
		res := tx.Model(&sepaProfileRow{}).Where("buyer_id = ? AND suspended = ?", buyerID, true).
			UpdateColumns(map[string]any{"suspended": false, "suspended_reason": "", "suspended_at": nil,
				"ceiling": ceiling, "probation_start": utc(now)})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return sepa.ErrInvalidTransition
		}
		if err := addCeilingChange(tx, buyerID, row.Ceiling, ceiling, sepa.CeilingChangeUnpaidReset, "", now); err != nil {
			return err
		}
		if out, err = s.profile(tx, buyerID); err != nil {
			return err
		}
		return s.root.auditIn(ctx, tx, withChange(audit, toProfile(row), out))
	})
	if errors.Is(err, sepa.ErrInvalidTransition) {
		return sepa.Profile{}, fmt.Errorf("%w: buyer %s is not suspended", err, buyerID)
	}
	return out, err
}

// CeilingChanges implements sepa.Store.
func (s SEPA) CeilingChanges(ctx context.Context, buyerID string, p page.Request) (page.Page[sepa.CeilingChange], error) {
	var rows []ceilingChangeRow
	if err := keyset(s.db.WithContext(ctx).Where("buyer_id = ?", buyerID), p, "id").Find(&rows).Error; err != nil {
		return page.Page[sepa.CeilingChange]{}, err
	}
	out := make([]sepa.CeilingChange, len(rows))
	for i, r := range rows {
		out[i] = sepa.CeilingChange{ID: r.ID, BuyerID: r.BuyerID, From: r.FromAmount, To: r.ToAmount, Reason: r.Reason,
			Note: r.Note, CreatedAt: r.CreatedAt.UTC()}
	}
	return page.Build(out, p.Limit, func(c sepa.CeilingChange) string { return c.ID }), nil
}

// ClaimScoreRequest implements sepa.Store.
func (s SEPA) ClaimScoreRequest(ctx context.Context, buyerID string, now, notBefore time.Time) (bool, time.Time, error) {
	p, err := s.profileRow(ctx, buyerID)
	if err != nil {
		return false, time.Time{}, err
	}
	last := derefTime(p.BuyerScoreCheckAt)
	if !last.IsZero() && last.After(notBefore) {
		return false, last, nil
	}
	q := s.db.WithContext(ctx).Model(&sepaProfileRow{}).Where("buyer_id = ?", buyerID)
	if last.IsZero() {
		q = q.Where("buyer_score_check_at IS NULL")
	} else {
		q = q.Where("buyer_score_check_at = ?", utc(last))
	}
	res := q.UpdateColumn("buyer_score_check_at", utc(now))
	if res.Error != nil {
		return false, time.Time{}, res.Error
	}
	if res.RowsAffected == 0 { // another request claimed it first
		p, err := s.profileRow(ctx, buyerID)
		return false, derefTime(p.BuyerScoreCheckAt), err
	}
	return true, last, nil
}

// ReleaseScoreRequest implements sepa.Store.
func (s SEPA) ReleaseScoreRequest(ctx context.Context, buyerID string, claimed, previous time.Time) error {
	var value any
	if !previous.IsZero() {
		value = utc(previous)
	}
	return s.db.WithContext(ctx).Model(&sepaProfileRow{}).Where("buyer_id = ? AND buyer_score_check_at = ?", buyerID, utc(claimed)).
		UpdateColumn("buyer_score_check_at", value).Error
}

func (s SEPA) profileRow(ctx context.Context, buyerID string) (sepaProfileRow, error) {
	var row sepaProfileRow
	err := s.db.WithContext(ctx).Where("buyer_id = ?", buyerID).Take(&row).Error
	if isNotFound(err) {
		return row, sepa.ErrNotFound
	}
	return row, err
}

// Facts implements sepa.Store.
func (s SEPA) Facts(ctx context.Context, buyerID, month string) (sepa.Facts, error) {
	if isPostgres(s.db) {
		return s.factsPostgres(ctx, buyerID, month)
	}
	q := s.db.WithContext(ctx)
	p, err := s.profile(q, buyerID)
	if err != nil {
		return sepa.Facts{}, err
	}
	f := sepa.Facts{Profile: p}
	var accounts int64
	if err := q.Model(&bankAccountRow{}).Where("buyer_id = ? AND status = ?", buyerID, "active").Count(&accounts).Error; err != nil {
		return sepa.Facts{}, err
	}
	f.HasBankAccount = accounts > 0
	var mandates []mandateRow
	err = q.Table("mandates AS m").Select("m.*").
		Joins("JOIN bank_accounts AS a ON a.id = m.bank_account_id").
		Where("a.buyer_id = ? AND a.is_default = ? AND a.status = ? AND m.status IN ?", buyerID, true, "active",
			[]string{string(sepa.MandateSubmitted), string(sepa.MandateActive)}).
		Order("m.id DESC").Limit(1).Find(&mandates).Error
	if err != nil {
		return sepa.Facts{}, err
	}
	if len(mandates) == 1 {
		f.DefaultMandateID = mandates[0].ID
	}
	if f.Score, err = s.ScoreState(ctx, buyerID); err != nil {
		return sepa.Facts{}, err
	}
	var out []sepaOutstandingRow
	if err := q.Where("buyer_id = ? AND month = ?", buyerID, month).Find(&out).Error; err != nil {
		return sepa.Facts{}, err
	}
	if len(out) == 1 {
		f.Outstanding = out[0].Outstanding
	}
	var retrying int64
	if err := q.Model(&collectionRow{}).Where("buyer_id = ? AND status = ?", buyerID, "retrying").Count(&retrying).Error; err != nil {
		return sepa.Facts{}, err
	}
	f.Retrying = retrying > 0
	return f, nil
}

// factsSQL reads a buyer's SEPA facts in one statement (PostgreSQL): the profile, whether an
// active bank account exists, the default account's newest usable mandate, the newest scored
// check and the newest check of any outcome, the month's outstanding and whether a collection
// is retrying — each an index lookup.
const factsSQL = `SELECT p.buyer_id, p.ceiling, p.suspended, p.suspended_reason, p.suspended_at, p.probation_start, p.created_at, p.updated_at,
	EXISTS (SELECT 1 FROM bank_accounts a WHERE a.buyer_id = p.buyer_id AND a.status = 'active'),
	COALESCE((SELECT m.id FROM mandates m JOIN bank_accounts a ON a.id = m.bank_account_id
		WHERE a.buyer_id = p.buyer_id AND a.is_default AND a.status = 'active' AND m.status IN ($3, $4)
		ORDER BY m.id DESC LIMIT 1), ''),
	sc.value, sc.checked_at, lc.outcome, lc.checked_at,
	COALESCE((SELECT o.outstanding FROM sepa_outstanding o WHERE o.buyer_id = p.buyer_id AND o.month = $2), 0),
	EXISTS (SELECT 1 FROM sepa_collections c WHERE c.buyer_id = p.buyer_id AND c.status = 'retrying')
FROM sepa_profiles p
LEFT JOIN LATERAL (SELECT s.value, s.checked_at FROM score_checks s WHERE s.buyer_id = p.buyer_id AND s.outcome = $5
	ORDER BY s.checked_at DESC, s.id DESC LIMIT 1) sc ON true
LEFT JOIN LATERAL (SELECT s.outcome, s.checked_at FROM score_checks s WHERE s.buyer_id = p.buyer_id
	ORDER BY s.checked_at DESC, s.id DESC LIMIT 1) lc ON true
WHERE p.buyer_id = $1`

// factsPostgres is Facts in one statement (factsSQL), the same answer as the seven reads of the
// general path.
func (s SEPA) factsPostgres(ctx context.Context, buyerID, month string) (sepa.Facts, error) {
	var (
		row                sepaProfileRow
		f                  sepa.Facts
		scoredValue        *int
		scoredAt, latestAt *time.Time
		latestOutcome      *string
	)
	err := conn(s.db).QueryRowContext(ctx, factsSQL, buyerID, month, string(sepa.MandateSubmitted), string(sepa.MandateActive),
		string(sepa.ScoreScored)).Scan(&row.BuyerID, &row.Ceiling, &row.Suspended, &row.SuspendedReason, &row.SuspendedAt,
		&row.ProbationStart, &row.CreatedAt, &row.UpdatedAt, &f.HasBankAccount, &f.DefaultMandateID,
		&scoredValue, &scoredAt, &latestOutcome, &latestAt, &f.Outstanding, &f.Retrying)
	if errors.Is(err, sql.ErrNoRows) {
		return sepa.Facts{}, sepa.ErrNotFound
	}
	if err != nil {
		return sepa.Facts{}, err
	}
	f.Profile = toProfile(row)
	if scoredValue != nil && scoredAt != nil {
		f.Score.Latest = &sepa.Score{Value: *scoredValue, CheckedAt: scoredAt.UTC()}
	}
	if latestOutcome != nil && *latestOutcome == string(sepa.ScoreUnavailable) && latestAt != nil {
		f.Score.UnavailableAt = latestAt.UTC()
	}
	return f, nil
}

// SEPAStanding computes a buyer's SEPA standing (the GET /v1/sepa profile) from the facts read
// of it: sepa.Service.Standing.
type SEPAStanding func(buyerID, month string, f sepa.Facts, now time.Time) sepa.Eligibility

// SetSEPAStanding sets how units of work compute the SEPA standing they emit in sepa.enabled,
// sepa.disabled and sepa.ceiling_changed events, and the initial ceiling a buyer is reinstated
// at when it pays its failed collection by card. Call it once, before units run; without it
// those events are not emitted.
func (db *DB) SetSEPAStanding(f SEPAStanding, initialCeiling int64) {
	db.standing, db.initial = f, initialCeiling
}

// sepaStanding reads the buyer's standing at at inside the unit; ok is false without a profile
// or without SetSEPAStanding.
func (u *unit) sepaStanding(ctx context.Context, buyerID string, at time.Time) (sepa.Eligibility, bool, error) {
	if u.db.standing == nil || buyerID == "" {
		return sepa.Eligibility{}, false, nil
	}
	month := clock.MonthOf(at)
	f, err := SEPA{db: u.g, root: u.db}.Facts(ctx, buyerID, month)
	if errors.Is(err, sepa.ErrNotFound) {
		return sepa.Eligibility{}, false, nil
	}
	if err != nil {
		return sepa.Eligibility{}, false, err
	}
	return u.db.standing(buyerID, month, f, at), true, nil
}

// withSEPAEvents runs fn, which changes what the buyer's SEPA standing depends on, and emits in
// the same unit the events of the change: sepa.enabled or sepa.disabled when whether the buyer
// may pay by SEPA changed, sepa.ceiling_changed when its ceiling did, each with the profile as
// GET /v1/sepa answers it after fn.
func (u *unit) withSEPAEvents(ctx context.Context, buyerID string, at time.Time, fn func() error) error {
	before, had, err := u.sepaStanding(ctx, buyerID, at)
	if err != nil {
		return err
	}
	if err := fn(); err != nil {
		return err
	}
	after, has, err := u.sepaStanding(ctx, buyerID, at)
	if err != nil || !has {
		return err
	}
	if !had { // the profile was created by fn: as if it were disabled at the initial ceiling
		before = sepa.Eligibility{Reasons: []string{"none"}, Ceiling: after.Ceiling}
	}
	emit := func(typ string) error {
		return u.Emit(ctx, txn.Event{Type: typ, BuyerID: buyerID, Object: after, At: at})
	}
	switch {
	case !before.Enabled() && after.Enabled():
		err = emit("sepa.enabled")
	case before.Enabled() && !after.Enabled():
		err = emit("sepa.disabled")
	}
	if err == nil && before.Ceiling != after.Ceiling {
		err = emit("sepa.ceiling_changed")
	}
	return err
}

// reserveSEPA reserves amount (cents, > 0) of the buyer's SEPA ceiling for month ("2026-11",
// Europe/Paris), inside the caller's transaction tx: the SEPA payment method calls it (through
// SEPA.Reserve) in the transaction that inserts the intent, after reading the buyer's standing.
//
// It is ONE conditional statement on the (buyer, month) outstanding row, an upsert: the row is
// created with amount, or amount is added to it, only when outstanding + amount stays within
// ceiling and within the ceiling stored in the buyer's profile at that instant, and the buyer is
// not suspended — so an operator's change or a suspension between the standing's read and the
// reservation is honoured, and two concurrent reservations can never both fit (PostgreSQL's
// ON CONFLICT DO UPDATE locks the row and evaluates its WHERE on the latest version, after
// waiting for a concurrent writer; SQLite runs one write transaction at a time).
//
// It returns ok = true when reserved; else ok = false and available, the cents still available
// (ceiling − outstanding, never below 0, with the lower of the two ceilings; 0 when suspended).
// A buyer without a profile never fits. On ok = false nothing is written.
func reserveSEPA(tx *gorm.DB, buyerID, month string, amount, ceiling int64) (ok bool, available int64, err error) {
	r, err := reserve(tx, buyerID, month, amount, ceiling)
	return r.Reserved, r.Available, err
}

func reserve(tx *gorm.DB, buyerID, month string, amount, ceiling int64) (sepa.Reservation, error) {
	if amount <= 0 {
		return sepa.Reservation{}, sepa.ErrInvalidAmount
	}
	if ok, err := tryReserve(tx, buyerID, month, amount, ceiling); ok || err != nil {
		return sepa.Reservation{Reserved: ok}, err
	}
	// Refused: say why, from the same transaction.
	var outstanding int64
	var rows []sepaOutstandingRow
	if err := tx.Where("buyer_id = ? AND month = ?", buyerID, month).Limit(1).Find(&rows).Error; err != nil {
		return sepa.Reservation{}, err
	}
	if len(rows) == 1 {
		outstanding = rows[0].Outstanding
	}
	var profiles []sepaProfileRow
	if err := tx.Where("buyer_id = ?", buyerID).Limit(1).Find(&profiles).Error; err != nil {
		return sepa.Reservation{}, err
	}
	switch {
	case len(profiles) == 0:
		return sepa.Reservation{}, nil
	case profiles[0].Suspended:
		return sepa.Reservation{Suspended: true}, nil
	}
	return sepa.Reservation{Available: sepa.Available(min(ceiling, profiles[0].Ceiling), outstanding)}, nil
}

// tryReserve is reserveSEPA's one conditional statement; it reports whether it reserved.
func tryReserve(tx *gorm.DB, buyerID, month string, amount, ceiling int64) (bool, error) {
	if amount > ceiling {
		return false, nil
	}
	// The SELECT yields the row to insert only when the amount alone fits; on a conflict the
	// DO UPDATE's WHERE re-checks the sum against the stored ceiling and the suspension.
	res := tx.Exec(`INSERT INTO sepa_outstanding (buyer_id, month, outstanding)
		SELECT p.buyer_id, CAST(? AS text), CAST(? AS bigint) FROM sepa_profiles p
		WHERE p.buyer_id = ? AND p.suspended = ? AND p.ceiling >= ?
		ON CONFLICT (buyer_id, month) DO UPDATE SET outstanding = sepa_outstanding.outstanding + excluded.outstanding
		WHERE sepa_outstanding.outstanding + excluded.outstanding <= ?
		AND sepa_outstanding.outstanding + excluded.outstanding <=
			(SELECT p2.ceiling FROM sepa_profiles p2 WHERE p2.buyer_id = excluded.buyer_id AND p2.suspended = ?)`,
		month, amount, buyerID, false, amount, ceiling, false)
	return res.RowsAffected == 1 && res.Error == nil, res.Error
}

// Outstanding returns the sum of the buyer's SEPA payments accepted in month (cents; 0 when
// none), as reserved by reserveSEPA: the month close collects it.
func (s SEPA) Outstanding(ctx context.Context, buyerID, month string) (int64, error) {
	var rows []sepaOutstandingRow
	if err := s.db.WithContext(ctx).Where("buyer_id = ? AND month = ?", buyerID, month).Find(&rows).Error; err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, nil
	}
	return rows[0].Outstanding, nil
}

func toProfile(r sepaProfileRow) sepa.Profile {
	return sepa.Profile{BuyerID: r.BuyerID, Ceiling: r.Ceiling, Suspended: r.Suspended, SuspendedReason: r.SuspendedReason,
		SuspendedAt: derefTime(r.SuspendedAt), ProbationStart: derefTime(r.ProbationStart),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// FactsMany implements sepa.Store.
func (s SEPA) FactsMany(ctx context.Context, buyerIDs []string, month string) (map[string]sepa.Facts, error) {
	out := make(map[string]sepa.Facts, len(buyerIDs))
	err := chunk(buyerIDs, 1000, func(ids []string) error {
		facts, err := s.factsMany(ctx, ids, month)
		for b, f := range facts {
			out[b] = f
		}
		return err
	})
	return out, err
}
