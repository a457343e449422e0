package storage

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/vhupay/vhupay/internal/detail"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/txn"
)

type intentRow struct {
	ID                   string
	OrderID              *string
	RecoversCollectionID *string
	BuyerID              string
	Amount               int64
	Currency             string
	Method               string
	Status               string
	NextActionURL        string `gorm:"column:next_action_url"`
	NextActionReturnURL  string `gorm:"column:next_action_return_url"`
	LastErrorCode        string
	LastErrorMessage     string
	CardID               *string
	MandateID            string
	CollectionMonth      string
	InvoicingAccountID   string
	ProviderPayinID      *string `gorm:"column:provider_payin_id"`
	ProviderRefundID     string
	AmountRefunded       int64
	RequestKey           *string
	CardReturnURL        string `gorm:"column:card_return_url"`
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

func (intentRow) TableName() string { return "payment_intents" }

type cardRow struct {
	ID         string
	BuyerID    string
	ProviderID string
	Alias      string
	Expiration string
	Brand      string
	Status     string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

func (cardRow) TableName() string { return "cards" }

type cardRegistrationRow struct {
	ID         string
	BuyerID    string
	ProviderID string
	Status     string
	CardID     *string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

func (cardRegistrationRow) TableName() string { return "card_registrations" }

// Payments implements payments.Store.
type Payments struct {
	db    *gorm.DB
	units txn.Runner[payments.Tx]
}

var _ payments.Store = Payments{}

// NewPayments returns the payment intents and cards store.
func NewPayments(db *DB) Payments { return Payments{db: db.gorm, units: db.PaymentUnits()} }

// InTx implements payments.IntentStore: a unit of work of payments (see DB.PaymentUnits).
func (s Payments) InTx(ctx context.Context, fn func(tx payments.Tx) error) error {
	return s.units.InTx(ctx, fn)
}

// ConfirmOrder implements payments.Tx.
func (t paymentsUnit) ConfirmOrder(ctx context.Context, orderID string, at time.Time) error {
	return t.pendingOrder(ctx, orderID, map[string]any{"status": string(orders.StatusConfirmed), "updated_at": utc(at)})
}

// HoldPayableOrder implements payments.Tx.
func (t paymentsUnit) HoldPayableOrder(ctx context.Context, orderID string, _ time.Time) error {
	return t.pendingOrder(ctx, orderID, map[string]any{"updated_at": gorm.Expr("updated_at")})
}

func (t paymentsUnit) pendingOrder(ctx context.Context, orderID string, set map[string]any) error {
	res := t.g.WithContext(ctx).Model(&orderRow{}).Where("id = ? AND status = ?", orderID, string(orders.StatusPaymentPending)).Updates(set)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		var status []string
		t.g.WithContext(ctx).Model(&orderRow{}).Where("id = ?", orderID).Pluck("status", &status)
		if len(status) == 1 {
			return detail.Wrap(fmt.Errorf("order %s: %w", orderID, orders.ErrNotPayable),
				"The order is %s, not payment_pending: it cannot be paid. Read it (GET /v1/orders/{id}) and show its status and payment.", status[0])
		}
		return fmt.Errorf("order %s: %w", orderID, orders.ErrNotPayable)
	}
	return nil
}

// CancelOpenIntents implements payments.Tx.
func (t paymentsUnit) CancelOpenIntents(ctx context.Context, orderID string, at time.Time) ([]string, error) {
	return cancelOpenIntents(t.g.WithContext(ctx), orderID, at)
}

// CurrentIntent implements payments.Tx: the intent as this unit wrote it.
func (t paymentsUnit) CurrentIntent(ctx context.Context, id string) (payments.Intent, error) {
	return Payments{db: t.g}.Intent(ctx, id)
}

// CurrentCard implements payments.Tx: the card as this unit wrote it.
func (t paymentsUnit) CurrentCard(ctx context.Context, id string) (payments.Card, error) {
	return Payments{db: t.g}.Card(ctx, id)
}

// CancelIntent implements payments.Tx.
func (t paymentsUnit) CancelIntent(ctx context.Context, id string, at time.Time) (bool, error) {
	return cancelIntent(t.g.WithContext(ctx), id, at)
}

// ExpireIntents implements payments.Tx: the stale intents are canceled in one statement; it
// returns the ids of those it canceled. The status is written in the statement, not a parameter:
// the open intents are read through payment_intents_one_open_per_order, a partial index
// (migration 00820), and PostgreSQL proves that a condition implies an index's predicate from a
// literal, never from a parameter of a generic plan.
func (t paymentsUnit) ExpireIntents(ctx context.Context, cutoff, at time.Time, message string) ([]string, error) {
	return updateReturning(t.g.WithContext(ctx), "payment_intents",
		map[string]any{"status": string(payments.StatusCanceled), "next_action_url": "", "next_action_return_url": "",
			"last_error_code": string(payments.CodeExpired), "last_error_message": message, "updated_at": utc(at)},
		"status = 'requires_action' AND created_at < ?", utc(cutoff))
}

// confirmUnchangedSQL confirms an order still at the version read (its xmin: a transaction that
// opened an intent meanwhile updated the row, hence changed it — PostgreSQL re-evaluates the
// condition on the latest version after waiting for a concurrent writer) and inserts the intent,
// in one statement.
const confirmUnchangedSQL = `WITH c AS (
	UPDATE orders SET status = 'confirmed', updated_at = $1
	WHERE id = $2 AND status = 'payment_pending' AND xmin::text = $3 RETURNING id)
INSERT INTO payment_intents (id, order_id, buyer_id, amount, currency, method, status, next_action_url,
	next_action_return_url, last_error_code, last_error_message, card_id, mandate_id, collection_month,
	invoicing_account_id, provider_payin_id, provider_refund_id, created_at, updated_at)
SELECT $4::text, c.id, $5::text, $6::bigint, $7::text, $8::text, $9::text, $10::text, $11::text, $12::text,
	$13::text, $14::text, $15::text, $16::text, $17::text, $18::text, '', $19::timestamptz, $20::timestamptz FROM c`

// ConfirmUnchanged implements payments.Tx: one statement on PostgreSQL; SQLite keeps no
// versions and always answers false (its write transactions run one at a time anyway).
func (t paymentsUnit) ConfirmUnchanged(ctx context.Context, pi payments.Intent, version string) (bool, error) {
	if version == "" || !isPostgres(t.g) {
		return false, nil
	}
	r := fromIntent(pi)
	res, err := conn(t.g).ExecContext(ctx, confirmUnchangedSQL, r.UpdatedAt, r.OrderID, version,
		r.ID, r.BuyerID, r.Amount, r.Currency, r.Method, r.Status, r.NextActionURL, r.NextActionReturnURL,
		r.LastErrorCode, r.LastErrorMessage, r.CardID, r.MandateID, r.CollectionMonth, r.InvoicingAccountID,
		r.ProviderPayinID, r.CreatedAt, r.UpdatedAt)
	if err != nil {
		if err := translate(t.g, err); isUnique(err) {
			return false, detail.Wrap(fmt.Errorf("order %s has a payment in flight: %w", pi.OrderID, orders.ErrNotPayable),
				"The order has a payment in progress: wait for its outcome (GET /v1/payment-intents/{id}), or cancel that payment intent first.")
		}
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// InsertIntent implements payments.Tx.
func (t paymentsUnit) InsertIntent(ctx context.Context, pi payments.Intent) error {
	row := fromIntent(pi)
	if err := t.g.WithContext(ctx).Create(&row).Error; err != nil {
		if isUnique(err) {
			return detail.Wrap(fmt.Errorf("order %s has a payment in flight: %w", pi.OrderID, orders.ErrNotPayable),
				"The order has a payment in progress: wait for its outcome (GET /v1/payment-intents/{id}), or cancel that payment intent first.")
		}
		return err
	}
	return nil
}

// UpdateIntent implements payments.Tx.
func (t paymentsUnit) UpdateIntent(ctx context.Context, pi payments.Intent, from ...payments.Status) (bool, error) {
	statuses := make([]string, len(from))
	for i, s := range from {
		statuses[i] = string(s)
	}
	row := fromIntent(pi)
	set := map[string]any{
		"status": row.Status, "next_action_url": row.NextActionURL, "next_action_return_url": row.NextActionReturnURL,
		"last_error_code": row.LastErrorCode, "last_error_message": row.LastErrorMessage, "updated_at": row.UpdatedAt,
	}
	if row.ProviderPayinID != nil {
		set["provider_payin_id"] = *row.ProviderPayinID
	}
	res := t.g.WithContext(ctx).Model(&intentRow{}).Where("id = ? AND status IN ?", pi.ID, statuses).Updates(set)
	if res.Error != nil {
		if isUnique(res.Error) {
			return false, detail.Wrap(fmt.Errorf("order %s has a payment in flight: %w", pi.OrderID, orders.ErrNotPayable),
				"The order has a payment in progress: wait for its outcome (GET /v1/payment-intents/{id}), or cancel that payment intent first.")
		}
		return false, res.Error
	}
	return res.RowsAffected == 1, nil
}

// BlockCard implements payments.Tx.
func (t paymentsUnit) BlockCard(ctx context.Context, cardID string, at time.Time) (bool, error) {
	res := t.g.WithContext(ctx).Model(&cardRow{}).Where("id = ? AND status = ?", cardID, string(payments.CardActive)).
		Updates(map[string]any{"status": string(payments.CardBlocked), "updated_at": utc(at)})
	return res.RowsAffected == 1, res.Error
}

func fromIntent(pi payments.Intent) intentRow {
	row := intentRow{ID: pi.ID, OrderID: nullable(pi.OrderID), RecoversCollectionID: nullable(pi.CollectionID), BuyerID: pi.BuyerID, Amount: pi.Amount, Currency: pi.Currency,
		Method: string(pi.Method), Status: string(pi.Status), MandateID: pi.MandateID, CollectionMonth: pi.CollectionMonth,
		InvoicingAccountID: pi.InvoicingAccountID, CreatedAt: utc(pi.CreatedAt), UpdatedAt: utc(pi.UpdatedAt)}
	if pi.NextAction != nil {
		row.NextActionURL, row.NextActionReturnURL = pi.NextAction.RedirectToURL.URL, pi.NextAction.RedirectToURL.ReturnURL
	}
	if pi.LastError != nil {
		row.LastErrorCode, row.LastErrorMessage = string(pi.LastError.Code), pi.LastError.Message
	}
	if pi.CardID != "" {
		row.CardID = &pi.CardID
	}
	if pi.ProviderPayInID != "" {
		row.ProviderPayinID = &pi.ProviderPayInID
	}
	if pi.RequestKey != "" {
		row.RequestKey = &pi.RequestKey
	}
	row.CardReturnURL = pi.ReturnURL
	return row
}

func toIntent(r intentRow) payments.Intent {
	pi := payments.Intent{ID: r.ID, OrderID: deref(r.OrderID), CollectionID: deref(r.RecoversCollectionID), BuyerID: r.BuyerID, Amount: r.Amount, Currency: r.Currency,
		Method: payments.Method(r.Method), Status: payments.Status(r.Status), MandateID: r.MandateID,
		CollectionMonth: r.CollectionMonth, InvoicingAccountID: r.InvoicingAccountID, AmountRefunded: r.AmountRefunded,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.NextActionURL != "" {
		pi.NextAction = &payments.NextAction{Type: payments.NextActionRedirectToURL,
			RedirectToURL: payments.RedirectToURL{URL: r.NextActionURL, ReturnURL: r.NextActionReturnURL}}
	}
	if r.LastErrorCode != "" {
		pi.LastError = &payments.LastError{Code: payments.ErrorCode(r.LastErrorCode), Message: r.LastErrorMessage}
	}
	if r.CardID != nil {
		pi.CardID = *r.CardID
	}
	if r.ProviderPayinID != nil {
		pi.ProviderPayInID = *r.ProviderPayinID
	}
	if r.RequestKey != nil {
		pi.RequestKey = *r.RequestKey
	}
	pi.ReturnURL = r.CardReturnURL
	return pi
}

// Intent implements payments.IntentStore.
func (s Payments) Intent(ctx context.Context, id string) (payments.Intent, error) {
	return s.intentWhere(ctx, "id = ?", id)
}

// IntentByRequestKey implements payments.IntentStore.
func (s Payments) IntentByRequestKey(ctx context.Context, key string) (payments.Intent, error) {
	var rows []intentRow
	if err := s.db.WithContext(ctx).Where("request_key = ?", key).Order("id DESC").Limit(1).Find(&rows).Error; err != nil {
		return payments.Intent{}, err
	}
	if len(rows) == 0 {
		return payments.Intent{}, payments.ErrNotFound
	}
	return toIntent(rows[0]), nil
}

// UnsentCardIntents implements payments.IntentStore. The status is a literal, as in ExpireIntents.
func (s Payments) UnsentCardIntents(ctx context.Context, before time.Time, limit int) ([]payments.Intent, error) {
	var rows []intentRow
	if err := s.db.WithContext(ctx).Where("method = ? AND status = 'processing' AND provider_payin_id IS NULL AND updated_at < ?",
		string(payments.MethodCard), utc(before)).Order("id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]payments.Intent, len(rows))
	for i, r := range rows {
		out[i] = toIntent(r)
	}
	return out, nil
}

type sweptPayInRow struct {
	PayinID   string `gorm:"column:payin_id;primaryKey"`
	Outcome   string
	RefundID  string
	Amount    int64
	CreatedAt time.Time
}

func (sweptPayInRow) TableName() string { return "swept_payins" }

// RecordSwept implements payments.IntentStore.
func (s Payments) RecordSwept(ctx context.Context, p payments.SweptPayIn) error {
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&sweptPayInRow{PayinID: p.PayInID,
		Outcome: string(p.Outcome), RefundID: p.RefundID, Amount: p.Amount, CreatedAt: utc(p.At)}).Error
}

// SweptPayIn implements payments.IntentStore.
func (s Payments) SweptPayIn(ctx context.Context, payInID string) (payments.SweptPayIn, bool, error) {
	var rows []sweptPayInRow
	if err := s.db.WithContext(ctx).Where("payin_id = ?", payInID).Limit(1).Find(&rows).Error; err != nil || len(rows) == 0 {
		return payments.SweptPayIn{}, false, err
	}
	r := rows[0]
	return payments.SweptPayIn{PayInID: r.PayinID, Outcome: payments.SweepOutcome(r.Outcome), RefundID: r.RefundID,
		Amount: r.Amount, At: r.CreatedAt.UTC()}, true, nil
}

// IntentByPayIn implements payments.IntentStore.
func (s Payments) IntentByPayIn(ctx context.Context, providerPayInID string) (payments.Intent, error) {
	return s.intentWhere(ctx, "provider_payin_id = ?", providerPayInID)
}

func (s Payments) intentWhere(ctx context.Context, cond string, arg string) (payments.Intent, error) {
	var rows []intentRow
	if err := s.db.WithContext(ctx).Where(cond, arg).Limit(1).Find(&rows).Error; err != nil {
		return payments.Intent{}, err
	}
	if len(rows) == 0 {
		return payments.Intent{}, payments.ErrNotFound
	}
	return toIntent(rows[0]), nil
}

// Intents implements payments.IntentStore.
func (s Payments) Intents(ctx context.Context, f payments.IntentFilter, p page.Request) (page.Page[payments.Intent], error) {
	q := s.db.WithContext(ctx).Model(&intentRow{})
	if f.BuyerID != "" {
		q = q.Where("buyer_id = ?", f.BuyerID)
	}
	if f.OrderID != "" {
		q = q.Where("order_id = ?", f.OrderID)
	}
	var rows []intentRow
	if err := keyset(q, p, "id").Find(&rows).Error; err != nil {
		return page.Page[payments.Intent]{}, err
	}
	out := make([]payments.Intent, len(rows))
	for i, r := range rows {
		out[i] = toIntent(r)
	}
	return page.Build(out, p.Limit, func(pi payments.Intent) string { return pi.ID }), nil
}

// OpenIntents implements payments.IntentStore.
func (s Payments) OpenIntents(ctx context.Context, orderID string) ([]payments.Intent, error) {
	var rows []intentRow
	if err := s.db.WithContext(ctx).Where("order_id = ? AND status IN ?", orderID,
		[]string{string(payments.StatusRequiresAction), string(payments.StatusProcessing)}).Order("id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]payments.Intent, len(rows))
	for i, r := range rows {
		out[i] = toIntent(r)
	}
	return out, nil
}

// cancelIntent cancels a requires_action intent (conditional update).
func cancelIntent(g *gorm.DB, id string, at time.Time) (bool, error) {
	res := g.Model(&intentRow{}).Where("id = ? AND status = ?", id, string(payments.StatusRequiresAction)).
		Updates(map[string]any{"status": string(payments.StatusCanceled), "next_action_url": "", "next_action_return_url": "", "updated_at": utc(at)})
	return res.RowsAffected == 1, res.Error
}

// RecordRefund implements payments.IntentStore.
func (s Payments) RecordRefund(ctx context.Context, intentID, refundID string, at time.Time) error {
	return s.db.WithContext(ctx).Model(&intentRow{}).Where("id = ? AND provider_refund_id = ''", intentID).
		Updates(map[string]any{"provider_refund_id": refundID, "updated_at": utc(at)}).Error
}

// RefundOf implements payments.IntentStore.
func (s Payments) RefundOf(ctx context.Context, intentID string) (string, error) {
	var ids []string
	if err := s.db.WithContext(ctx).Model(&intentRow{}).Where("id = ?", intentID).Pluck("provider_refund_id", &ids).Error; err != nil {
		return "", err
	}
	if len(ids) == 0 {
		return "", payments.ErrNotFound
	}
	return ids[0], nil
}

// InsertCardRegistration implements payments.CardStore.
func (s Payments) InsertCardRegistration(ctx context.Context, r payments.CardRegistration) error {
	row := cardRegistrationRow{ID: r.ID, BuyerID: r.BuyerID, ProviderID: r.ProviderID, Status: string(r.Status),
		CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt)}
	return s.db.WithContext(ctx).Create(&row).Error
}

// CardRegistration implements payments.CardStore.
func (s Payments) CardRegistration(ctx context.Context, id string) (payments.CardRegistration, error) {
	var rows []cardRegistrationRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return payments.CardRegistration{}, err
	}
	if len(rows) == 0 {
		return payments.CardRegistration{}, payments.ErrRegistrationNotFound
	}
	r := rows[0]
	out := payments.CardRegistration{ID: r.ID, BuyerID: r.BuyerID, ProviderID: r.ProviderID, Status: payments.RegistrationStatus(r.Status),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.CardID != nil {
		out.CardID = *r.CardID
	}
	return out, nil
}

// FailCardRegistration implements payments.CardStore.
func (s Payments) FailCardRegistration(ctx context.Context, id string, at time.Time) error {
	return s.db.WithContext(ctx).Model(&cardRegistrationRow{}).Where("id = ? AND status = ?", id, string(payments.RegistrationCreated)).
		Updates(map[string]any{"status": string(payments.RegistrationError), "updated_at": utc(at)}).Error
}

// ValidateCardRegistration implements payments.CardStore.
func (s Payments) ValidateCardRegistration(ctx context.Context, registrationID string, c payments.Card, at time.Time) (payments.Card, error) {
	var stored cardRow
	err := inTx(ctx, s.db, func(tx *gorm.DB) error {
		row := cardRow{ID: c.ID, BuyerID: c.BuyerID, ProviderID: c.ProviderID, Alias: c.Alias, Expiration: c.Expiration,
			Brand: c.Brand, Status: string(c.Status), CreatedAt: utc(c.CreatedAt), UpdatedAt: utc(c.UpdatedAt)}
		if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "provider_id"}}, DoNothing: true}).Create(&row).Error; err != nil {
			return err
		}
		if err := tx.Where("provider_id = ?", c.ProviderID).Take(&stored).Error; err != nil {
			return err
		}
		if stored.BuyerID != c.BuyerID {
			return fmt.Errorf("provider card %s belongs to another buyer: %w", c.ProviderID, payments.ErrCardRegistrationFailed)
		}
		// A registration the provider refused stays refused, whatever a concurrent completion says.
		res := tx.Model(&cardRegistrationRow{}).Where("id = ? AND status <> ?", registrationID, string(payments.RegistrationError)).
			Updates(map[string]any{"status": string(payments.RegistrationValidated), "card_id": stored.ID, "updated_at": utc(at)})
		if res.Error == nil && res.RowsAffected == 0 {
			return payments.ErrCardRegistrationFailed
		}
		return res.Error
	})
	if err != nil {
		return payments.Card{}, err
	}
	return toCard(stored), nil
}

func toCard(r cardRow) payments.Card {
	return payments.Card{ID: r.ID, BuyerID: r.BuyerID, ProviderID: r.ProviderID, Alias: r.Alias, Expiration: r.Expiration,
		Brand: r.Brand, Status: payments.CardStatus(r.Status), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// Card implements payments.CardStore.
func (s Payments) Card(ctx context.Context, id string) (payments.Card, error) {
	var row cardRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		if isNotFound(err) {
			return payments.Card{}, payments.ErrCardNotFound
		}
		return payments.Card{}, err
	}
	return toCard(row), nil
}

// Cards implements payments.CardStore.
func (s Payments) Cards(ctx context.Context, buyerID string, p page.Request) (page.Page[payments.Card], error) {
	var rows []cardRow
	if err := keyset(s.db.WithContext(ctx).Model(&cardRow{}).Where("buyer_id = ?", buyerID), p, "id").Find(&rows).Error; err != nil {
		return page.Page[payments.Card]{}, err
	}
	out := make([]payments.Card, len(rows))
	for i, r := range rows {
		out[i] = toCard(r)
	}
	return page.Build(out, p.Limit, func(c payments.Card) string { return c.ID }), nil
}

// DeactivateCard implements payments.CardStore.
func (s Payments) DeactivateCard(ctx context.Context, id string, at time.Time) error {
	return s.db.WithContext(ctx).Model(&cardRow{}).Where("id = ? AND status <> ?", id, string(payments.CardInactive)).
		Updates(map[string]any{"status": string(payments.CardInactive), "updated_at": utc(at)}).Error
}
