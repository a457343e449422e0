package storage

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/vhupay/vhupay/internal/disputes"
	"github.com/vhupay/vhupay/internal/page"
)

type disputeRow struct {
	ID                   string
	ProviderDisputeID    string
	PaymentIntentID      string
	OrderID              string
	BuyerID              string
	CenterID             string
	Amount               int64
	Currency             string
	Reason               string
	Status               string
	EvidenceDueBy        time.Time
	EvidenceDeliveryNote *string
	EvidenceText         *string
	EvidenceSubmittedAt  *time.Time
	ProviderAction       string
	Debited              int64
	CreatedAt            time.Time
	UpdatedAt            time.Time
	ClosedAt             *time.Time
}

func (disputeRow) TableName() string { return "disputes" }

func toDisputeRow(d disputes.Dispute) disputeRow {
	r := disputeRow{ID: d.ID, ProviderDisputeID: d.ProviderDisputeID, PaymentIntentID: d.PaymentIntentID, OrderID: d.OrderID,
		BuyerID: d.BuyerID, CenterID: d.CenterID, Amount: d.Amount, Currency: d.Currency, Reason: d.Reason, Status: string(d.Status),
		EvidenceDueBy: utc(d.EvidenceDueBy), ProviderAction: string(d.ProviderAction), Debited: d.Debited,
		CreatedAt: utc(d.CreatedAt), UpdatedAt: utc(d.UpdatedAt)}
	if r.ProviderAction == "" {
		r.ProviderAction = string(disputes.ActionNone)
	}
	if e := d.Evidence; e != nil {
		at := utc(e.SubmittedAt)
		r.EvidenceDeliveryNote, r.EvidenceText, r.EvidenceSubmittedAt = nullable(e.DeliveryNoteID), &e.Text, &at
	}
	if !d.ClosedAt.IsZero() {
		at := utc(d.ClosedAt)
		r.ClosedAt = &at
	}
	return r
}

func (r disputeRow) dispute() disputes.Dispute {
	d := disputes.Dispute{ID: r.ID, ProviderDisputeID: r.ProviderDisputeID, PaymentIntentID: r.PaymentIntentID, OrderID: r.OrderID,
		BuyerID: r.BuyerID, CenterID: r.CenterID, Amount: r.Amount, Currency: r.Currency, Reason: r.Reason,
		Status: disputes.Status(r.Status), EvidenceDueBy: r.EvidenceDueBy.UTC(), ProviderAction: disputes.ProviderAction(r.ProviderAction),
		Debited: r.Debited, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.EvidenceSubmittedAt != nil {
		e := disputes.Evidence{SubmittedAt: r.EvidenceSubmittedAt.UTC()}
		if r.EvidenceDeliveryNote != nil {
			e.DeliveryNoteID = *r.EvidenceDeliveryNote
		}
		if r.EvidenceText != nil {
			e.Text = *r.EvidenceText
		}
		d.Evidence = &e
	}
	if r.ClosedAt != nil {
		d.ClosedAt = r.ClosedAt.UTC()
	}
	return d
}

// disputesUnit implements disputes.Tx.
type disputesUnit struct{ *unit }

var _ disputes.Tx = disputesUnit{}

// HoldPayment implements disputes.Tx: an update of the intent's row locks it until the unit ends;
// then its amount_refunded (refunds recorded so far, pending ones included: the centre was
// debited when they were recorded) is read.
func (u disputesUnit) HoldPayment(ctx context.Context, intentID string) (int64, error) {
	if err := holdIntent(ctx, u.g, intentID); err != nil {
		return 0, err
	}
	var refunded int64
	err := u.g.WithContext(ctx).Raw(`SELECT amount_refunded FROM payment_intents WHERE id = ?`, intentID).Scan(&refunded).Error
	return refunded, err
}

// holdIntent locks a payment intent's row until the transaction of g ends, so that a refund and
// a dispute of one payment are serialised.
func holdIntent(ctx context.Context, g *gorm.DB, intentID string) error {
	return g.WithContext(ctx).Exec(`UPDATE payment_intents SET updated_at = updated_at WHERE id = ?`, intentID).Error
}

// InsertDispute implements disputes.Tx.
func (u disputesUnit) InsertDispute(ctx context.Context, d disputes.Dispute) error {
	row := toDisputeRow(d)
	err := u.g.WithContext(ctx).Create(&row).Error
	if isUnique(err) {
		return disputes.ErrExists
	}
	return err
}

// SaveDispute implements disputes.Tx.
func (u disputesUnit) SaveDispute(ctx context.Context, d disputes.Dispute, from ...disputes.Status) (bool, error) {
	r := toDisputeRow(d)
	statuses := make([]string, len(from))
	for i, s := range from {
		statuses[i] = string(s)
	}
	return changed(u.g.WithContext(ctx).Model(&disputeRow{}).Where("id = ? AND status IN ?", d.ID, statuses).
		Updates(map[string]any{"status": r.Status, "evidence_due_by": r.EvidenceDueBy, "evidence_delivery_note": r.EvidenceDeliveryNote, "evidence_text": r.EvidenceText,
			"evidence_submitted_at": r.EvidenceSubmittedAt, "provider_action": r.ProviderAction, "updated_at": r.UpdatedAt,
			"closed_at": r.ClosedAt}))
}

// Disputes implements disputes.Store.
type Disputes struct {
	runner[disputes.Tx]
	db *gorm.DB
}

var _ disputes.Store = Disputes{}

// NewDisputes returns the disputes' store.
func NewDisputes(db *DB) Disputes {
	return Disputes{runner: runner[disputes.Tx]{db: db, bind: func(u *unit) disputes.Tx { return disputesUnit{u} }}, db: db.gorm}
}

func (s Disputes) one(ctx context.Context, column, value string) (disputes.Dispute, error) {
	var r disputeRow
	if err := s.db.WithContext(ctx).Where(column+" = ?", value).Take(&r).Error; err != nil {
		if isNotFound(err) {
			return disputes.Dispute{}, disputes.ErrNotFound
		}
		return disputes.Dispute{}, err
	}
	return r.dispute(), nil
}

// Dispute implements disputes.Store.
func (s Disputes) Dispute(ctx context.Context, id string) (disputes.Dispute, error) {
	return s.one(ctx, "id", id)
}

// DisputeByProvider implements disputes.Store.
func (s Disputes) DisputeByProvider(ctx context.Context, providerDisputeID string) (disputes.Dispute, error) {
	return s.one(ctx, "provider_dispute_id", providerDisputeID)
}

func (s Disputes) list(q *gorm.DB) ([]disputes.Dispute, error) {
	var rows []disputeRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]disputes.Dispute, len(rows))
	for i, r := range rows {
		out[i] = r.dispute()
	}
	return out, nil
}

// Disputes implements disputes.Store.
func (s Disputes) Disputes(ctx context.Context, f disputes.Filter, p page.Request) (page.Page[disputes.Dispute], error) {
	q := s.db.WithContext(ctx).Model(&disputeRow{})
	if f.BuyerID != "" {
		q = q.Where("buyer_id = ?", f.BuyerID)
	}
	if f.CenterID != "" {
		q = q.Where("center_id = ?", f.CenterID)
	}
	out, err := s.list(keyset(q, p, "id"))
	if err != nil {
		return page.Page[disputes.Dispute]{}, err
	}
	return page.Build(out, p.Limit, func(d disputes.Dispute) string { return d.ID }), nil
}

// DueDisputes implements disputes.Store.
func (s Disputes) DueDisputes(ctx context.Context, now time.Time, limit int) ([]disputes.Dispute, error) {
	return s.list(s.db.WithContext(ctx).Where("status = ? AND evidence_due_by <= ?", string(disputes.StatusNeedsResponse), utc(now)).
		Order("evidence_due_by, id").Limit(limit))
}

// PendingProviderActions implements disputes.Store.
func (s Disputes) PendingProviderActions(ctx context.Context, limit int) ([]disputes.Dispute, error) {
	return s.list(s.db.WithContext(ctx).Where("provider_action <> ?", string(disputes.ActionNone)).Order("updated_at, id").Limit(limit))
}

// ProviderActionDone implements disputes.Store.
func (s Disputes) ProviderActionDone(ctx context.Context, id string, action disputes.ProviderAction) error {
	return s.db.WithContext(ctx).Model(&disputeRow{}).Where("id = ? AND provider_action = ?", id, string(action)).
		UpdateColumn("provider_action", string(disputes.ActionNone)).Error
}

// Disputed implements disputes.Store.
func (s Disputes) Disputed(ctx context.Context, intentID string) (bool, error) {
	return paymentDisputed(ctx, s.db, intentID)
}

// paymentDisputed reports whether a payment intent has a dispute, whatever its status (MangoPay
// refuses to refund a pay-in with a dispute: 005408), read in g. In a refund's unit, call
// holdIntent first: a dispute being recorded then either committed before (and is seen) or waits
// for the refund (and debits only what the centre still holds).
func paymentDisputed(ctx context.Context, g *gorm.DB, intentID string) (bool, error) {
	var n int64
	err := g.WithContext(ctx).Model(&disputeRow{}).Where("payment_intent_id = ?", intentID).Limit(1).Count(&n).Error
	return n > 0, err
}
