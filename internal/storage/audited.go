package storage

import (
	"context"

	"gorm.io/gorm"

	"github.com/vhupay/vhupay/internal/txn"
)

// auditIn writes e, when it is not nil, in g, the open transaction of a store method that is not
// a unit of work yet (SEPA ceilings, month closes, invoicing decisions): the audit entry commits
// or rolls back with the change it records.
func (db *DB) auditIn(ctx context.Context, g *gorm.DB, e *txn.AuditEntry) error {
	if e == nil {
		return nil
	}
	return (&unit{g: g, db: db}).Audit(ctx, *e)
}

// withChange returns a copy of e with Before and After set, or nil for a nil e.
func withChange(e *txn.AuditEntry, before, after any) *txn.AuditEntry {
	if e == nil {
		return nil
	}
	c := *e
	c.Before, c.After = before, after
	return &c
}
