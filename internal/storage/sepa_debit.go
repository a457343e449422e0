package storage

import (
	"context"
	"time"

	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/sepa"
)

var _ sepa.DebitStore = SEPA{}

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
	la.outcome AS last_outcome, la.checked_at AS last_at
FROM (SELECT 1 AS one) AS one
LEFT JOIN sepa_profiles p ON p.buyer_id = @buyer
LEFT JOIN sepa_outstanding o ON o.buyer_id = @buyer AND o.month = @month
LEFT JOIN score_checks sc ON sc.id = (SELECT s.id FROM score_checks s WHERE s.buyer_id = @buyer AND s.outcome = 'scored'
	ORDER BY s.checked_at DESC, s.id DESC LIMIT 1)
LEFT JOIN score_checks la ON la.id = (SELECT s.id FROM score_checks s WHERE s.buyer_id = @buyer
	ORDER BY s.checked_at DESC, s.id DESC LIMIT 1)`

// DebitFacts implements sepa.DebitStore: the same facts as Facts, read inside tx in one round
// trip. A buyer without a profile gets a zero Profile (not suspended, ceiling 0).
func (s SEPA) DebitFacts(ctx context.Context, tx payments.Tx, buyerID, month string) (sepa.Facts, error) {
	g, err := JoinTx(tx)
	if err != nil {
		return sepa.Facts{}, err
	}
	var row debitFactsRow
	if err := g.WithContext(ctx).Raw(debitFactsSQL, map[string]any{"buyer": buyerID, "month": month, "yes": true}).
		Scan(&row).Error; err != nil {
		return sepa.Facts{}, err
	}
	f := sepa.Facts{Profile: sepa.Profile{BuyerID: buyerID}, HasBankAccount: row.HasBankAccount}
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

// Reserve implements sepa.DebitStore with reserveSEPA's one conditional statement.
func (s SEPA) Reserve(ctx context.Context, tx payments.Tx, buyerID, month string, amount, ceiling int64) (sepa.Reservation, error) {
	g, err := JoinTx(tx)
	if err != nil {
		return sepa.Reservation{}, err
	}
	return reserve(g.WithContext(ctx), buyerID, month, amount, ceiling)
}
