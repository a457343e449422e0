// Package webhooks pushes events to integrators' endpoints, as the Standard Webhooks
// specification describes: endpoints owned by a centre (its events) or by the platform (admin
// and service: every event), signed deliveries retried on a growing schedule for three days, on
// the job queue (at least once, across restarts, never two attempts of one delivery at once),
// and never to an internal address (Guard).
package webhooks

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/vhupay/vhupay/internal/events"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/txn"
)

// Errors.
var (
	// ErrNotFound: no such endpoint or delivery, or one of another organisation.
	ErrNotFound = errors.New("no such webhook endpoint or delivery")
)

// Status is an endpoint's status.
type Status string

// Endpoint statuses.
const (
	StatusEnabled  Status = "enabled"
	StatusDisabled Status = "disabled"
)

// All subscribes an endpoint to every event type it may see.
const All = "*"

// Endpoint is an integrator's URL that receives events.
type Endpoint struct {
	ID string
	// CenterID is the owning centre; "" for an endpoint of the platform (admin and service).
	CenterID      string
	URL           string
	EnabledEvents []string // ["*"] or catalogue types
	Description   string
	Status        Status
	// Secret signs every delivery; PreviousSecret signs too until PreviousSecretUntil (a rotation).
	Secret              string
	PreviousSecret      string
	PreviousSecretUntil time.Time
	// FailingSince is when the endpoint's deliveries started failing (zero after a success).
	FailingSince time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Wants reports whether the endpoint subscribes to e and may see it.
func (ep Endpoint) Wants(e events.Event) bool {
	if ep.Status != StatusEnabled {
		return false
	}
	if ep.CenterID != "" {
		t, ok := events.Lookup(e.Type)
		if !ok || t.Audience != events.Parties || e.CenterID != ep.CenterID {
			return false
		}
	}
	return slices.Contains(ep.EnabledEvents, All) || slices.Contains(ep.EnabledEvents, e.Type)
}

// secrets are the secrets that sign at now: the current one, and the previous one during the
// 24 hours after a rotation.
func (ep Endpoint) secrets(now time.Time) []string {
	out := []string{ep.Secret}
	if ep.PreviousSecret != "" && now.Before(ep.PreviousSecretUntil) {
		out = append(out, ep.PreviousSecret)
	}
	return out
}

// DeliveryStatus is a delivery's status.
type DeliveryStatus string

// Delivery statuses.
const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliverySucceeded DeliveryStatus = "succeeded"
	DeliveryFailed    DeliveryStatus = "failed"
)

// Delivery is one event to send to one endpoint, and how its attempts went.
type Delivery struct {
	ID         string
	EndpointID string
	EventID    string
	EventType  string
	Status     DeliveryStatus
	Attempts   int
	// LastStatusCode is the HTTP status of the latest attempt (0: none, or no answer).
	LastStatusCode int
	LastError      string
	// NextAttemptAt is when the next attempt is due (zero when none is).
	NextAttemptAt time.Time
	// LeaseUntil is how long the attempt in flight holds the delivery (zero: none).
	LeaseUntil time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Tx is the unit of work of webhooks: txn.Tx and the endpoint and delivery writes.
type Tx interface {
	txn.Tx
	// InsertWebhookEndpoint inserts ep.
	InsertWebhookEndpoint(ctx context.Context, ep Endpoint) error
	// UpdateWebhookEndpoint writes ep's url, events, description, status, secrets, failing_since
	// and updated_at; ErrNotFound when it is gone.
	UpdateWebhookEndpoint(ctx context.Context, ep Endpoint) error
	// DeleteWebhookEndpoint deletes an endpoint and its deliveries; ErrNotFound when it is gone.
	DeleteWebhookEndpoint(ctx context.Context, id string) error
	// InsertWebhookDeliveries inserts each of ds unless its endpoint already has a delivery of
	// that event; it returns the ids of those it inserted.
	InsertWebhookDeliveries(ctx context.Context, ds []Delivery) ([]string, error)
	// EnqueueAll is txn.Tx.Enqueue of several jobs, in one insert where the job queue can.
	EnqueueAll(ctx context.Context, jobs []txn.Job) error
	// RecordWebhookAttempt writes d's status, attempts, last status code and error, next attempt
	// and updated_at, and releases its lease.
	RecordWebhookAttempt(ctx context.Context, d Delivery) error
	// SetWebhookEndpointFailing sets the endpoint's failing_since to since unless it is set
	// already (since zero: clears it).
	SetWebhookEndpointFailing(ctx context.Context, id string, since time.Time) error
	// DisableFailingWebhookEndpoint disables an enabled endpoint failing since before cutoff; it
	// reports whether it did.
	DisableFailingWebhookEndpoint(ctx context.Context, id string, cutoff, at time.Time) (bool, error)
	// RequeueWebhookDelivery makes a delivery pending and due at at (its attempts kept).
	RequeueWebhookDelivery(ctx context.Context, id string, at time.Time) error
}

// Store keeps endpoints and deliveries.
type Store interface {
	txn.Runner[Tx]
	// WebhookEndpoint returns an endpoint or ErrNotFound.
	WebhookEndpoint(ctx context.Context, id string) (Endpoint, error)
	// WebhookEndpoints lists endpoints newest first: the centre's when centerID is set, all otherwise.
	WebhookEndpoints(ctx context.Context, centerID string, p page.Request) (page.Page[Endpoint], error)
	// SubscriberCandidates returns the enabled endpoints that may get an event of centerID: the
	// platform's and, when centerID is set, the centre's.
	SubscriberCandidates(ctx context.Context, centerID string) ([]Endpoint, error)
	// WebhookDelivery returns a delivery or ErrNotFound.
	WebhookDelivery(ctx context.Context, id string) (Delivery, error)
	// WebhookDeliveries lists an endpoint's deliveries newest first.
	WebhookDeliveries(ctx context.Context, endpointID string, p page.Request) (page.Page[Delivery], error)
	// LeaseWebhookDelivery takes a pending delivery due at now for an attempt until until, unless
	// another attempt holds it; it reports whether it did.
	LeaseWebhookDelivery(ctx context.Context, id string, now, until time.Time) (bool, error)
	// Event returns an event or events.ErrNotFound.
	Event(ctx context.Context, id string) (events.Event, error)
	// EventsByID returns the events of ids that still exist, in the order of ids.
	EventsByID(ctx context.Context, ids []string) ([]events.Event, error)
	// LeaseDueWebhookDelivery is LeaseWebhookDelivery that also returns, when it took the lease,
	// the delivery with its endpoint and its event (nil when gone): on PostgreSQL one statement.
	LeaseDueWebhookDelivery(ctx context.Context, id string, now, until time.Time) (Leased, bool, error)
	// RecordWebhookSuccess records a delivery's successful attempt (as Tx.RecordWebhookAttempt)
	// and that its endpoint is no longer failing (as Tx.SetWebhookEndpointFailing with a zero
	// time), atomically: on PostgreSQL one statement.
	RecordWebhookSuccess(ctx context.Context, d Delivery) error
}

// Leased is a delivery whose lease was just taken, with its endpoint and event (nil when gone).
type Leased struct {
	Delivery Delivery
	Endpoint *Endpoint
	Event    *events.Event
}

// DeliverJob is the job of one delivery's next attempt.
type DeliverJob struct {
	DeliveryID string `json:"delivery_id"`
}

// Kind implements txn.Job.
func (DeliverJob) Kind() string { return "webhook_delivery" }

// FanoutJob is the job that makes events' deliveries (enqueued by the job queue's event outbox
// dispatcher in the transaction that claims the events' outbox rows: up to 100 events, of one
// unit of work or several). Jobs enqueued before it carried several have EventID alone.
type FanoutJob struct {
	EventID  string   `json:"event_id,omitempty"`
	EventIDs []string `json:"event_ids,omitempty"`
}

// FanoutOf is the fan-out job of events (at least one).
func FanoutOf(eventIDs ...string) FanoutJob {
	if len(eventIDs) == 1 {
		return FanoutJob{EventID: eventIDs[0]}
	}
	return FanoutJob{EventIDs: eventIDs}
}

// Events are the job's events.
func (j FanoutJob) Events() []string {
	if j.EventID != "" {
		return append([]string{j.EventID}, j.EventIDs...)
	}
	return j.EventIDs
}

// Kind implements txn.Job.
func (FanoutJob) Kind() string { return "webhook_fanout" }
