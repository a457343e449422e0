package events

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/page"
)

// Retention is how long events are kept (by the injected clock).
const Retention = 90 * 24 * time.Hour

// ErrNotFound is returned for an event that does not exist or that the caller may not see.
var ErrNotFound = errors.New("no such event")

// Event is a change told to integrators, as written with it.
type Event struct {
	ID       string
	Type     string
	BuyerID  string // "" when the event concerns no buyer
	CenterID string // "" when the event concerns no centre
	// Data is {"object": <the resource as its GET answered at the change>}.
	Data      json.RawMessage
	CreatedAt time.Time
}

// Filter narrows a listing of events; zero fields do not filter.
type Filter struct {
	Types         []string
	CreatedAfter  time.Time // strictly after
	CreatedBefore time.Time // strictly before
	BuyerID       string
	CenterID      string
	// ExcludeTypes leaves these types out (the platform's own, for organisations).
	ExcludeTypes []string
}

// Store reads and purges events (storage writes them through txn.Tx.Emit).
type Store interface {
	// Events lists events newest first (by id).
	Events(ctx context.Context, f Filter, p page.Request) (page.Page[Event], error)
	// Event returns an event or ErrNotFound.
	Event(ctx context.Context, id string) (Event, error)
	// PurgeEvents deletes the events created before cutoff (and their deliveries) and returns how many.
	PurgeEvents(ctx context.Context, cutoff time.Time) (int, error)
}

// Service lists events to the organisations they concern and purges old ones.
type Service struct {
	store Store
	clock clock.Clock
}

// NewService returns a Service.
func NewService(store Store, c clock.Clock) *Service { return &Service{store: store, clock: c} }

// scope narrows f to what who may see: a buyer its events, a centre its events (neither the
// platform's own types), admin and service every event.
func scope(who auth.Principal, f Filter) (Filter, bool) {
	switch {
	case who.Privileged():
		return f, true
	case who.Role == auth.RoleBuyer && who.Org != "":
		f.BuyerID, f.CenterID = who.Org, ""
	case who.Role == auth.RoleCenter && who.Org != "":
		f.BuyerID, f.CenterID = "", who.Org
	default:
		return f, false
	}
	f.ExcludeTypes = PlatformOnly()
	return f, true
}

// Events lists the events the caller may see, newest first.
func (s *Service) Events(ctx context.Context, who auth.Principal, f Filter, p page.Request) (page.Page[Event], error) {
	f, ok := scope(who, f)
	if !ok {
		return page.Page[Event]{Items: []Event{}}, nil
	}
	return s.store.Events(ctx, f, p)
}

// Event returns an event the caller may see. Errors: ErrNotFound.
func (s *Service) Event(ctx context.Context, who auth.Principal, id string) (Event, error) {
	e, err := s.store.Event(ctx, id)
	if err != nil {
		return Event{}, err
	}
	if !Visible(who, e) {
		return Event{}, ErrNotFound
	}
	return e, nil
}

// Visible reports whether who may see e.
func Visible(who auth.Principal, e Event) bool {
	if who.Privileged() {
		return true
	}
	if t, ok := Lookup(e.Type); ok && t.Audience == Platform {
		return false
	}
	switch who.Role {
	case auth.RoleBuyer:
		return who.Org != "" && e.BuyerID == who.Org
	case auth.RoleCenter:
		return who.Org != "" && e.CenterID == who.Org
	}
	return false
}

// Purge deletes the events older than Retention (by the clock), with their deliveries; it
// returns how many events it deleted.
func (s *Service) Purge(ctx context.Context) (int, error) {
	return s.store.PurgeEvents(ctx, s.clock.Now().Add(-Retention))
}
