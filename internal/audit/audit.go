// Package audit reads the audit trail: the entries that units of work write with the changes
// they audit (txn.Tx.Audit), listed for admins.
package audit

import (
	"context"
	"encoding/json"
	"time"

	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/txn"
)

// Event is one audit entry as stored.
type Event struct {
	ID        string
	Action    string
	Actor     txn.Actor
	TargetID  string
	RequestID string
	// Before and After are the resource as the API rendered it (nil: none).
	Before    json.RawMessage
	After     json.RawMessage
	CreatedAt time.Time
}

// Filter narrows a list; empty fields do not filter.
type Filter struct {
	// Actor matches the actor's sub or API key id.
	Actor    string
	Action   string
	TargetID string
}

// Store reads audit entries.
type Store interface {
	// AuditEvents lists entries newest first.
	AuditEvents(ctx context.Context, f Filter, p page.Request) (page.Page[Event], error)
}

// Service lists the audit trail.
type Service struct{ store Store }

// NewService returns a Service.
func NewService(store Store) *Service { return &Service{store: store} }

// List lists entries newest first (admins only: the HTTP edge checks the role).
func (s *Service) List(ctx context.Context, f Filter, p page.Request) (page.Page[Event], error) {
	return s.store.AuditEvents(ctx, f, p)
}
