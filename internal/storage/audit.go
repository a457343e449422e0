package storage

import (
	"context"
	"encoding/json"
	"time"

	"github.com/vhupay/vhupay/internal/audit"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/txn"
)

type auditEventRow struct {
	ID            string
	Action        string
	ActorSub      string
	ActorRole     string
	ActorOrg      string
	ActorAPIKeyID string `gorm:"column:actor_api_key_id"`
	TargetID      string
	RequestID     string
	Before        *string
	After         *string
	CreatedAt     time.Time
}

func (auditEventRow) TableName() string { return "audit_events" }

func rawJSON(s *string) json.RawMessage {
	if s == nil {
		return nil
	}
	return json.RawMessage(*s)
}

// Audit implements audit.Store.
type Audit struct{ db *DB }

var _ audit.Store = Audit{}

// NewAudit returns the audit trail's reader.
func NewAudit(db *DB) Audit { return Audit{db: db} }

// AuditEvents implements audit.Store.
func (s Audit) AuditEvents(ctx context.Context, f audit.Filter, p page.Request) (page.Page[audit.Event], error) {
	q := s.db.gorm.WithContext(ctx).Model(&auditEventRow{})
	if f.Actor != "" {
		q = q.Where("(actor_sub = ? OR actor_api_key_id = ?)", f.Actor, f.Actor)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.TargetID != "" {
		q = q.Where("target_id = ?", f.TargetID)
	}
	var rows []auditEventRow
	if err := keyset(q, p, "id").Find(&rows).Error; err != nil {
		return page.Page[audit.Event]{}, err
	}
	out := make([]audit.Event, len(rows))
	for i, r := range rows {
		out[i] = audit.Event{ID: r.ID, Action: r.Action, TargetID: r.TargetID, RequestID: r.RequestID,
			Actor:  txn.Actor{Subject: r.ActorSub, Role: r.ActorRole, Org: r.ActorOrg, APIKeyID: r.ActorAPIKeyID},
			Before: rawJSON(r.Before), After: rawJSON(r.After), CreatedAt: r.CreatedAt.UTC()}
	}
	return page.Build(out, p.Limit, func(e audit.Event) string { return e.ID }), nil
}
