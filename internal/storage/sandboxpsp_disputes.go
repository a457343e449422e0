package storage

import (
	"context"
	"time"

	"gorm.io/gorm/clause"

	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/sandbox"
)

// cardClass is a sandbox card's class: the dispute test card is stored frictionless and disputed.
func cardClass(r sandboxCardRow) sandbox.CardClass {
	if r.Disputed {
		return sandbox.CardDispute
	}
	return sandbox.CardClass(r.Class)
}

type sandboxDisputeRow struct {
	ID              string
	PayinID         string `gorm:"column:payin_id"`
	Status          string
	Outcome         string
	Reason          string
	Amount          int64
	Contested       int64
	DeliveryProof   bool
	Documents       int
	ContestDeadline time.Time
	CreatedAt       time.Time
	SubmittedAt     *time.Time
	ClosedAt        *time.Time
}

func (sandboxDisputeRow) TableName() string { return "sandbox_disputes" }

func (r sandboxDisputeRow) dispute() sandbox.Dispute {
	d := sandbox.Dispute{ID: r.ID, PayInID: r.PayinID, Status: psp.DisputeStatus(r.Status), Outcome: psp.DisputeOutcome(r.Outcome),
		Reason: r.Reason, Amount: r.Amount, Contested: r.Contested, DeliveryProof: r.DeliveryProof, Documents: r.Documents,
		ContestDeadline: r.ContestDeadline.UTC(), CreatedAt: r.CreatedAt.UTC()}
	if r.SubmittedAt != nil {
		d.SubmittedAt = r.SubmittedAt.UTC()
	}
	if r.ClosedAt != nil {
		d.ClosedAt = r.ClosedAt.UTC()
	}
	return d
}

// DisputeCandidates implements sandbox.Store.
func (s SandboxPSP) DisputeCandidates(ctx context.Context, executedBefore time.Time, limit int) ([]sandbox.PayIn, error) {
	var rows []sandboxPayInRow
	err := s.db.WithContext(ctx).Table("sandbox_payins p").Select("p.*").
		Joins("JOIN sandbox_cards c ON c.id = p.card_id").
		Where("c.disputed = ? AND p.status = ? AND p.executed_at <= ? AND p.refunded < p.amount", true, string(psp.PayInSucceeded), utc(executedBefore)).
		Where("NOT EXISTS (SELECT 1 FROM sandbox_disputes d WHERE d.payin_id = p.id)").
		Order("p.executed_at, p.id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]sandbox.PayIn, len(rows))
	for i, r := range rows {
		out[i] = toSandboxPayIn(r)
	}
	return out, nil
}

// CreateDispute implements sandbox.Store.
func (s SandboxPSP) CreateDispute(ctx context.Context, d sandbox.Dispute) (bool, error) {
	return changed(s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&sandboxDisputeRow{
		ID: d.ID, PayinID: d.PayInID, Status: string(d.Status), Reason: d.Reason, Amount: d.Amount,
		ContestDeadline: utc(d.ContestDeadline), CreatedAt: utc(d.CreatedAt)}))
}

// Dispute implements sandbox.Store.
func (s SandboxPSP) Dispute(ctx context.Context, id string) (sandbox.Dispute, error) {
	var r sandboxDisputeRow
	if err := s.take(ctx, &r, id); err != nil {
		return sandbox.Dispute{}, err
	}
	return r.dispute(), nil
}

// DisputeOfPayIn implements sandbox.Store.
func (s SandboxPSP) DisputeOfPayIn(ctx context.Context, payInID string) (sandbox.Dispute, error) {
	var r sandboxDisputeRow
	if err := s.db.WithContext(ctx).Where("payin_id = ?", payInID).Take(&r).Error; err != nil {
		if isNotFound(err) {
			return sandbox.Dispute{}, psp.ErrNotFound
		}
		return sandbox.Dispute{}, err
	}
	return r.dispute(), nil
}

// SubmitDispute implements sandbox.Store.
func (s SandboxPSP) SubmitDispute(ctx context.Context, id string, contested int64, deliveryProof bool, documents int, at time.Time) (bool, error) {
	return changed(s.db.WithContext(ctx).Model(&sandboxDisputeRow{}).Where("id = ? AND status = ?", id, string(psp.DisputeNeedsResponse)).
		Updates(map[string]any{"status": string(psp.DisputeUnderReview), "contested": contested, "delivery_proof": deliveryProof,
			"documents": documents, "submitted_at": utc(at)}))
}

// CloseDispute implements sandbox.Store.
func (s SandboxPSP) CloseDispute(ctx context.Context, id string, from []psp.DisputeStatus, outcome psp.DisputeOutcome, at time.Time) (bool, error) {
	statuses := make([]string, len(from))
	for i, f := range from {
		statuses[i] = string(f)
	}
	return changed(s.db.WithContext(ctx).Model(&sandboxDisputeRow{}).Where("id = ? AND status IN ?", id, statuses).
		Updates(map[string]any{"status": string(psp.DisputeClosed), "outcome": string(outcome), "closed_at": utc(at)}))
}

// DisputesToClose implements sandbox.Store.
func (s SandboxPSP) DisputesToClose(ctx context.Context, submittedBefore, now time.Time) ([]sandbox.Dispute, error) {
	var rows []sandboxDisputeRow
	err := s.db.WithContext(ctx).
		Where("(status = ? AND submitted_at <= ?) OR (status = ? AND contest_deadline <= ?)",
			string(psp.DisputeUnderReview), utc(submittedBefore), string(psp.DisputeNeedsResponse), utc(now)).
		Order("id").Find(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]sandbox.Dispute, len(rows))
	for i, r := range rows {
		out[i] = r.dispute()
	}
	return out, nil
}
