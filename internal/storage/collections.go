package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/vhupay/vhupay/internal/balances"
	"github.com/vhupay/vhupay/internal/collections"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/sepa"
	"github.com/vhupay/vhupay/internal/txn"
)

type collectionRow struct {
	ID               string
	BuyerID          string
	Month            string
	Amount           int64
	Currency         string
	Status           string
	FailureCode      string
	MandateID        string
	ProviderPayinID  *string `gorm:"column:provider_payin_id"`
	CreatedAt        time.Time
	UpdatedAt        time.Time
	SubmittedAt      *time.Time
	SettledAt        *time.Time
	PolledAt         *time.Time
	DueDate          *string
	PrenotifiedAt    *time.Time
	MandateReference string
	CreditorID       string
	Attempts         int
	RetryAt          *time.Time
	FirstPayinID     string `gorm:"column:first_payin_id"`
	RecoveredBy      string
}

func (collectionRow) TableName() string { return "sepa_collections" }

// Collections implements collections.Store.
type Collections struct {
	db      *gorm.DB
	dialect string
	owner   *DB // for the units of work that post the settlements' ledger transactions
}

var _ collections.Store = Collections{}

// NewCollections returns the SEPA collections store.
func NewCollections(db *DB) Collections {
	return Collections{db: db.gorm, dialect: db.dialect, owner: db}
}

// collectionIDTail is the SQL expression completing a collection id created by a grouped
// statement (buyer names the row's buyer id column): 8 hex digits of the row's rank in buyer
// order, then 11 random ones. A month's collections then sort as their buyers do, so each batch
// of the close (taken in id order) reads the per-buyer rows (accounts, mandates, payers, the
// provider's users and wallets) of neighbouring buyers: buyer ids are time-ordered, and those
// rows are written when the buyer is enrolled, so a batch reads a few pages of each table and of
// each index rather than one per buyer (issue #15 goal 4: with random ids the cost per payment
// grew with the month's size).
func (s Collections) collectionIDTail(buyer string) string {
	if s.dialect == Postgres {
		return "lpad(to_hex(row_number() OVER (ORDER BY " + buyer + ")), 8, '0') || substr(md5(random()::text || clock_timestamp()::text || " + buyer + "), 1, 11)"
	}
	return "printf('%08x', row_number() OVER (ORDER BY " + buyer + ")) || substr(lower(hex(randomblob(6))), 1, 11)"
}

// collectionIDPrefix returns "col_" and the first 13 hex digits of a new UUIDv7 (its
// millisecond timestamp and version): the statement that creates a month's collections
// completes each id (collectionIDTail), so ids keep sorting by creation across statements.
func collectionIDPrefix() string {
	u := strings.ReplaceAll(uuid.Must(uuid.NewV7()).String(), "-", "")
	return id.Collection + "_" + u[:13]
}

// toCollectSQL selects, as i, the scheduled sepa_debit intents of a month (the parameter) that
// no collection took yet and that are not refunded in full.
const toCollectSQL = `FROM payment_intents i
	WHERE i.method = 'sepa_debit' AND i.status = 'scheduled' AND i.collection_month = ? AND i.amount_refunded < i.amount
	AND NOT EXISTS (SELECT 1 FROM sepa_collection_intents l WHERE l.intent_id = i.id)`

// CreateMonth implements collections.Store: one pending collection per buyer with intents to
// collect in month, debiting them less what was refunded of them, and a link from the collection
// to each (sepa_collection_intents), in one transaction. A buyer's existing pending collection of
// the month (a close resumed after a payment became collectable again) takes the new intents
// and their amount; a collection in any other status keeps them out (they are then stranded,
// see monthclose.Stranded).
//
// On PostgreSQL it is one statement, which share-locks the intents it reads (FOR SHARE): a
// refund racing it either lowered an intent before (the lock waits for the refund's commit and
// reads the intent again, with what it lowered) or locks the intent after it and finds it linked
// (refunds.Tx.LowerScheduled), so it is refunded after the collection. Writing a link row costs
// a fraction of what updating each intent cost (issue #15 goal 4). SQLite serialises its write
// transactions, so there it is three statements.
func (s Collections) CreateMonth(ctx context.Context, month string, at time.Time) (int, error) {
	err := inTx(ctx, s.db, func(tx *gorm.DB) error {
		if s.dialect == Postgres {
			// Its hash of the month's buyers and its sort of the links stay in memory (at the
			// default 4 MB they spill to disk at a million payments).
			if err := tx.Exec(`SET LOCAL work_mem = '64MB'`).Error; err != nil {
				return err
			}
			err := tx.Exec(`WITH locked AS MATERIALIZED (
					SELECT i.id, i.buyer_id, i.amount - i.amount_refunded AS due `+toCollectSQL+`
					FOR SHARE OF i),
				sums AS MATERIALIZED (SELECT buyer_id, SUM(due) AS due FROM locked GROUP BY buyer_id),
				created AS (
					INSERT INTO sepa_collections (id, buyer_id, month, amount, currency, status, created_at, updated_at)
					SELECT CAST(? AS text) || `+s.collectionIDTail("sums.buyer_id")+`, sums.buyer_id, CAST(? AS text), sums.due, CAST(? AS text), 'pending', ?, ?
					FROM sums
					ON CONFLICT (buyer_id, month) DO NOTHING
					RETURNING id, buyer_id),
				grown AS (
					UPDATE sepa_collections c SET amount = c.amount + sums.due, updated_at = ?
					FROM sums WHERE c.buyer_id = sums.buyer_id AND c.month = ? AND c.status = 'pending'
					RETURNING c.id, c.buyer_id)
				INSERT INTO sepa_collection_intents (collection_id, intent_id)
				SELECT t.id, locked.id FROM locked JOIN (SELECT id, buyer_id FROM created UNION ALL SELECT id, buyer_id FROM grown) AS t
					ON t.buyer_id = locked.buyer_id
				ORDER BY t.id, locked.id`,
				month, collectionIDPrefix(), month, collections.Currency, utc(at), utc(at), utc(at), month).Error
			if err != nil {
				return err
			}
			// The links are written in collection order: the steps that follow read the links of
			// a batch of collections in id order (their events), a few pages of the table rather
			// than a page per link (the intents come in payment order).
			//
			// The month's collections and links were all just inserted: without fresh statistics
			// the statements that follow (the pre-notifications, the submissions, the events'
			// reads of the links) are planned as if the tables held none (ANALYZE counts this
			// transaction's own rows).
			return tx.Exec(`ANALYZE sepa_collections, sepa_collection_intents`).Error
		}
		err := tx.Exec(`UPDATE sepa_collections SET updated_at = ?,
				amount = amount + (SELECT COALESCE(SUM(i.amount - i.amount_refunded), 0) `+toCollectSQL+` AND i.buyer_id = sepa_collections.buyer_id)
			WHERE month = ? AND status = 'pending' AND EXISTS (SELECT 1 `+toCollectSQL+` AND i.buyer_id = sepa_collections.buyer_id)`,
			utc(at), month, month, month).Error
		if err != nil {
			return err
		}
		err = tx.Exec(`INSERT INTO sepa_collections (id, buyer_id, month, amount, currency, status, created_at, updated_at)
			SELECT CAST(? AS text) || `+s.collectionIDTail("i.buyer_id")+`, i.buyer_id, CAST(? AS text), SUM(i.amount - i.amount_refunded), CAST(? AS text), 'pending', ?, ?
			`+toCollectSQL+`
			GROUP BY i.buyer_id
			ON CONFLICT (buyer_id, month) DO NOTHING`,
			collectionIDPrefix(), month, collections.Currency, utc(at), utc(at), month).Error
		if err != nil {
			return err
		}
		const pending = `FROM sepa_collections c WHERE c.buyer_id = i.buyer_id AND c.month = i.collection_month AND c.status = 'pending'`
		return tx.Exec(`INSERT INTO sepa_collection_intents (collection_id, intent_id)
			SELECT (SELECT c.id `+pending+`), i.id `+toCollectSQL+` AND EXISTS (SELECT 1 `+pending+`)`,
			month).Error
	})
	if err != nil {
		return 0, err
	}
	return s.CountMonth(ctx, month)
}

// CountMonth implements collections.Store.
func (s Collections) CountMonth(ctx context.Context, month string) (int, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&collectionRow{}).Where("month = ?", month).Count(&n).Error
	return int(n), err
}

// CountPending implements collections.Store.
func (s Collections) CountPending(ctx context.Context, month string) (int, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&collectionRow{}).Where("month = ? AND status = ?", month, string(collections.StatusPending)).Count(&n).Error
	return int(n), err
}

type submissionRow struct {
	ID                string
	BuyerID           string
	Month             string
	Amount            int64
	Currency          string
	CreatedAt         time.Time
	DefaultMandateID  *string
	ProviderMandateID *string
	PayerUserID       *string
	PayerWalletID     *string
	Attempts          int
}

// PendingSubmissions implements collections.Store in one query: the default account's newest
// usable mandate and the payer are joined to each collection.
func (s Collections) PendingSubmissions(ctx context.Context, month, after string, limit int) ([]collections.Submission, error) {
	var rows []submissionRow
	// The batch's collections are picked first (the index on month, status, id, up to limit),
	// then their mandates and payers: joined before the LIMIT, PostgreSQL looked up the mandate
	// of every pending collection of the month for each batch (a cost per batch growing with the
	// month's size). The mandate and the payer are read by key per collection (LATERAL on
	// PostgreSQL: a plain join hashed every payer for each batch; scalar subqueries on SQLite,
	// which has no LATERAL).
	mandates := []string{string(sepa.MandateSubmitted), string(sepa.MandateActive)}
	q := `SELECT c.id, c.buyer_id, c.month, c.amount, c.currency, c.created_at,
			m.id AS default_mandate_id, m.provider_id AS provider_mandate_id, p.user_id AS payer_user_id, p.wallet_id AS payer_wallet_id
		FROM (SELECT c0.id, c0.buyer_id, c0.month, c0.amount, c0.currency, c0.created_at
			FROM sepa_collections c0
			WHERE c0.month = ? AND c0.status = 'pending' AND c0.prenotified_at IS NOT NULL AND c0.id > ?
			ORDER BY c0.id LIMIT ?) AS c
		LEFT JOIN LATERAL (SELECT m2.id, m2.provider_id FROM bank_accounts a JOIN mandates m2 ON m2.bank_account_id = a.id
			WHERE a.buyer_id = c.buyer_id AND a.is_default = ? AND a.status = 'active' AND m2.status IN ?
			ORDER BY m2.id DESC LIMIT 1) AS m ON true
		LEFT JOIN LATERAL (SELECT p0.user_id, p0.wallet_id FROM payers p0 WHERE p0.buyer_id = c.buyer_id) AS p ON true
		ORDER BY c.id`
	args := []any{month, after, limit, true, mandates}
	if s.dialect != Postgres {
		q = `SELECT c.id, c.buyer_id, c.month, c.amount, c.currency, c.created_at,
				m.id AS default_mandate_id, m.provider_id AS provider_mandate_id,
				(SELECT p.user_id FROM payers p WHERE p.buyer_id = c.buyer_id) AS payer_user_id,
				(SELECT p.wallet_id FROM payers p WHERE p.buyer_id = c.buyer_id) AS payer_wallet_id
			FROM (SELECT c0.id, c0.buyer_id, c0.month, c0.amount, c0.currency, c0.created_at,
					(SELECT m2.id FROM bank_accounts a JOIN mandates m2 ON m2.bank_account_id = a.id
						WHERE a.buyer_id = c0.buyer_id AND a.is_default = ? AND a.status = 'active' AND m2.status IN ?
						ORDER BY m2.id DESC LIMIT 1) AS mandate_id
				FROM sepa_collections c0
				WHERE c0.month = ? AND c0.status = 'pending' AND c0.prenotified_at IS NOT NULL AND c0.id > ?
				ORDER BY c0.id LIMIT ?) AS c
			LEFT JOIN mandates m ON m.id = c.mandate_id
			ORDER BY c.id`
		args = []any{true, mandates, month, after, limit}
	}
	if err := s.db.WithContext(ctx).Raw(q, args...).Scan(&rows).Error; err != nil {
		return nil, err
	}
	return toSubmissions(rows, collections.StatusPending), nil
}

func toSubmissions(rows []submissionRow, status collections.Status) []collections.Submission {
	out := make([]collections.Submission, len(rows))
	for i, r := range rows {
		out[i] = collections.Submission{
			Collection: collections.Collection{ID: r.ID, BuyerID: r.BuyerID, Month: r.Month, Amount: r.Amount, Currency: r.Currency,
				Status: status, Attempts: r.Attempts, PaymentIntentIDs: []string{}, CreatedAt: r.CreatedAt.UTC()},
			MandateID: deref(r.DefaultMandateID), ProviderMandateID: deref(r.ProviderMandateID),
			PayerUserID: deref(r.PayerUserID), PayerWalletID: deref(r.PayerWalletID)}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// MarkSubmitted implements collections.Store.
// In the same unit of work it emits sepa_collection.submitted.
func (s Collections) MarkSubmitted(ctx context.Context, id, providerPayInID, mandateID string, at time.Time) (bool, error) {
	applied := false
	err := s.owner.inUnit(ctx, func(u *unit) error {
		res := u.g.WithContext(ctx).Model(&collectionRow{}).Where("id = ? AND status IN ?", id, collections.Sources(collections.StatusSubmitted)).
			Where("status = ?", collections.StatusPending).
			UpdateColumns(map[string]any{"status": string(collections.StatusSubmitted), "provider_payin_id": providerPayInID,
				"mandate_id": mandateID, "submitted_at": utc(at), "updated_at": utc(at), "attempts": 1})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		applied = true
		return u.emitCollection(ctx, "sepa_collection.submitted", id, at)
	})
	return applied, err
}

// Prenotify implements collections.Store: one unit of work for the batch, one UPDATE …
// RETURNING of its collections, their events set-based.
func (s Collections) Prenotify(ctx context.Context, month, after string, n collections.Prenotice, limit int) (int, string, error) {
	done, last := 0, ""
	err := s.owner.inUnit(ctx, func(u *unit) error {
		done, last = 0, ""
		tx := u.g.WithContext(ctx)
		due := n.DueDate.UTC().Format(time.DateOnly)
		// The batch's ids first: as a subquery of the UPDATE, PostgreSQL plans it on the
		// statistics of a table whose collections were all just created (a nested loop over
		// every pending collection per row).
		// The status is written in the statement: as a parameter, a cached generic plan cannot
		// use the partial index of the collections to pre-notify, and reads the month's
		// pre-notified collections again for every batch.
		// The batch starts after the last one: the entries of the collections pre-notified
		// before stay in that index until a vacuum, and a batch read from the month's first id
		// stepped over all of them (at a million payments, 87,000 buffers per batch of 1,000
		// against 9,000 at 100,000: a cost per batch growing with the month's size).
		var batch []string
		if err := tx.Model(&collectionRow{}).Where("month = ? AND status = 'pending' AND prenotified_at IS NULL AND id > ?", month, after).
			Order("id").Limit(limit).Pluck("id", &batch).Error; err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		last = batch[len(batch)-1]
		// The collections as updated come back for their events (RETURNING *).
		var rows []collectionRow
		err := tx.Raw(`UPDATE sepa_collections SET due_date = ?, prenotified_at = ?, creditor_id = ?, updated_at = ?,
				mandate_reference = COALESCE((SELECT m.reference FROM bank_accounts a JOIN mandates m ON m.bank_account_id = a.id
					WHERE a.buyer_id = sepa_collections.buyer_id AND a.is_default = ? AND a.status = 'active' AND m.status IN ?
					ORDER BY m.id DESC LIMIT 1), '')
			WHERE id IN ? AND status = 'pending' AND prenotified_at IS NULL
			RETURNING *`,
			due, utc(n.At), n.CreditorID, utc(n.At), true, []string{string(sepa.MandateSubmitted), string(sepa.MandateActive)},
			batch).Scan(&rows).Error
		if err != nil {
			return err
		}
		done = len(rows)
		return u.emitCollections(ctx, "sepa_collection.prenotified", rows, n.At)
	})
	if err != nil {
		return 0, "", err
	}
	return done, last, nil
}

// Retry implements collections.Store.
func (s Collections) Retry(ctx context.Context, id string, retryAt, at time.Time) (bool, error) {
	applied := false
	err := s.owner.inUnit(ctx, func(u *unit) error {
		var buyerID string
		if err := u.g.WithContext(ctx).Model(&collectionRow{}).Where("id = ?", id).Pluck("buyer_id", &buyerID).Error; err != nil {
			return err
		}
		return u.withSEPAEvents(ctx, buyerID, at, func() error {
			res := u.g.WithContext(ctx).Model(&collectionRow{}).
				Where("id = ? AND status IN ? AND attempts < ?", id, collections.Sources(collections.StatusRetrying), collections.MaxAttempts).
				UpdateColumns(map[string]any{"status": string(collections.StatusRetrying), "retry_at": utc(retryAt), "updated_at": utc(at)})
			if res.Error != nil || res.RowsAffected == 0 {
				return res.Error
			}
			applied = true
			return u.emitCollection(ctx, "sepa_collection.retrying", id, at)
		})
	})
	return applied, err
}

// DueRetries implements collections.Store.
func (s Collections) DueRetries(ctx context.Context, now time.Time, limit int) ([]collections.Submission, error) {
	var rows []submissionRow
	err := s.db.WithContext(ctx).Raw(`SELECT c.id, c.buyer_id, c.month, c.amount, c.currency, c.created_at, c.attempts,
			m.id AS default_mandate_id, m.provider_id AS provider_mandate_id,
			p.user_id AS payer_user_id, p.wallet_id AS payer_wallet_id
		FROM sepa_collections c
		LEFT JOIN mandates m ON m.id = (SELECT m2.id FROM bank_accounts a JOIN mandates m2 ON m2.bank_account_id = a.id
			WHERE a.buyer_id = c.buyer_id AND a.is_default = ? AND a.status = 'active' AND m2.status IN ?
			ORDER BY m2.id DESC LIMIT 1)
		LEFT JOIN payers p ON p.buyer_id = c.buyer_id
		WHERE c.status = 'retrying' AND c.retry_at <= ?
		ORDER BY c.retry_at, c.id LIMIT ?`,
		true, []string{string(sepa.MandateSubmitted), string(sepa.MandateActive)}, utc(now), limit).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	return toSubmissions(rows, collections.StatusRetrying), nil
}

// MarkResubmitted implements collections.Store; the buyer's SEPA comes back in the same unit
// (sepa.enabled) unless something else holds it.
func (s Collections) MarkResubmitted(ctx context.Context, id, providerPayInID, mandateID string, at time.Time) (bool, error) {
	applied := false
	err := s.owner.inUnit(ctx, func(u *unit) error {
		tx := u.g.WithContext(ctx)
		var row collectionRow
		if err := tx.Where("id = ?", id).Take(&row).Error; err != nil {
			if isNotFound(err) {
				return collections.ErrNotFound
			}
			return err
		}
		if row.Status != string(collections.StatusRetrying) {
			return nil
		}
		return u.withSEPAEvents(ctx, row.BuyerID, at, func() error {
			res := tx.Model(&collectionRow{}).Where("id = ? AND status = ?", id, collections.StatusRetrying).
				UpdateColumns(map[string]any{"status": string(collections.StatusSubmitted), "first_payin_id": deref(row.ProviderPayinID),
					"provider_payin_id": providerPayInID, "mandate_id": mandateID, "submitted_at": utc(at), "updated_at": utc(at),
					"attempts": row.Attempts + 1, "polled_at": nil})
			if res.Error != nil || res.RowsAffected == 0 {
				return res.Error
			}
			applied = true
			return u.emitCollection(ctx, "sepa_collection.submitted", id, at)
		})
	})
	return applied, err
}

// emitCollection emits a sepa_collection.* event with the collection as its GET answers it after
// the unit's writes (the buyer's alone: a collection is the buyer's).
func (u *unit) emitCollection(ctx context.Context, typ, id string, at time.Time) error {
	c, err := Collections{db: u.g, dialect: u.db.dialect, owner: u.db}.Collection(ctx, id)
	if err != nil {
		return err
	}
	return u.Emit(ctx, txn.Event{Type: typ, BuyerID: c.BuyerID, Object: c, At: at})
}

// settleIntents sets the collection's scheduled intents to status (with the other columns of
// set) in one statement and emits their payment_intent.<status> events.
func (u *unit) settleIntents(ctx context.Context, collectionID string, status payments.Status, set map[string]any, at time.Time) error {
	set["status"], set["updated_at"] = string(status), utc(at)
	ids, err := updateReturning(u.g.WithContext(ctx), "payment_intents", set,
		"id IN (SELECT l.intent_id FROM sepa_collection_intents l WHERE l.collection_id = ?) AND status = ?",
		collectionID, string(payments.StatusScheduled))
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := u.emitIntent(ctx, id, at); err != nil {
			return err
		}
	}
	return nil
}

// Succeed implements collections.Store.
func (s Collections) Succeed(ctx context.Context, id string, at time.Time) (bool, error) {
	applied := false
	err := s.owner.inUnit(ctx, func(u *unit) error {
		tx := u.g.WithContext(ctx)
		res := tx.Model(&collectionRow{}).Where("id = ? AND status IN ?", id, collections.Sources(collections.StatusSucceeded)).
			UpdateColumns(map[string]any{"status": string(collections.StatusSucceeded), "settled_at": utc(at), "updated_at": utc(at)})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		applied = true
		var row collectionRow
		if err := tx.Where("id = ?", id).Take(&row).Error; err != nil {
			return err
		}
		earned, err := collectionEarnings(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := u.settleIntents(ctx, id, payments.StatusSucceeded, map[string]any{}, at); err != nil {
			return err
		}
		if err := postCollectionSettled(ctx, u, row, earned, string(collections.StatusSucceeded), row.Status, at); err != nil {
			return err
		}
		activated := tx.Exec(`UPDATE mandates SET status = ?, updated_at = ?
			WHERE id = (SELECT c.mandate_id FROM sepa_collections c WHERE c.id = ?) AND status = ?`,
			sepa.MandateActive, utc(at), id, sepa.MandateSubmitted)
		if activated.Error != nil {
			return activated.Error
		}
		if activated.RowsAffected == 1 {
			m, err := SEPA{db: u.g, root: u.db}.mandateWhere(tx, "id = (SELECT c.mandate_id FROM sepa_collections c WHERE c.id = ?)", id)
			if err != nil {
				return err
			}
			if err := emitMandate(ctx, u, m, at); err != nil {
				return err
			}
		}
		return u.emitCollection(ctx, "sepa_collection.succeeded", id, at)
	})
	return applied, err
}

type unpaidDebitRow struct {
	CollectionID string
	BuyerID      string
	Amount       int64
	FailureCode  string
	AfterSuccess bool
	Reference    string
	OccurredAt   time.Time
}

func (unpaidDebitRow) TableName() string { return "sepa_unpaid_debits" }

// Fail implements collections.Store.
func (s Collections) Fail(ctx context.Context, f collections.Failure) (bool, error) {
	applied := false
	err := s.owner.inUnit(ctx, func(u *unit) error {
		tx := u.g.WithContext(ctx)
		var buyers []string
		if err := tx.Model(&collectionRow{}).Where("id = ?", f.CollectionID).Pluck("buyer_id", &buyers).Error; err != nil {
			return err
		}
		if len(buyers) == 0 {
			return collections.ErrNotFound
		}
		// The suspension disables the buyer's SEPA: sepa.disabled in the same unit.
		return u.withSEPAEvents(ctx, buyers[0], f.At, func() error { return s.fail(ctx, u, f, &applied) })
	})
	return applied, err
}

func (s Collections) fail(ctx context.Context, u *unit, f collections.Failure, applied *bool) error {
	tx := u.g.WithContext(ctx)
	var row collectionRow
	// The status is read, then changed conditionally on it; a concurrent change between the
	// two (PostgreSQL) makes the update miss, and the decision is taken again.
	for range 3 {
		if err := tx.Where("id = ?", f.CollectionID).Take(&row).Error; err != nil {
			if isNotFound(err) {
				return collections.ErrNotFound
			}
			return err
		}
		if !collections.Status(row.Status).CanBecome(collections.StatusFailed) {
			return nil
		}
		res := tx.Model(&collectionRow{}).Where("id = ? AND status = ?", row.ID, row.Status).
			UpdateColumns(map[string]any{"status": string(collections.StatusFailed), "failure_code": string(f.Code),
				"settled_at": utc(f.At), "updated_at": utc(f.At)})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			*applied = true
			break
		}
	}
	if !*applied {
		return nil
	}
	afterSuccess := row.Status == string(collections.StatusSucceeded)
	var earned []balances.Earning
	if !afterSuccess {
		var err error
		if earned, err = collectionEarnings(ctx, tx, row.ID); err != nil {
			return err
		}
	}
	if err := postCollectionSettled(ctx, u, row, earned, string(collections.StatusFailed), row.Status, f.At); err != nil {
		return err
	}
	if !afterSuccess {
		// Intents that succeeded stay succeeded: an intent's final status never changes.
		if err := u.settleIntents(ctx, row.ID, payments.StatusFailed,
			map[string]any{"last_error_code": string(f.Code), "last_error_message": f.Message}, f.At); err != nil {
			return err
		}
	}
	if err := tx.Exec(`INSERT INTO sepa_unpaid_debits (collection_id, buyer_id, amount, failure_code, after_success, reference, occurred_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (collection_id) DO NOTHING`,
		row.ID, row.BuyerID, row.Amount, string(f.Code), afterSuccess, f.Reference, utc(f.At)).Error; err != nil {
		return err
	}
	// As sepa.Store.Suspend: a suspended buyer keeps its first suspension.
	if err := tx.Model(&sepaProfileRow{}).Where("buyer_id = ? AND suspended = ?", row.BuyerID, false).
		UpdateColumns(map[string]any{"suspended": true, "suspended_reason": f.SuspendReason, "suspended_at": utc(f.At),
			"updated_at": utc(f.At)}).Error; err != nil {
		return err
	}
	return u.emitCollection(ctx, "sepa_collection.failed", row.ID, f.At)
}

// Collection implements collections.Store.
func (s Collections) Collection(ctx context.Context, id string) (collections.Collection, error) {
	return s.collectionWhere(ctx, "id = ?", id)
}

// CollectionByPayIn implements collections.Store.
func (s Collections) CollectionByPayIn(ctx context.Context, providerPayInID string) (collections.Collection, error) {
	if providerPayInID == "" {
		return collections.Collection{}, collections.ErrNotFound
	}
	return s.collectionWhere(ctx, "provider_payin_id = ?", providerPayInID)
}

func (s Collections) collectionWhere(ctx context.Context, cond string, arg any) (collections.Collection, error) {
	var row collectionRow
	if err := s.db.WithContext(ctx).Where(cond, arg).Take(&row).Error; err != nil {
		if isNotFound(err) {
			return collections.Collection{}, collections.ErrNotFound
		}
		return collections.Collection{}, err
	}
	intents, err := s.intentsOf(ctx, []string{row.ID})
	if err != nil {
		return collections.Collection{}, err
	}
	return toCollection(row, intents[row.ID]), nil
}

// intentsOf returns the ids of each collection's intents, in id order.
func (s Collections) intentsOf(ctx context.Context, ids []string) (map[string][]string, error) {
	out := make(map[string][]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID           string
		CollectionID string
	}
	err := s.db.WithContext(ctx).Table("sepa_collection_intents").Select("intent_id AS id, collection_id").
		Where("collection_id IN ?", ids).Order("collection_id, intent_id").Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.CollectionID] = append(out[r.CollectionID], r.ID)
	}
	return out, nil
}

// Collections implements collections.Store.
func (s Collections) Collections(ctx context.Context, buyerID string, p page.Request) (page.Page[collections.Collection], error) {
	var rows []collectionRow
	if err := keyset(s.db.WithContext(ctx).Where("buyer_id = ?", buyerID), p, "id").Find(&rows).Error; err != nil {
		return page.Page[collections.Collection]{}, err
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	intents, err := s.intentsOf(ctx, ids)
	if err != nil {
		return page.Page[collections.Collection]{}, err
	}
	out := make([]collections.Collection, len(rows))
	for i, r := range rows {
		out[i] = toCollection(r, intents[r.ID])
	}
	return page.Build(out, p.Limit, func(c collections.Collection) string { return c.ID }), nil
}

// DueForPolling implements collections.Store.
func (s Collections) DueForPolling(ctx context.Context, submittedBefore, polledBefore time.Time, limit int) ([]collections.Collection, error) {
	var rows []collectionRow
	err := s.db.WithContext(ctx).Where("status = ? AND submitted_at < ? AND (polled_at IS NULL OR polled_at < ?)",
		collections.StatusSubmitted, utc(submittedBefore), utc(polledBefore)).
		Order("COALESCE(polled_at, submitted_at), id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]collections.Collection, len(rows))
	for i, r := range rows {
		out[i] = toCollection(r, nil)
	}
	return out, nil
}

// MarkPolled implements collections.Store.
func (s Collections) MarkPolled(ctx context.Context, id string, at time.Time) error {
	return s.db.WithContext(ctx).Model(&collectionRow{}).Where("id = ?", id).UpdateColumn("polled_at", utc(at)).Error
}

// sepaBuyers selects the buyers that use SEPA: their probation started (a mandate was signed).
const sepaBuyers = `SELECT p.buyer_id FROM sepa_profiles p WHERE p.probation_start IS NOT NULL`

// SEPABuyers implements collections.Store.
func (s Collections) SEPABuyers(ctx context.Context, since time.Time, after string, limit int) ([]string, error) {
	q := sepaBuyers + ` AND p.buyer_id > ?`
	args := []any{after}
	if !since.IsZero() {
		q += ` AND NOT EXISTS (SELECT 1 FROM score_checks s WHERE s.buyer_id = p.buyer_id AND s.checked_at >= ?)`
		args = append(args, utc(since))
	}
	var ids []string
	err := s.db.WithContext(ctx).Raw(q+` ORDER BY p.buyer_id LIMIT ?`, append(args, limit)...).Scan(&ids).Error
	return ids, err
}

// CountScored implements collections.Store.
func (s Collections) CountScored(ctx context.Context, since time.Time) (int, error) {
	var n int64
	err := s.db.WithContext(ctx).Raw(`SELECT COUNT(*) FROM (`+sepaBuyers+`
		AND EXISTS (SELECT 1 FROM score_checks s WHERE s.buyer_id = p.buyer_id AND s.checked_at >= ?)) AS scored`, utc(since)).
		Scan(&n).Error
	return int(n), err
}

// BuyersToReview implements collections.Store.
func (s Collections) BuyersToReview(ctx context.Context, month, after string, limit int) ([]string, error) {
	var ids []string
	err := s.db.WithContext(ctx).Raw(sepaBuyers+` AND p.buyer_id > ?
		AND NOT EXISTS (SELECT 1 FROM sepa_ceiling_reviews r WHERE r.buyer_id = p.buyer_id AND r.month = ?)
		ORDER BY p.buyer_id LIMIT ?`, after, month, limit).Scan(&ids).Error
	return ids, err
}

// Histories implements collections.Store with two set-based reads.
func (s Collections) Histories(ctx context.Context, buyerIDs, months []string, unpaidSince time.Time) (map[string]collections.History, error) {
	out := make(map[string]collections.History, len(buyerIDs))
	for _, b := range buyerIDs {
		out[b] = collections.History{Totals: map[string]int64{}}
	}
	if len(buyerIDs) == 0 {
		return out, nil
	}
	var totals []struct {
		BuyerID string
		Month   string
		Amount  int64
	}
	q := s.db.WithContext(ctx)
	if err := q.Model(&collectionRow{}).Select("buyer_id, month, amount").
		Where("buyer_id IN ? AND month IN ?", buyerIDs, months).Scan(&totals).Error; err != nil {
		return nil, err
	}
	for _, t := range totals {
		out[t.BuyerID].Totals[t.Month] += t.Amount
	}
	var unpaid []string
	if err := q.Model(&unpaidDebitRow{}).Distinct("buyer_id").
		Where("buyer_id IN ? AND occurred_at >= ?", buyerIDs, utc(unpaidSince)).Pluck("buyer_id", &unpaid).Error; err != nil {
		return nil, err
	}
	for _, b := range unpaid {
		h := out[b]
		h.Unpaid = true
		out[b] = h
	}
	return out, nil
}

// RecordReview implements collections.Store.
func (s Collections) RecordReview(ctx context.Context, r collections.Review) (bool, error) {
	recorded := false
	// A raise emits sepa.ceiling_changed in the same unit.
	err := s.owner.inUnit(ctx, func(u *unit) error {
		return u.withSEPAEvents(ctx, r.BuyerID, r.At, func() error { return s.recordReview(u.g.WithContext(ctx), r, &recorded) })
	})
	if err != nil {
		return false, err
	}
	return recorded, nil
}

func (s Collections) recordReview(tx *gorm.DB, r collections.Review, recorded *bool) error {
	res := tx.Exec(`INSERT INTO sepa_ceiling_reviews (buyer_id, month, from_amount, to_amount, reviewed_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (buyer_id, month) DO NOTHING`, r.BuyerID, r.Month, r.From, r.To, utc(r.At))
	if res.Error != nil || res.RowsAffected == 0 {
		return res.Error
	}
	*recorded = true
	if r.To == r.From {
		return nil
	}
	res = tx.Model(&sepaProfileRow{}).Where("buyer_id = ? AND ceiling = ? AND suspended = ?", r.BuyerID, r.From, false).
		UpdateColumns(map[string]any{"ceiling": r.To, "updated_at": utc(r.At)})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return collections.ErrCeilingMoved
	}
	return addCeilingChange(tx, r.BuyerID, r.From, r.To, sepa.CeilingChangeMonthlyReview, r.Note, r.At)
}

// CountReviews implements collections.Store.
func (s Collections) CountReviews(ctx context.Context, month string) (int, error) {
	var n int64
	err := s.db.WithContext(ctx).Table("sepa_ceiling_reviews").Where("month = ?", month).Count(&n).Error
	return int(n), err
}

func toCollection(r collectionRow, intents []string) collections.Collection {
	if intents == nil {
		intents = []string{}
	}
	return collections.Collection{
		ID: r.ID, BuyerID: r.BuyerID, Month: r.Month, Amount: r.Amount, Currency: r.Currency,
		Status: collections.Status(r.Status), FailureCode: collections.FailureCode(r.FailureCode), MandateID: r.MandateID,
		ProviderPayInID: deref(r.ProviderPayinID), PaymentIntentIDs: intents, CreatedAt: r.CreatedAt.UTC(),
		SubmittedAt: derefTime(r.SubmittedAt), SettledAt: derefTime(r.SettledAt),
		PrenotifiedAt: derefTime(r.PrenotifiedAt), MandateReference: r.MandateReference, CreditorID: r.CreditorID,
		Attempts: r.Attempts, RetryAt: derefTime(r.RetryAt), RecoveredBy: r.RecoveredBy, DueDate: parseDate(r.DueDate),
	}
}

// parseDate reads a stored "YYYY-MM-DD" as midnight UTC; zero for NULL.
func parseDate(s *string) time.Time {
	if s == nil {
		return time.Time{}
	}
	d, err := time.Parse(time.DateOnly, *s)
	if err != nil {
		return time.Time{}
	}
	return d
}

// Lines implements collections.Store.
func (s Collections) Lines(ctx context.Context, id string) ([]collections.Line, error) {
	var rows []struct {
		ID        string
		OrderID   *string
		CreatedAt time.Time
		Amount    int64
	}
	err := s.db.WithContext(ctx).Raw(`SELECT i.id, i.order_id, i.created_at, i.amount
		FROM sepa_collection_intents l JOIN payment_intents i ON i.id = l.intent_id
		WHERE l.collection_id = ? ORDER BY i.id`, id).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]collections.Line, len(rows))
	for i, r := range rows {
		out[i] = collections.Line{PaymentIntentID: r.ID, OrderID: deref(r.OrderID), At: r.CreatedAt.UTC(), Amount: r.Amount}
	}
	return out, nil
}

// MarkSubmittedMany implements collections.Store: one UPDATE … FROM (VALUES …) per chunk of
// 1,000, then the sepa_collection.submitted events, set-based, in the same unit.
func (s Collections) MarkSubmittedMany(ctx context.Context, subs []collections.Submitted, at time.Time) ([]string, error) {
	var applied []string
	err := s.owner.inUnit(ctx, func(u *unit) error {
		applied = nil
		var updated []collectionRow
		tx := u.g.WithContext(ctx)
		err := chunk(subs, 1000, func(part []collections.Submitted) error {
			args := []any{string(collections.StatusSubmitted), utc(at), utc(at)}
			keys := make([]string, len(part))
			for i, p := range part {
				args = append(args, p.ID, p.ProviderPayInID, p.MandateID)
				keys[i] = p.ID
			}
			// The ids again as a list: the join alone is planned as a hash of every pending
			// collection of the month, once per chunk. The collections as updated come back for
			// their events (SQLite's RETURNING names no table).
			returning := "sepa_collections.*"
			if s.dialect != Postgres {
				returning = "*"
			}
			var rows []collectionRow
			err := tx.Raw(`UPDATE sepa_collections SET status = ?, provider_payin_id = v.column2, mandate_id = v.column3,
					submitted_at = ?, updated_at = ?, attempts = 1
				FROM (VALUES `+valuesRows(len(part), "text", "text", "text")+`) AS v
				WHERE sepa_collections.id = v.column1 AND sepa_collections.id IN ? AND sepa_collections.status = 'pending'
				RETURNING `+returning, append(args, keys)...).Scan(&rows).Error
			updated = append(updated, rows...)
			return err
		})
		if err != nil {
			return err
		}
		applied = make([]string, len(updated))
		for i, r := range updated {
			applied[i] = r.ID
		}
		slices.Sort(applied)
		return u.emitCollections(ctx, "sepa_collection.submitted", updated, at)
	})
	return applied, err
}

// RecordReviews implements collections.Store: one multi-row insert per chunk of 500.
func (s Collections) RecordReviews(ctx context.Context, rs []collections.Review) (int, error) {
	n := 0
	err := inTx(ctx, s.db, func(tx *gorm.DB) error {
		n = 0
		return chunk(rs, 500, func(part []collections.Review) error {
			var args []any
			for _, r := range part {
				if r.From != r.To {
					return fmt.Errorf("record reviews: the review of %s changes the ceiling (%d → %d)", r.BuyerID, r.From, r.To)
				}
				args = append(args, r.BuyerID, r.Month, r.From, r.To, utc(r.At))
			}
			res := tx.Exec(`INSERT INTO sepa_ceiling_reviews (buyer_id, month, from_amount, to_amount, reviewed_at)
				VALUES `+strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?), ", len(part)), ", ")+`
				ON CONFLICT (buyer_id, month) DO NOTHING`, args...)
			n += int(res.RowsAffected)
			return res.Error
		})
	})
	return n, err
}
