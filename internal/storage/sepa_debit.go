package storage

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/vhupay/vhupay/internal/sepa"
)

var _ sepa.Tx = sepaUnit{}

// debitFactsRow is one row of debitFactsSQL. The score columns come from joined score_checks
// rows (not scalar subqueries) so that SQLite knows their declared type and returns times.
type debitFactsRow struct {
	Ceiling        *int64
	Suspended      *bool
	HasBankAccount bool
	MandateID      *string
	Outstanding    *int64
	ScoreValue     *int
	ScoreAt        *time.Time
	LastOutcome    *string
	LastAt         *time.Time
	Retrying       bool
}

// debitFactsSQL reads a buyer's SEPA standing in one statement; every lookup is an index probe:
// sepa_profiles and sepa_outstanding by primary key, bank_accounts by (buyer_id, id) and the
// default account by its partial unique index, mandates by (bank_account_id, id), score_checks
// by (buyer_id, checked_at).
const debitFactsSQL = `SELECT p.ceiling AS ceiling, p.suspended AS suspended,
	EXISTS (SELECT 1 FROM bank_accounts a WHERE a.buyer_id = @buyer AND a.status = 'active') AS has_bank_account,
	(SELECT m.id FROM bank_accounts a JOIN mandates m ON m.bank_account_id = a.id
		WHERE a.buyer_id = @buyer AND a.is_default = @yes AND a.status = 'active' AND m.status IN ('submitted', 'active')
		ORDER BY m.id DESC LIMIT 1) AS mandate_id,
	o.outstanding AS outstanding,
	sc.value AS score_value, sc.checked_at AS score_at,
	la.outcome AS last_outcome, la.checked_at AS last_at,
	EXISTS (SELECT 1 FROM sepa_collections c WHERE c.buyer_id = @buyer AND c.status = 'retrying') AS retrying
FROM (SELECT 1 AS one) AS one
LEFT JOIN sepa_profiles p ON p.buyer_id = @buyer
LEFT JOIN sepa_outstanding o ON o.buyer_id = @buyer AND o.month = @month
LEFT JOIN score_checks sc ON sc.id = (SELECT s.id FROM score_checks s WHERE s.buyer_id = @buyer AND s.outcome = 'scored'
	ORDER BY s.checked_at DESC, s.id DESC LIMIT 1)
LEFT JOIN score_checks la ON la.id = (SELECT s.id FROM score_checks s WHERE s.buyer_id = @buyer
	ORDER BY s.checked_at DESC, s.id DESC LIMIT 1)`

// DebitFacts implements sepa.Tx: the same facts as Facts, read inside tx in one round
// trip. A buyer without a profile gets a zero Profile (not suspended, ceiling 0).
func (u sepaUnit) DebitFacts(ctx context.Context, buyerID, month string) (sepa.Facts, error) {
	g := u.g
	var row debitFactsRow
	if err := g.WithContext(ctx).Raw(debitFactsSQL, map[string]any{"buyer": buyerID, "month": month, "yes": true}).
		Scan(&row).Error; err != nil {
		return sepa.Facts{}, err
	}
	f := sepa.Facts{Profile: sepa.Profile{BuyerID: buyerID}, HasBankAccount: row.HasBankAccount, Retrying: row.Retrying}
	if row.Ceiling != nil {
		f.Profile.Ceiling = *row.Ceiling
	}
	if row.Suspended != nil {
		f.Profile.Suspended = *row.Suspended
	}
	if row.MandateID != nil {
		f.DefaultMandateID = *row.MandateID
	}
	if row.Outstanding != nil {
		f.Outstanding = *row.Outstanding
	}
	if row.ScoreValue != nil && row.ScoreAt != nil {
		f.Score.Latest = &sepa.Score{Value: *row.ScoreValue, CheckedAt: row.ScoreAt.UTC()}
	}
	if row.LastOutcome != nil && *row.LastOutcome == string(sepa.ScoreUnavailable) && row.LastAt != nil {
		f.Score.UnavailableAt = row.LastAt.UTC()
	}
	return f, nil
}

// eligibleSQL yields the buyer's default mandate and stored ceiling only when the buyer may pay
// by SEPA at the rule's instant and amount ($2) alone fits in the ceiling: the default (hence
// active) bank account's newest submitted or active mandate, the latest successful score at least
// the minimum ($3) and checked after $4 — or after $5 when the latest attempt, after it, was
// unavailable —, not suspended, no collection retrying. The same index probes as debitFactsSQL. Placeholders are
// PostgreSQL's; SQLite reads them as ?NNN.
const eligibleSQL = `SELECT m.id AS mandate_id, p.ceiling AS ceiling FROM sepa_profiles p
JOIN mandates m ON m.id = (SELECT m2.id FROM bank_accounts a JOIN mandates m2 ON m2.bank_account_id = a.id
	WHERE a.buyer_id = $1 AND a.is_default = true AND a.status = 'active' AND m2.status IN ('submitted', 'active')
	ORDER BY m2.id DESC LIMIT 1)
JOIN score_checks sc ON sc.id = (SELECT s.id FROM score_checks s WHERE s.buyer_id = $1 AND s.outcome = 'scored'
	ORDER BY s.checked_at DESC, s.id DESC LIMIT 1)
LEFT JOIN score_checks la ON la.id = (SELECT s.id FROM score_checks s WHERE s.buyer_id = $1
	ORDER BY s.checked_at DESC, s.id DESC LIMIT 1)
WHERE p.buyer_id = $1 AND p.suspended = false AND p.ceiling >= $2 AND sc.value >= $3
	AND NOT EXISTS (SELECT 1 FROM sepa_collections c WHERE c.buyer_id = $1 AND c.status = 'retrying')
	AND (sc.checked_at > $4 OR (la.outcome = 'unavailable' AND la.checked_at > sc.checked_at AND sc.checked_at > $5))`

// reserveEligibleSQL is eligibleSQL and reserveSEPA's conditional upsert in one statement
// (PostgreSQL): the upsert inserts only the row the eligibility yields, and on a conflict adds
// the amount only while the sum stays within the ceiling stored at that instant and the buyer is
// not suspended (the row locked, the condition evaluated on its latest version). It returns the
// mandate when it reserved, no row when it did not.
var reserveEligibleSQL = `WITH e AS (` + eligibleSQL + `),
r AS (INSERT INTO sepa_outstanding (buyer_id, month, outstanding)
	SELECT $1::text, $6::text, $2::bigint FROM e
	` + reserveWithinCeilingSQL + `
	RETURNING 1)
SELECT e.mandate_id FROM e, r`

// reserveWithinCeilingSQL is the conflict clause of a reservation's upsert into
// sepa_outstanding (reserveEligibleSQL's, the one-trip payment's): on a conflict the amount is
// added only while the sum stays within the ceiling stored at that instant and the buyer is not
// suspended.
const reserveWithinCeilingSQL = `ON CONFLICT (buyer_id, month) DO UPDATE SET outstanding = sepa_outstanding.outstanding + excluded.outstanding
	WHERE sepa_outstanding.outstanding + excluded.outstanding <=
		(SELECT p2.ceiling FROM sepa_profiles p2 WHERE p2.buyer_id = excluded.buyer_id AND p2.suspended = false)`

// ReserveEligible implements sepa.Tx: reserveEligibleSQL on PostgreSQL; on SQLite, whose
// write transactions run one at a time, eligibleSQL then reserveSEPA's statement.
func (u sepaUnit) ReserveEligible(ctx context.Context, buyerID, month string, amount int64, rule sepa.ScoreRule) (string, error) {
	if amount <= 0 {
		return "", sepa.ErrInvalidAmount
	}
	g := u.g
	fresh, grace := utc(rule.FreshAfter), utc(rule.GraceAfter)
	var mandateID string
	if isPostgres(g) {
		err := conn(g).QueryRowContext(ctx, reserveEligibleSQL, buyerID, amount, rule.Minimum, fresh, grace, month).Scan(&mandateID)
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil
		}
		return mandateID, translate(g, err)
	}
	var ceiling int64
	err := conn(g).QueryRowContext(ctx, sqlFor(g, eligibleSQL), buyerID, amount, rule.Minimum, fresh, grace).Scan(&mandateID, &ceiling)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", translate(g, err)
	}
	ok, err := tryReserve(g.WithContext(ctx), buyerID, month, amount, ceiling)
	if !ok || err != nil {
		return "", err
	}
	return mandateID, nil
}

// Reserve implements sepa.Tx with reserveSEPA's one conditional statement.
func (u sepaUnit) Reserve(ctx context.Context, buyerID, month string, amount, ceiling int64) (sepa.Reservation, error) {
	return reserve(u.g.WithContext(ctx), buyerID, month, amount, ceiling)
}
