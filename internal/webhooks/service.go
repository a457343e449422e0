package webhooks

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/events"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/txn"
	"github.com/vhupay/vhupay/internal/validation"
)

// Defaults of Config.
var (
	// DefaultRetryDelays is the wait after the n-th failed attempt; after the last, every 10 h.
	DefaultRetryDelays = []time.Duration{5 * time.Second, time.Minute, 5 * time.Minute, 30 * time.Minute,
		2 * time.Hour, 5 * time.Hour, 10 * time.Hour}
)

// Defaults of Config.
const (
	DefaultGiveUpAfter = 72 * time.Hour
	DefaultTimeout     = 10 * time.Second
	// RotationOverlap is how long the previous secret keeps signing after a rotation.
	RotationOverlap = 24 * time.Hour
	// MaxResponseBody is how much of a receiver's answer is read.
	MaxResponseBody = 64 << 10
)

// Config is what a Service needs.
type Config struct {
	Store Store
	// Clock is the injected clock (the sandbox test clock): endpoints' times and events.
	Clock clock.Clock
	// DeliveryClock times attempts (real time: receivers check webhook-timestamp against theirs).
	DeliveryClock clock.Clock
	Guard         Guard
	// Client sends deliveries (default: Guard.Client(Timeout)). Tests may put their own.
	Client *http.Client
	// Render renders an events.Event as GET /v1/events/{id} answers it: the body sent.
	Render txn.Renderer
	// RetryDelays, GiveUpAfter and Timeout default to DefaultRetryDelays, DefaultGiveUpAfter and
	// DefaultTimeout (tests shorten them).
	RetryDelays []time.Duration
	GiveUpAfter time.Duration
	Timeout     time.Duration
	Log         *slog.Logger
}

// Service manages endpoints and delivers events to them.
type Service struct {
	cfg Config
}

// NewService returns a Service.
func NewService(cfg Config) *Service {
	if cfg.DeliveryClock == nil {
		cfg.DeliveryClock = clock.Real{}
	}
	if len(cfg.RetryDelays) == 0 {
		cfg.RetryDelays = DefaultRetryDelays
	}
	if cfg.GiveUpAfter <= 0 {
		cfg.GiveUpAfter = DefaultGiveUpAfter
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Client == nil {
		cfg.Client = cfg.Guard.Client(cfg.Timeout)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg}
}

// CreateInput is a new endpoint.
type CreateInput struct {
	URL           string
	EnabledEvents []string
	Description   string
}

// UpdateInput changes an endpoint; nil fields stay.
type UpdateInput struct {
	URL           *string
	EnabledEvents *[]string
	Description   *string
	Status        *Status
}

func actor(who auth.Principal) txn.Actor {
	return who.Actor()
}

// owner is the centre an endpoint created by who belongs to ("" for the platform).
func owner(who auth.Principal) (string, error) {
	switch {
	case who.Privileged():
		return "", nil
	case who.Role == auth.RoleCenter && who.Org != "":
		return who.Org, nil
	}
	return "", fmt.Errorf("%s callers own no webhook endpoint: %w", who.Role, ErrNotFound)
}

func (s *Service) checkURL(raw string, errs *validation.Collector) {
	if err := s.cfg.Guard.CheckURL(raw); err != nil {
		errs.Add("url", "invalid", err.Error())
	}
}

func checkEvents(centerID string, types []string, errs *validation.Collector) []string {
	if len(types) == 0 {
		errs.Add("enabled_events", "required", `give "*" or at least one event type`)
		return nil
	}
	if len(types) > 100 {
		errs.Add("enabled_events", "max", "at most 100 event types")
		return nil
	}
	out := make([]string, 0, len(types))
	for i, t := range types {
		field := fmt.Sprintf("enabled_events[%d]", i)
		if t == All {
			if len(types) > 1 {
				errs.Add(field, "invalid", `"*" stands alone`)
			}
		} else if et, ok := events.Lookup(t); !ok {
			errs.Add(field, "oneof", "unknown event type (see the event catalogue)")
			continue
		} else if centerID != "" && et.Audience != events.Parties {
			errs.Add(field, "oneof", "this event type is for admin and service endpoints only")
			continue
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func checkDescription(d string, errs *validation.Collector) {
	if len([]rune(d)) > 500 {
		errs.Add("description", "max", "at most 500 characters")
	}
}

// Create registers an endpoint owned by the caller (a centre: its events; admin, service: every
// event). The answer holds the signing secret, which is never shown again. Errors: a
// *validation.Error (url, enabled_events, description).
func (s *Service) Create(ctx context.Context, who auth.Principal, in CreateInput) (Endpoint, error) {
	centerID, err := owner(who)
	if err != nil {
		return Endpoint{}, err
	}
	var errs validation.Collector
	s.checkURL(in.URL, &errs)
	types := checkEvents(centerID, in.EnabledEvents, &errs)
	checkDescription(in.Description, &errs)
	if err := errs.Err(); err != nil {
		return Endpoint{}, err
	}
	now := s.cfg.Clock.Now()
	ep := Endpoint{ID: id.New(id.WebhookEndpoint), CenterID: centerID, URL: in.URL, EnabledEvents: types,
		Description: in.Description, Status: StatusEnabled, Secret: NewSecret(), CreatedAt: now, UpdatedAt: now}
	err = s.cfg.Store.InTx(ctx, func(tx Tx) error {
		if err := tx.InsertWebhookEndpoint(ctx, ep); err != nil {
			return err
		}
		return tx.Audit(ctx, txn.AuditEntry{Action: "webhook_endpoint.create", Actor: actor(who), TargetID: ep.ID, After: ep, At: now})
	})
	if err != nil {
		return Endpoint{}, err
	}
	return ep, nil
}

// Endpoint returns an endpoint the caller owns (admin and service: any). Errors: ErrNotFound.
func (s *Service) Endpoint(ctx context.Context, who auth.Principal, endpointID string) (Endpoint, error) {
	ep, err := s.cfg.Store.WebhookEndpoint(ctx, endpointID)
	if err != nil {
		return Endpoint{}, err
	}
	if who.Privileged() || (who.Role == auth.RoleCenter && who.Org != "" && ep.CenterID == who.Org) {
		return ep, nil
	}
	return Endpoint{}, ErrNotFound
}

// Endpoints lists the endpoints the caller owns (admin and service: all), newest first.
func (s *Service) Endpoints(ctx context.Context, who auth.Principal, p page.Request) (page.Page[Endpoint], error) {
	switch {
	case who.Privileged():
		return s.cfg.Store.WebhookEndpoints(ctx, "", p)
	case who.Role == auth.RoleCenter && who.Org != "":
		return s.cfg.Store.WebhookEndpoints(ctx, who.Org, p)
	}
	return page.Page[Endpoint]{Items: []Endpoint{}}, nil
}

// Update changes an endpoint. Enabling it again clears its failure record. Errors: ErrNotFound,
// a *validation.Error.
func (s *Service) Update(ctx context.Context, who auth.Principal, endpointID string, in UpdateInput) (Endpoint, error) {
	before, err := s.Endpoint(ctx, who, endpointID)
	if err != nil {
		return Endpoint{}, err
	}
	ep := before
	var errs validation.Collector
	if in.URL != nil {
		s.checkURL(*in.URL, &errs)
		ep.URL = *in.URL
	}
	if in.EnabledEvents != nil {
		ep.EnabledEvents = checkEvents(ep.CenterID, *in.EnabledEvents, &errs)
	}
	if in.Description != nil {
		checkDescription(*in.Description, &errs)
		ep.Description = *in.Description
	}
	if in.Status != nil {
		switch *in.Status {
		case StatusEnabled, StatusDisabled:
			if *in.Status == StatusEnabled && ep.Status != StatusEnabled {
				ep.FailingSince = time.Time{}
			}
			ep.Status = *in.Status
		default:
			errs.Add("status", "oneof", "enabled or disabled")
		}
	}
	if err := errs.Err(); err != nil {
		return Endpoint{}, err
	}
	ep.UpdatedAt = s.cfg.Clock.Now()
	err = s.cfg.Store.InTx(ctx, func(tx Tx) error {
		if err := tx.UpdateWebhookEndpoint(ctx, ep); err != nil {
			return err
		}
		return tx.Audit(ctx, txn.AuditEntry{Action: "webhook_endpoint.update", Actor: actor(who), TargetID: ep.ID,
			Before: before, After: ep, At: ep.UpdatedAt})
	})
	if err != nil {
		return Endpoint{}, err
	}
	return ep, nil
}

// Delete deletes an endpoint and its deliveries: nothing more is sent to it. Errors: ErrNotFound.
func (s *Service) Delete(ctx context.Context, who auth.Principal, endpointID string) error {
	before, err := s.Endpoint(ctx, who, endpointID)
	if err != nil {
		return err
	}
	return s.cfg.Store.InTx(ctx, func(tx Tx) error {
		if err := tx.DeleteWebhookEndpoint(ctx, before.ID); err != nil {
			return err
		}
		return tx.Audit(ctx, txn.AuditEntry{Action: "webhook_endpoint.delete", Actor: actor(who), TargetID: before.ID,
			Before: before, At: s.cfg.Clock.Now()})
	})
}

// RotateSecret gives the endpoint a new secret (returned, never shown again); the previous one
// keeps signing, beside it, for RotationOverlap. Errors: ErrNotFound.
func (s *Service) RotateSecret(ctx context.Context, who auth.Principal, endpointID string) (Endpoint, error) {
	before, err := s.Endpoint(ctx, who, endpointID)
	if err != nil {
		return Endpoint{}, err
	}
	ep := before
	ep.PreviousSecret, ep.Secret = before.Secret, NewSecret()
	// The 24 hours are real hours: receivers hold the old secret in real time.
	ep.PreviousSecretUntil = s.cfg.DeliveryClock.Now().Add(RotationOverlap)
	ep.UpdatedAt = s.cfg.Clock.Now()
	err = s.cfg.Store.InTx(ctx, func(tx Tx) error {
		if err := tx.UpdateWebhookEndpoint(ctx, ep); err != nil {
			return err
		}
		return tx.Audit(ctx, txn.AuditEntry{Action: "webhook_endpoint.rotate_secret", Actor: actor(who), TargetID: ep.ID,
			Before: before, After: ep, At: ep.UpdatedAt})
	})
	if err != nil {
		return Endpoint{}, err
	}
	return ep, nil
}

// Deliveries lists an endpoint's deliveries, newest first. Errors: ErrNotFound.
func (s *Service) Deliveries(ctx context.Context, who auth.Principal, endpointID string, p page.Request) (page.Page[Delivery], error) {
	ep, err := s.Endpoint(ctx, who, endpointID)
	if err != nil {
		return page.Page[Delivery]{}, err
	}
	return s.cfg.Store.WebhookDeliveries(ctx, ep.ID, p)
}

// Retry sends a delivery again now, whatever its status (a succeeded one is sent once more).
// Errors: ErrNotFound.
func (s *Service) Retry(ctx context.Context, who auth.Principal, endpointID, deliveryID string) (Delivery, error) {
	ep, err := s.Endpoint(ctx, who, endpointID)
	if err != nil {
		return Delivery{}, err
	}
	d, err := s.cfg.Store.WebhookDelivery(ctx, deliveryID)
	if err != nil {
		return Delivery{}, err
	}
	if d.EndpointID != ep.ID {
		return Delivery{}, ErrNotFound
	}
	now := s.cfg.DeliveryClock.Now()
	err = s.cfg.Store.InTx(ctx, func(tx Tx) error {
		if err := tx.RequeueWebhookDelivery(ctx, d.ID, now); err != nil {
			return err
		}
		if err := tx.Enqueue(ctx, DeliverJob{DeliveryID: d.ID}); err != nil {
			return err
		}
		return tx.Audit(ctx, txn.AuditEntry{Action: "webhook_delivery.retry", Actor: actor(who), TargetID: d.ID, At: s.cfg.Clock.Now()})
	})
	if err != nil {
		return Delivery{}, err
	}
	d.Status, d.NextAttemptAt = DeliveryPending, now
	return d, nil
}

// Fanout makes the deliveries of events, one per enabled endpoint that subscribes to an event and
// may see it, and enqueues their first attempts, in one unit of work: the events are read in one
// query, each centre's candidate endpoints once, the deliveries inserted in one statement and
// their jobs in one more. It is idempotent (a retried fan-out adds only the deliveries still
// missing, and enqueues only theirs). An event purged meanwhile is skipped.
func (s *Service) Fanout(ctx context.Context, eventIDs ...string) error {
	evs, err := s.cfg.Store.EventsByID(ctx, eventIDs)
	if err != nil || len(evs) == 0 {
		return err
	}
	candidates := map[string][]Endpoint{} // by centre ("" for the platform's events)
	now := s.cfg.DeliveryClock.Now()
	var ds []Delivery
	for _, e := range evs {
		eps, ok := candidates[e.CenterID]
		if !ok {
			if eps, err = s.cfg.Store.SubscriberCandidates(ctx, e.CenterID); err != nil {
				return err
			}
			candidates[e.CenterID] = eps
		}
		for _, ep := range eps {
			if ep.Wants(e) {
				ds = append(ds, Delivery{ID: id.New(id.WebhookDelivery), EndpointID: ep.ID, EventID: e.ID, EventType: e.Type,
					Status: DeliveryPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now})
			}
		}
	}
	if len(ds) == 0 {
		return nil
	}
	return s.cfg.Store.InTx(ctx, func(tx Tx) error {
		added, err := tx.InsertWebhookDeliveries(ctx, ds)
		if err != nil || len(added) == 0 {
			return err
		}
		jobs := make([]txn.Job, len(added))
		for i, deliveryID := range added {
			jobs[i] = DeliverJob{DeliveryID: deliveryID}
		}
		return tx.EnqueueAll(ctx, jobs)
	})
}
